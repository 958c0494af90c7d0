"""Hostile bytes on the wire: each gets a clean disconnect (or a Kafka error), never a crash or a hang,
and the gateway keeps serving others."""

import socket
import struct

import pytest


def connect(gw):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    return s


def closed_by_server(s) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def api_versions_ok(gw):
    s = connect(gw)
    body = struct.pack(">hhih", 18, 0, 7, -1)   # ApiVersions v0, correlation 7, null client id
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4))[0]
    data = b""
    while len(data) < size:
        data += s.recv(size - len(data))
    s.close()
    correlation, error = struct.unpack(">ih", data[:6])
    return correlation == 7 and error == 0


@pytest.mark.parametrize("frame", [
    struct.pack(">i", -5),                                             # negative length
    struct.pack(">i", 0x7fffffff),                                     # far over the maximum
    struct.pack(">i", 10) + struct.pack(">hhi", 999, 0, 1) + b"\0\0",  # unknown API key
    struct.pack(">i", 10) + struct.pack(">hhi", 3, 77, 1) + b"\0\0",   # Metadata v77
    struct.pack(">i", 12) + struct.pack(">hhih", 0, 7, 1, -1) + b"\x00\x01",   # truncated Produce body
], ids=["negative", "oversize", "unknown-key", "unsupported-version", "truncated-body"])
def test_protocol_faults_close_the_connection_and_server_lives(gateway, frame):
    s = connect(gateway)
    s.sendall(frame)
    assert closed_by_server(s)
    s.close()
    assert api_versions_ok(gateway)


def test_api_versions_too_high_answered_in_v0_shape(gateway):
    s = connect(gateway)
    body = struct.pack(">hhih", 18, 99, 3, -1) + b"\x00"   # flexible header v2: empty tagged fields
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4))[0]
    data = b""
    while len(data) < size:
        data += s.recv(size - len(data))
    correlation, error, count = struct.unpack(">ihi", data[:10])
    assert (correlation, error) == (3, 35)
    keys = {struct.unpack(">hhh", data[10 + 6 * i:16 + 6 * i])[0] for i in range(count)}
    assert {0, 1, 3, 18} <= keys


def test_client_vanishing_mid_request(gateway):
    s = connect(gateway)
    s.sendall(struct.pack(">i", 1000) + b"\0" * 10)   # a frame that never completes
    s.close()
    assert api_versions_ok(gateway)
