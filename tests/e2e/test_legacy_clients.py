"""Old-protocol clients: legacy message sets both ways.

kafka-python pinned to api_version (0, 9), (0, 10) and (0, 10, 1) speaks Produce v1/v2/v2 with magic
0/1/1 message sets and Fetch v1/v2/v3 (v3 with a request-wide max_bytes); librdkafka (confluent-kafka)
with api.version.request=false and broker.version.fallback 0.8.2 (Produce v0, Fetch v0) or 0.9.0
(Produce v1, Fetch v1), magic 0 both, whose lz4 frames carry Kafka's old, broken header checksum.
librdkafka 2.0 does not stay legacy with fallback 0.10.0: it takes that version to mean "ApiVersions
is there" and asks anyway (rd_kafka_ApiVersion_is_queryable), so that case runs today's protocol.  Produce converts legacy sets, compressed ones
included, to v2 batches; Fetch v0-3 converts stored v2 batches (any codec, from any client) down.
Every record must come back intact: keys, values, and for magic 1 timestamps."""

import ctypes
import time

import pytest

kafka = pytest.importorskip("kafka", reason="kafka-python (python3-kafka) is not installed")
confluent_kafka = pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402


def kafka_python_codecs():
    """Codecs kafka-python can use here: gzip always (zlib); snappy and lz4 need modules Debian
    bookworm does not package for it."""
    from kafka import codec
    return ["none", "gzip"] + (["snappy"] if codec.has_snappy() else []) + (["lz4"] if codec.has_lz4() else [])


def values(n, tag):
    base = int(time.time() * 1000) - 100_000
    out = []
    for i in range(n):
        key = None if i % 13 == 6 else f"{tag}-{i}".encode()
        value = None if i % 29 == 9 and key is not None else (f"{tag} value {i} ".encode() * (1 + i % 7)) + bytes([0, i % 256, 255])
        out.append((key, value, base + i * 3))
    return out


def kp_produce(gw, topic, recs, api_version, codec):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=gw.bootstrap, api_version=api_version, acks="all", linger_ms=20,
                      compression_type=None if codec == "none" else codec)
    futures = [p.send(topic, key=k, value=v, timestamp_ms=ts) for k, v, ts in recs]
    p.flush()
    offsets = [f.get(timeout=30).offset for f in futures]
    p.close()
    return offsets


