"""An idempotent producer's retry across a gateway restart is still a duplicate, and a gap is still refused.

The client is written here on raw sockets (InitProducerId v0, Metadata v0, Produce v3 with acks=-1) so that
the test controls the producer id, epoch and sequences of the batch it retries after the restart.  Both a
clean stop (the state comes from the snapshot written at shutdown) and kill -9 (from the log alone) are
covered.
"""

import signal
import socket
import struct
import time

import pytest

OUT_OF_ORDER_SEQUENCE_NUMBER = 45


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v: int) -> bytes:
    v = (v << 1) ^ (v >> 63)   # zigzag
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def record_batch(producer_id: int, epoch: int, sequence: int, count: int) -> bytes:
    now = int(time.time() * 1000)
    records = b""
    for i in range(count):
        value = f"value-{sequence + i}".encode()
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(value)) + value + varint(0)
        records += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, count - 1, now, now, producer_id, epoch, sequence, count) + records
    after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


class Client:
    def __init__(self, gateway):
        self.sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
        self.correlation = 0

    def close(self):
        self.sock.close()

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        self.correlation += 1
        frame = struct.pack(">hhih", api_key, version, self.correlation, -1) + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._read(4))[0]
        data = self._read(size)
        assert struct.unpack(">i", data[:4])[0] == self.correlation
        return data[4:]

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "connection closed"
            out += chunk
        return out

    def create_topic(self, topic: str):
        name = topic.encode()
        self.call(3, 0, struct.pack(">ih", 1, len(name)) + name)   # Metadata v0 auto-creates

    def init_producer_id(self):
        data = self.call(22, 0, struct.pack(">hi", -1, 60000))
        _throttle, error, producer_id, epoch = struct.unpack(">ihqh", data[:16])
        assert error == 0
        return producer_id, epoch

    def produce(self, topic: str, batch: bytes):
        """Produce v3, acks=-1, one partition: (error code, base offset)."""
        name = topic.encode()
        body = (struct.pack(">hhii", -1, -1, 30000, 1) + struct.pack(">h", len(name)) + name +
                struct.pack(">iii", 1, 0, len(batch)) + batch)
        data = self.call(0, 3, body)
        (name_length,) = struct.unpack(">h", data[4:6])
        pos = 6 + name_length + 4
        _index, error, base_offset = struct.unpack(">ihq", data[pos:pos + 14])
        return error, base_offset


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["clean-stop", "kill-9"])
def test_retry_after_restart_is_a_duplicate(make_gateway, stop_signal):
    gateway = make_gateway()
    client = Client(gateway)
    client.create_topic("idem")
    producer_id, epoch = client.init_producer_id()
    assert client.produce("idem", record_batch(producer_id, epoch, 0, 3)) == (0, 0)
    last = record_batch(producer_id, epoch, 3, 3)
    assert client.produce("idem", last) == (0, 3)
    client.close()

    code = gateway.stop(stop_signal)
    assert code == (0 if stop_signal == signal.SIGTERM else -signal.SIGKILL), gateway.log_text()
    gateway.start()
    client = Client(gateway)
    assert client.produce("idem", last) == (0, 3), "the retry should be acknowledged with its original offset"
    error, _ = client.produce("idem", record_batch(producer_id, epoch, 9, 1))
    assert error == OUT_OF_ORDER_SEQUENCE_NUMBER
    assert client.produce("idem", record_batch(producer_id, epoch, 6, 2)) == (0, 6), "nothing was appended twice"
    client.close()
    assert "recovered 1 idempotent producer(s)" in gateway.log_text()
