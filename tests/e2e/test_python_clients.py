"""kafka-python (pure Python) and confluent-kafka (librdkafka) produce and consume through the gateway."""

import pytest

kafka = pytest.importorskip("kafka", reason="kafka-python (python3-kafka) is not installed")
confluent_kafka = pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")


def test_kafka_python_produce_consume(gateway):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=gateway.bootstrap, acks="all", linger_ms=5)
    sent = [(f"k{i}".encode(), f"kafka-python {i}".encode()) for i in range(2000)]
    futures = [producer.send("kp", key=k, value=v, headers=[("h", b"1")]) for k, v in sent]
    producer.flush()
    offsets = [f.get(timeout=30).offset for f in futures]
    assert offsets == list(range(len(sent)))
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=gateway.bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    tp = TopicPartition("kp", 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    for message in consumer:
        got.append((message.key, message.value, message.headers))
        if len(got) == len(sent):
            break
    consumer.close()
    assert [(k, v) for k, v, _ in got] == sent
    assert all(h == [("h", b"1")] for _, _, h in got)


def test_confluent_kafka_produce_consume(gateway):
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

    producer = Producer({"bootstrap.servers": gateway.bootstrap, "enable.idempotence": True,
                         "compression.type": "lz4", "linger.ms": 5})
    delivered = []
    for i in range(5000):
        producer.produce("ck", key=f"k{i}", value=f"confluent {i}",
                         on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert all(err is None for err, _ in delivered)
    assert sorted(o for _, o in delivered) == list(range(5000))

    consumer = Consumer({"bootstrap.servers": gateway.bootstrap, "group.id": "unused-assign-only",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition("ck", 0, OFFSET_BEGINNING)])
    values = []
    while True:
        msg = consumer.poll(10)
        assert msg is not None, "timed out"
        if msg.error():
            assert msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF, msg.error()
            break
        values.append(msg.value())
    consumer.close()
    assert values == [f"confluent {i}".encode() for i in range(5000)]