def kp_consume(gw, topic, count, api_version, **extra):
    from kafka import KafkaConsumer, TopicPartition as KTP
    c = KafkaConsumer(bootstrap_servers=gw.bootstrap, api_version=api_version, group_id=None,
                      enable_auto_commit=False, consumer_timeout_ms=8000, **extra)
    tp = KTP(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = []
    for m in c:
        got.append((m.key, m.value, m.timestamp, m.offset))
        if len(got) == count:
            break
    c.close()
    return got


def rk_conf(gw, fallback, **extra):
    conf = {"bootstrap.servers": gw.bootstrap, "api.version.request": False, "broker.version.fallback": fallback}
    conf.update(extra)
    return conf


def rk_produce(gw, topic, recs, fallback, codec):
    p = Producer(rk_conf(gw, fallback, **{"compression.codec": codec, "linger.ms": 20}))
    errors = []
    for k, v, ts in recs:
        p.produce(topic, key=k, value=v, timestamp=ts, on_delivery=lambda err, msg: err and errors.append(err))
    assert p.flush(30) == 0
    assert not errors, errors


def rk_consume(gw, topic, count, fallback=None):
    conf = rk_conf(gw, fallback) if fallback else {"bootstrap.servers": gw.bootstrap}
    conf.update({"group.id": "assign-only", "enable.auto.commit": False, "enable.partition.eof": True})
    c = Consumer(conf)
    c.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + 60
    while len(got) < count and time.time() < deadline:
        m = c.poll(5)
        if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
            continue
        assert not m.error(), m.error()
        for _, v in m.headers() or []:   # confluent-kafka 1.7 drops a None reference per null header
            if v is None:
                ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
        got.append((m.key(), m.value(), m.timestamp()[1], m.offset(), m.headers() and len(m.headers())))
    c.close()
    return got


def expect_records(got, recs, with_timestamps):
    assert len(got) == len(recs)
    assert [g[3] for g in got] == list(range(len(recs))), "offsets run 0, 1, 2, ..."
    for g, (k, v, ts) in zip(got, recs):
        assert (g[0], g[1]) == (k, v)
        if with_timestamps:
            assert g[2] == ts


KAFKA_PYTHON_VERSIONS = [(0, 9), (0, 10), (0, 10, 1)]


@pytest.mark.parametrize("api_version", KAFKA_PYTHON_VERSIONS, ids=lambda v: ".".join(map(str, v)))
@pytest.mark.parametrize("codec", kafka_python_codecs())
def test_kafka_python_old_protocol_roundtrip(gateway, api_version, codec):
    topic = f"kp-{'-'.join(map(str, api_version))}-{codec}"
    recs = values(600, topic)
    assert kp_produce(gateway, topic, recs, api_version, codec) == list(range(len(recs)))
    magic1 = api_version >= (0, 10)
    # Back through the same old protocol (down-converted) ...
    expect_records(kp_consume(gateway, topic, len(recs), api_version), recs, with_timestamps=magic1)
    # ... and through today's (v2 batches, converted on produce; magic 0 has no timestamps: -1).
    got = rk_consume(gateway, topic, len(recs))
    expect_records(got, recs, with_timestamps=magic1)
    if not magic1:
        assert all(g[2] == -1 for g in got)


LIBRDKAFKA_LEGACY = ["0.8.2", "0.9.0"]


@pytest.mark.parametrize("fallback", LIBRDKAFKA_LEGACY + ["0.10.0"])
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_librdkafka_old_protocol_roundtrip(gateway, fallback, codec):
    topic = f"rk-{fallback}-{codec}"
    recs = values(800, topic)
    rk_produce(gateway, topic, recs, fallback, codec)
    magic1 = fallback == "0.10.0"   # (today's protocol, see above)
    expect_records(rk_consume(gateway, topic, len(recs), fallback), recs, with_timestamps=magic1)
    expect_records(rk_consume(gateway, topic, len(recs)), recs, with_timestamps=magic1)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_old_consumers_read_todays_compressed_batches(gateway, codec):
    """v2 batches from a current producer (headers, any codec, zstd too) read by Fetch v1/v2/v3
    consumers: headers dropped, everything else intact, offsets absolute."""
    topic = f"new-{codec}"
    recs = values(700, topic)
    p = Producer({"bootstrap.servers": gateway.bootstrap, "compression.type": codec, "linger.ms": 20})
    for k, v, ts in recs:
        p.produce(topic, key=k, value=v, timestamp=ts, headers=[("h", b"dropped")])
    assert p.flush(30) == 0
    for api_version in KAFKA_PYTHON_VERSIONS:
        expect_records(kp_consume(gateway, topic, len(recs), api_version), recs, with_timestamps=api_version >= (0, 10))
    for fallback in LIBRDKAFKA_LEGACY:
        got = rk_consume(gateway, topic, len(recs), fallback)
        expect_records(got, recs, with_timestamps=False)
        assert not any(g[4] for g in got), "legacy messages have no headers"


def test_old_consumer_gets_a_message_larger_than_its_fetch_size(gateway):
    big = [(b"big", b"x" * 300_000, int(time.time() * 1000)), (b"small", b"y", int(time.time() * 1000))]
    p = Producer({"bootstrap.servers": gateway.bootstrap, "compression.type": "gzip", "message.max.bytes": 1_000_000})
    for k, v, ts in big:
        p.produce("big", key=k, value=v, timestamp=ts)
    assert p.flush(30) == 0
    got = kp_consume(gateway, "big", 2, (0, 10, 1), max_partition_fetch_bytes=1000, fetch_max_bytes=1000)
    expect_records(got, big, with_timestamps=True)


def test_old_consumer_resumes_inside_a_compressed_batch(gateway):
    """A fetch offset in the middle of a stored batch: only the records from there on come back."""
    recs = values(100, "mid")
    p = Producer({"bootstrap.servers": gateway.bootstrap, "compression.type": "snappy", "linger.ms": 50})
    for k, v, ts in recs:
        p.produce("mid", key=k, value=v, timestamp=ts)
    assert p.flush(30) == 0
    from kafka import KafkaConsumer, TopicPartition as KTP
    c = KafkaConsumer(bootstrap_servers=gateway.bootstrap, api_version=(0, 10), group_id=None,
                      enable_auto_commit=False, consumer_timeout_ms=8000)
    tp = KTP("mid", 0)
    c.assign([tp])
    c.seek(tp, 37)
    got = [(m.key, m.value, m.timestamp, m.offset) for _, m in zip(range(63), c)]
    c.close()
    assert [g[3] for g in got] == list(range(37, 100))
    assert [(g[0], g[1], g[2]) for g in got] == recs[37:]
