"""One confluent-kafka consumer group member in a process of its own, for tests that kill it (SIGKILL:
no LeaveGroup, no commit).  Run by test_consumer_groups.py, not by pytest.

    group_member.py --bootstrap H:P --group G --topic T [--session-ms MS] [--instance-id ID]

Prints one JSON line per event, flushed at once: {"event": "assign"|"revoke"|"lost", "partitions": [...],
"t": time.time()}, {"event": "error", "error": "..."}, and {"event": "records", "count": N} now and then.
Polls until killed (or SIGTERM: then it closes the consumer, leaving the group unless it is static)."""

import argparse
import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError


def emit(**fields):
    fields["t"] = time.time()
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--instance-id")
    a = ap.parse_args()

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "client.id": a.instance_id or "killable-member",
        "session.timeout.ms": a.session_ms,
        "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    consumer = Consumer(conf, error_cb=lambda e: emit(event="error", error=str(e)))

    def on_assign(c, partitions):
        emit(event="assign", partitions=sorted(p.partition for p in partitions))

    def on_revoke(c, partitions):
        emit(event="revoke", partitions=sorted(p.partition for p in partitions))

    def on_lost(c, partitions):
        emit(event="lost", partitions=sorted(p.partition for p in partitions))

    try:
        consumer.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    except TypeError:   # a confluent-kafka without on_lost
        consumer.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    emit(event="started")
    count = 0
    while not stopping:
        for m in consumer.consume(100, 0.2):
            if m.error() is None:
                count += 1
            elif m.error().code() != KafkaError._PARTITION_EOF:
                emit(event="error", error=str(m.error()))
        if count:
            emit(event="records", count=count)
            count = 0
    consumer.close()
    emit(event="closed")


if __name__ == "__main__":
    main()
