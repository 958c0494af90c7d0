"""kcat (librdkafka) against the gateway: produce and consume with keys, headers and timestamps,
every compression codec, idempotence, restarts and a kill -9 with fsync on every batch."""

import shutil
import signal
import subprocess
import time

import pytest

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(KCAT is None, reason="kcat is not installed")


def kcat(*args, input=None, timeout=60):
    r = subprocess.run([KCAT, *args], input=input, capture_output=True, timeout=timeout)
    assert r.returncode == 0, f"kcat {' '.join(args)} failed ({r.returncode}):\n{r.stderr.decode(errors='replace')}"
    return r.stdout


def produce(gw, topic, lines, *extra):
    data = b"".join(line + b"\n" for line in lines)
    kcat("-P", "-b", gw.bootstrap, "-t", topic, "-X", "topic.request.required.acks=-1", *extra, input=data)


def consume(gw, topic, count, fmt="%k\t%s\t%p\t%o\n", *extra):
    out = kcat("-C", "-b", gw.bootstrap, "-t", topic, "-o", "beginning", "-c", str(count), "-e", "-f", fmt, *extra)
    return out.splitlines()


def test_produce_consume_keys_headers_timestamps(gateway):
    records = [(f"key-{i}".encode(), f"value {i} \x01\xff".encode("latin-1")) for i in range(200)]
    before = int(time.time() * 1000)
    for key, value in records[:5]:   # one by one, with a header each
        kcat("-P", "-b", gateway.bootstrap, "-t", "orders", "-K", "\t", "-H", f"trace={key.decode()}",
             input=key + b"\t" + value)
    produce(gateway, "orders", [k + b"\t" + v for k, v in records[5:]], "-K", "\t")
    after = int(time.time() * 1000)
    out = consume(gateway, "orders", len(records), "%k\t%s\t%h\t%T\t%o\n")
    assert len(out) == len(records)
    for i, line in enumerate(out):
        key, value, headers, ts, offset = line.split(b"\t")
        assert (key, value) == records[i]
        assert int(offset) == i
        assert before - 1000 <= int(ts) <= after + 1000
        if i < 5:
            assert headers == b"trace=" + key
        else:
            assert headers in (b"", b"(null)")


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_stored_and_fetched_intact(gateway, codec):
    lines = [f"{codec} record {i} ".encode() * 8 for i in range(1000)]
    produce(gateway, f"compressed-{codec}", lines, "-z", codec)
    assert consume(gateway, f"compressed-{codec}", len(lines), "%s\n") == lines


def test_idempotent_producer(gateway):
    lines = [f"idempotent {i}".encode() for i in range(5000)]
    produce(gateway, "idem", lines, "-X", "enable.idempotence=true")
    assert consume(gateway, "idem", len(lines), "%s\n") == lines


def test_restart_keeps_everything(gateway):
    lines = [f"durable {i}".encode() for i in range(3000)]
    produce(gateway, "durable", lines)
    gateway.restart()
    assert consume(gateway, "durable", len(lines), "%s\n") == lines
    produce(gateway, "durable", [b"after restart"])
    assert consume(gateway, "durable", len(lines) + 1, "%s\t%o\n")[-1] == f"after restart\t{len(lines)}".encode()


@pytest.mark.file_only("kill -9 with log.flush.policy=batch tests the file engine's fsync before acknowledging")
def test_kill_9_with_fsync_per_batch_loses_nothing_acknowledged(make_gateway):
    gw = make_gateway(properties={"log.flush.policy": "batch"})
    lines = [f"fsynced {i}".encode() for i in range(2000)]
    produce(gw, "fsynced", lines)   # kcat exits 0 only when every record was acknowledged (acks=-1)
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    gw.log.close()
    gw.proc = None
    gw.start()
    assert consume(gw, "fsynced", len(lines), "%s\n") == lines


def test_metadata_lists_topics_and_this_broker(gateway):
    produce(gateway, "listed", [b"x"])
    out = kcat("-L", "-b", gateway.bootstrap, "-J").decode()
    assert '"topic":"listed"' in out.replace(" ", "")
    assert f'"name":"127.0.0.1:{gateway.port}/1"' in out.replace(" ", "")
