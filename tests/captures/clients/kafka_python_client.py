"""kafka-python's side of capture.py: a producer, a plain consumer and a group consumer that commits.
Run with Debian's /usr/bin/python3: kafka_python_client.py HOST:PORT TOPIC"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="capture-kafka-python")
for i in range(3):
    producer.send(topic, key=b"k%d" % i, value=b"value %d" % i, headers=[("h", b"x")])
producer.flush(timeout=20)
producer.close(timeout=5)

consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="capture-kafka-python", group_id=None,
                         consumer_timeout_ms=5000)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
print("plain consumer read", sum(1 for _ in zip(range(3), consumer)))
consumer.close()

group = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id="capture-kafka-python",
                      group_id="capture-kafka-python-group", auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=10000)
print("group consumer read", sum(1 for _ in zip(range(3), group)))
try:
    group.commit()
    print("committed")
except Exception as e:  # the gateway may not coordinate groups yet: the requests are what we want
    print("commit failed:", e)
group.close(autocommit=False)
