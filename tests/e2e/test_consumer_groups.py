"""Consumer groups with real clients: confluent-kafka (librdkafka) members sharing partitions, a member
killed without leaving (SIGKILL: its partitions move after its session timeout) and one leaving
cleanly (at once), committed offsets surviving a gateway restart, static membership (a restart within
the session timeout: same partitions, no rebalance), and kafka-python groups.

Every member commits synchronously right after processing each batch, before it polls again, so a
rebalance (served inside poll) never finds processed-but-uncommitted records: "each record exactly
once" is then a property of the gateway, not of luck.  Every wait has a deadline and fails with what
it was waiting for."""

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
kafka = pytest.importorskip("kafka", reason="kafka-python (python3-kafka) is not installed")

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

HERE = Path(__file__).resolve().parent
MEMBER_SCRIPT = HERE / "group_member.py"
HEARTBEAT_MS = 500
# No initial rebalance delay (Kafka's 3 s would only slow the tests down) and short sessions allowed.
GROUP_PROPERTIES = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "1000"}


# ---------------------------------------------------------------------------------------------- helpers

def wait_for(condition, timeout, what):
    """Polls condition() until true; fails with what() (the state it was waiting on) after timeout s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    if condition():
        return
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=10)
    futures[name].result(timeout=20)


def produce(bootstrap, topic, count, first=0):
    """Keyed records k{i}/v{i}; returns {(partition, offset): key} from the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    delivered, errors = {}, []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[(msg.partition(), msg.offset())] = msg.key().decode()

    for i in range(first, first + count):
        producer.produce(topic, key=f"k{i}", value=f"v{i}", on_delivery=on_delivery)
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0, "producer did not deliver everything within 30 s"
    assert not errors, f"delivery errors: {errors[:5]}"
    assert len(delivered) == count
    return delivered


def duplicates(records):
    return sorted(k for k, n in Counter((p, o) for p, o, _ in records).items() if n > 1)


class Member(threading.Thread):
    """A confluent-kafka group member polling in a thread of its own (callbacks are served by poll).
    Records what it consumed as (partition, offset, key) and its assignment after every callback."""

    def __init__(self, gateway, group, topic, name, session_ms=6000, extra=None, max_records=None):
        super().__init__(name=name, daemon=True)
        self.topic = topic
        self.max_records = max_records   # then it stops (and closes) after processing this many
        self.conf = {
            "bootstrap.servers": gateway.bootstrap,
            "group.id": group,
            "client.id": name,
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": HEARTBEAT_MS,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "statistics.interval.ms": 500,
            **(extra or {}),
        }
        self.lock = threading.Lock()
        self.assignment = set()
        self.events = []          # (time, "assign" | "revoke" | "lost", [partitions])
        self.records = []         # (partition, offset, key)
        self.errors = []
        self.committed = {}       # partition -> next offset, as committed by this member
        self.first_offsets = {}   # partition -> first offset this member consumed
        self.rebalance_cnt = None # librdkafka's own count (statistics "cgrp")
        self.stop_requested = threading.Event()
        self.ready = threading.Event()

    # callbacks (served inside consume(), on this thread)
    def _on_assign(self, consumer, partitions):
        with self.lock:
            self.assignment = {p.partition for p in partitions}
            self.events.append((time.time(), "assign", sorted(self.assignment)))

    def _on_revoke(self, consumer, partitions, kind="revoke"):
        with self.lock:
            gone = {p.partition for p in partitions}
            self.assignment -= gone
            self.events.append((time.time(), kind, sorted(gone)))

    def _on_stats(self, text):
        cgrp = json.loads(text).get("cgrp") or {}
        if "rebalance_cnt" in cgrp:
            self.rebalance_cnt = cgrp["rebalance_cnt"]

    def _on_error(self, err):
        # Connection blips are librdkafka's business (it reconnects); anything else is the test's.
        if err.code() not in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            with self.lock:
                self.errors.append(f"error_cb: {err}")

    def run(self):
        try:
            consumer = Consumer(self.conf, stats_cb=self._on_stats, error_cb=self._on_error)
            consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                               on_lost=lambda c, ps: self._on_revoke(c, ps, "lost"))
            self.ready.set()
            while not self.stop_requested.is_set() and not self.budget_spent():
                done = {}
                for m in consumer.consume(200, 0.1):
                    if self.budget_spent():
                        break   # fetched but neither processed nor committed: the next owner's
                    if m.error() is not None:
                        if m.error().code() != KafkaError._PARTITION_EOF:
                            with self.lock:
                                self.errors.append(f"consume: {m.error()}")
                        continue
                    with self.lock:
                        self.records.append((m.partition(), m.offset(), m.key().decode()))
                        self.first_offsets.setdefault(m.partition(), m.offset())
                    done[m.partition()] = m.offset() + 1
                if done:
                    self._commit(consumer, done)
            consumer.close()   # leaves the group (unless static)
        except Exception as e:  # noqa: BLE001 - reported by the test
            with self.lock:
                self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self.ready.set()

    def budget_spent(self):
        with self.lock:
            return self.max_records is not None and len(self.records) >= self.max_records

    def _commit(self, consumer, done):
        offsets = [TopicPartition(self.topic, p, o) for p, o in sorted(done.items())]
        try:
            result = consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            with self.lock:
                self.errors.append(f"commit {done}: {e}")
            return
        bad = [f"{tp.partition}: {tp.error}" for tp in result or [] if tp.error is not None]
        with self.lock:
            if bad:
                self.errors.append(f"commit {done}: partition errors {bad}")
            else:
                self.committed.update(done)

    def stop(self, timeout=20):
        self.stop_requested.set()
        self.join(timeout)
        assert not self.is_alive(), f"{self.name}: consumer close() did not return within {timeout} s"

    def snapshot(self):
        with self.lock:
            return set(self.assignment), len(self.records), list(self.errors)


class MemberProcess:
    """group_member.py in a process of its own (to be killed), its events read by a thread."""

    def __init__(self, gateway, group, topic, session_ms, instance_id=None):
        cmd = [sys.executable, str(MEMBER_SCRIPT), "--bootstrap", gateway.bootstrap, "--group", group,
               "--topic", topic, "--session-ms", str(session_ms)]
        if instance_id:
            cmd += ["--instance-id", instance_id]
        # stderr (librdkafka's log, a traceback) into the same pipe, so that it can never fill up.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.events = []
        self.log = []
        self.assignment = set()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                with self.lock:
                    self.log = (self.log + [line.rstrip()])[-20:]
                continue
            with self.lock:
                self.events.append(e)
                if e["event"] == "assign":
                    self.assignment = set(e["partitions"])
                elif e["event"] in ("revoke", "lost"):
                    self.assignment -= set(e["partitions"])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def snapshot(self):
        with self.lock:
            return set(self.assignment), [e for e in self.events if e["event"] in ("assign", "revoke", "lost")]

    def describe(self):
        with self.lock:
            return f"process member events {self.events[-10:]}, exit {self.proc.poll()}, output {self.log}"


@pytest.fixture
def members():
    """Everything a test starts is stopped (threads) or killed (processes) at the end, even on failure."""
    started = []
    yield started
    for m in started:
        if isinstance(m, MemberProcess):
            m.kill()
        else:
            m.stop_requested.set()
    for m in started:
        if isinstance(m, Member):
            m.join(20)


def start_members(members, *new):
    for m in new:
        members.append(m)
        if isinstance(m, Member):
            m.start()
    return new


def assignments_cover(owners, partitions):
    """Every partition owned by exactly one of `owners` (sets), and each owner has some."""
    union = [p for o in owners for p in o]
    return sorted(union) == list(range(partitions)) and all(owners)


def describe_state(members_):
    parts = []
    for m in members_:
        if isinstance(m, MemberProcess):
            parts.append(m.describe())
        else:
            a, n, errors = m.snapshot()
            parts.append(f"{m.name}: assignment {sorted(a)}, {n} records, errors {errors[-3:]}")
    return "; ".join(parts)


def all_records(members_):
    out = []
    for m in members_:
        with m.lock:
            out += m.records
    return out


def assert_no_errors(members_):
    for m in members_:
        assert not m.errors, f"{m.name}: {m.errors[:5]}"


# ---------------------------------------------------------------------------------------------- tests

def test_three_members_share_six_partitions_and_consume_each_record_once(make_gateway, members):
    g = make_gateway(properties=GROUP_PROPERTIES)
    create_topic(g.bootstrap, "cg-three", 6)
    # Half before the members join (the first to join may read much of it before the others arrive:
    # rebalances with records in flight), half once all three share the partitions.
    produced = produce(g.bootstrap, "cg-three", 1500)
    group = start_members(members, *[Member(g, "three", "cg-three", f"three-{i}") for i in range(3)])
    wait_for(lambda: assignments_cover([m.snapshot()[0] for m in group], 6), 30,
             lambda: f"3 members sharing 6 partitions: {describe_state(group)}")
    consumed_before = [m.snapshot()[1] for m in group]
    produced.update(produce(g.bootstrap, "cg-three", 1500, first=1500))
    wait_for(lambda: len(all_records(group)) >= 3000 and assignments_cover([m.snapshot()[0] for m in group], 6),
             45, lambda: f"3000 records and a complete assignment: {describe_state(group)}")
    time.sleep(1.0)   # room for duplicates to show up
    owners = [m.snapshot()[0] for m in group]
    for m in group:
        m.stop()
    assert_no_errors(group)

    assert all(len(o) == 2 for o in owners), f"6 partitions over 3 members should be 2 each: {owners}"
    records = all_records(group)
    assert not duplicates(records), f"consumed more than once: {duplicates(records)[:20]}"
    consumed = {(p, o): k for p, o, k in records}
    missing = sorted(set(produced) - set(consumed))
    assert not missing, f"{len(missing)} records never consumed, e.g. {missing[:20]}"
    assert consumed == produced, "a record came back with another key than it was produced with"
    consumed_after = [m.snapshot()[1] - n for m, n in zip(group, consumed_before)]
    assert all(n > 0 for n in consumed_after), f"records consumed by each member once all three had joined: {consumed_after}"


def test_killed_member_moves_after_session_timeout_and_leaving_member_at_once(make_gateway, members):
    session_ms = 5000
    g = make_gateway(properties=GROUP_PROPERTIES)
    create_topic(g.bootstrap, "cg-kill", 6)
    a, b = start_members(members, Member(g, "kill", "cg-kill", "kill-a", session_ms),
                         Member(g, "kill", "cg-kill", "kill-b", session_ms))
    victim = MemberProcess(g, "kill", "cg-kill", session_ms)
    members.append(victim)
    everyone = [a, b, victim]
    wait_for(lambda: assignments_cover([a.snapshot()[0], b.snapshot()[0], victim.snapshot()[0]], 6), 30,
             lambda: f"3 members sharing 6 partitions: {describe_state(everyone)}")
    time.sleep(1.0)   # a settled group
    assert assignments_cover([a.snapshot()[0], b.snapshot()[0], victim.snapshot()[0]], 6), describe_state(everyone)

    # SIGKILL: no LeaveGroup; the coordinator learns of it only when the session expires.
    victim.kill()
    killed_at = time.time()
    wait_for(lambda: assignments_cover([a.snapshot()[0], b.snapshot()[0]], 6), session_ms / 1000 + 15,
             lambda: f"the survivors to own all 6 partitions: {describe_state([a, b])}")
    moved_after = time.time() - killed_at
    print(f"killed member's partitions moved after {moved_after:.2f} s (session {session_ms} ms)")
    assert moved_after >= 0.75 * session_ms / 1000, (
        f"the killed member's partitions moved {moved_after:.1f} s after the kill, before its "
        f"{session_ms / 1000:.0f} s session could have expired")
    assert moved_after <= session_ms / 1000 + 8, f"partitions moved only {moved_after:.1f} s after the kill"

    # close(): LeaveGroup, so b gets everything well before a session timeout.
    time.sleep(0.5)
    left_at = time.time()
    a.stop()
    wait_for(lambda: b.snapshot()[0] == set(range(6)), session_ms / 1000 + 10,
             lambda: f"b to own all 6 partitions after a left: {describe_state([b])}")
    rebalanced_after = time.time() - left_at
    print(f"after a clean close the survivor owned everything in {rebalanced_after:.2f} s")
    assert rebalanced_after < 0.5 * session_ms / 1000, (
        f"after a clean close() the rebalance took {rebalanced_after:.1f} s: the LeaveGroup should start "
        f"it at once, not the {session_ms / 1000:.0f} s session timeout")
    b.stop()
    assert_no_errors([a, b])


def test_committed_offsets_survive_a_gateway_restart(make_gateway, members):
    topic, group = "cg-restart", "restart"
    g = make_gateway(properties=GROUP_PROPERTIES)
    create_topic(g.bootstrap, topic, 4)
    produced = produce(g.bootstrap, topic, 2000)

    # Phase 1: two members process 500 records each, committing what they processed, and close
    # (whatever else they had fetched is neither processed nor committed).
    phase1 = start_members(members, Member(g, group, topic, "restart-1a", max_records=500),
                           Member(g, group, topic, "restart-1b", max_records=500))
    wait_for(lambda: not any(m.is_alive() for m in phase1), 30, lambda: f"500 records each: {describe_state(phase1)}")
    assert_no_errors(phase1)
    first = all_records(phase1)
    assert not duplicates(first), f"phase 1 consumed records twice: {duplicates(first)[:20]}"
    assert len(first) == 1000, f"phase 1 processed {len(first)} records"
    committed = {}
    for m in phase1:
        for p, o in m.committed.items():
            committed[p] = max(committed.get(p, 0), o)
    for p in range(4):
        seen = sorted(o for q, o, _ in first if q == p)
        assert seen == list(range(committed.get(p, 0))), f"partition {p}: processed {seen[:5]}... vs committed {committed.get(p)}"

    g.restart()

    # OffsetFetch straight after the restart: the commits were kept.
    probe = Consumer({"bootstrap.servers": g.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = probe.committed([TopicPartition(topic, p) for p in range(4)], timeout=20)
    finally:
        probe.close()
    fetched = {tp.partition: tp.offset for tp in got}
    expected = {p: committed.get(p, confluent_kafka.OFFSET_INVALID) for p in range(4)}
    assert fetched == expected, f"committed offsets after the restart: {fetched}, expected {expected}"

    more = produce(g.bootstrap, topic, 1000, first=2000)
    reused = sorted(set(more) & set(produced))
    assert not reused, (f"after the restart, produce acknowledged offsets that records before it already had "
                        f"(partition, offset, old key, new key): {[(p, o, produced[(p, o)], more[(p, o)]) for p, o in reused][:10]}")
    produced.update(more)

    # Phase 2: new members resume at the committed offsets and read the rest, each record once.
    phase2 = start_members(members, Member(g, group, topic, "restart-2a"), Member(g, group, topic, "restart-2b"))
    wait_for(lambda: len(first) + len(all_records(phase2)) >= 3000, 45,
             lambda: f"{3000 - len(first)} records after the restart: {describe_state(phase2)}")
    time.sleep(1.0)
    for m in phase2:
        m.stop()
    assert_no_errors(phase2)
    second = all_records(phase2)
    starts = {}
    for m in phase2:
        for p, o in m.first_offsets.items():
            starts[p] = min(starts.get(p, o), o)
    assert starts == {p: committed.get(p, 0) for p in range(4)}, (
        f"after the restart consumption began at {starts}, the committed offsets were {committed}")
    both = first + second
    assert not duplicates(both), f"read twice across the restart: {duplicates(both)[:20]}"
    where = {}
    for p, o, k in both:
        where.setdefault(k, []).append((p, o))
    twice = {k: at for k, at in where.items() if len(at) > 1}
    assert not twice, (f"records stored (and consumed) at two offsets each, key: [(partition, offset)...]: "
                       f"{dict(list(twice.items())[:10])}; acknowledged at {[(k, [po for po, pk in produced.items() if pk == k]) for k in list(twice)[:10]]}")
    consumed = {(p, o): k for p, o, k in both}
    missing = sorted(set(produced) - set(consumed))
    unexpected = sorted(set(consumed) - set(produced))
    assert not missing and not unexpected, (
        f"across the restart, never consumed (partition, offset, key): {[(p, o, produced[(p, o)]) for p, o in missing][:10]}; "
        f"consumed at offsets no produce was acknowledged with: {[(p, o, consumed[(p, o)]) for p, o in unexpected][:10]}")
    assert consumed == produced, "a record came back at another offset than it was acknowledged with"


def describe_group(gateway, group):
    """DescribeGroups through librdkafka's list_groups: state and {client id: (member id, assignment)}."""
    admin = AdminClient({"bootstrap.servers": gateway.bootstrap})
    groups = admin.list_groups(group, timeout=10)
    assert len(groups) == 1, f"DescribeGroups {group}: {groups}"
    info = groups[0]
    assert info.error is None or info.error.code() == KafkaError.NO_ERROR, f"DescribeGroups {group}: {info.error}"
    return {"state": info.state, "protocol": info.protocol,
            "members": {m.client_id: (m.id, bytes(m.assignment)) for m in info.members}}


def test_static_member_restarted_within_its_session_keeps_its_partitions_without_rebalance(make_gateway, members):
    session_ms = 6000
    topic, group = "cg-static", "static"
    g = make_gateway(properties=GROUP_PROPERTIES)
    create_topic(g.bootstrap, topic, 4)
    (a,) = start_members(members, Member(g, group, topic, "static-a", session_ms,
                                         extra={"group.instance.id": "static-a"}))
    wait_for(lambda: a.snapshot()[0] == set(range(4)), 30, lambda: f"static-a alone to own 4 partitions: {describe_state([a])}")
    b = MemberProcess(g, group, topic, session_ms, instance_id="static-b")
    members.append(b)
    wait_for(lambda: assignments_cover([a.snapshot()[0], b.snapshot()[0]], 4), 30,
             lambda: f"two static members sharing 4 partitions: {describe_state([a, b])}")
    time.sleep(1.5)
    a_events, b_partitions = len(a.events), b.snapshot()[0]
    a_rebalances = a.rebalance_cnt
    before = describe_group(g, group)

    b.kill()
    killed_at = time.time()
    b2 = MemberProcess(g, group, topic, session_ms, instance_id="static-b")
    members.append(b2)
    wait_for(lambda: b2.snapshot()[0], session_ms / 1000, lambda: f"the restarted static-b to get partitions: {b2.describe()}")
    assert time.time() - killed_at < session_ms / 1000, "static-b came back only after its session timeout"
    assert b2.snapshot()[0] == b_partitions, f"static-b got {b2.snapshot()[0]} back, had {b_partitions}"

    # Past the old session's expiry: still no rebalance anywhere.
    time.sleep(max(0.0, killed_at + session_ms / 1000 + 2 - time.time()))
    with a.lock:
        later = a.events[a_events:]
    assert not later, f"static-a saw a rebalance when static-b restarted: {later}"
    assert a.rebalance_cnt == a_rebalances, f"static-a's rebalance count went from {a_rebalances} to {a.rebalance_cnt}"
    b2_events = b2.snapshot()[1]
    assert [e["event"] for e in b2_events] == ["assign"], f"restarted static-b: {b2_events}"
    after = describe_group(g, group)
    assert after["state"] == "Stable" and len(after["members"]) == 2, f"group after the restart: {after}"
    assert after["members"]["static-a"] == before["members"]["static-a"], (
        f"static-a's member id or assignment changed: {before['members']['static-a']} -> {after['members']['static-a']}")
    assert after["members"]["static-b"][1] == before["members"]["static-b"][1], "static-b's assignment changed"
    assert after["members"]["static-b"][0] != before["members"]["static-b"][0], (
        "the restarted static-b should have a new member id (the old one fenced)")
    a.stop()
    assert_no_errors([a])


def test_kafka_python_group_shares_partitions_and_commits(make_gateway):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition
    from kafka.admin import KafkaAdminClient

    topic, group = "cg-kafka-python", "kp-group"
    g = make_gateway(properties=GROUP_PROPERTIES)
    create_topic(g.bootstrap, topic, 4)

    class KpMember(threading.Thread):
        def __init__(self, name):
            super().__init__(name=name, daemon=True)
            self.assignment, self.records, self.errors = set(), [], []
            self.stop_requested = threading.Event()
            self.lock = threading.Lock()

        def run(self):
            try:
                c = KafkaConsumer(topic, bootstrap_servers=g.bootstrap, group_id=group, client_id=self.name,
                                  enable_auto_commit=False, auto_offset_reset="earliest",
                                  session_timeout_ms=6000, heartbeat_interval_ms=HEARTBEAT_MS)
                while not self.stop_requested.is_set():
                    batch = c.poll(timeout_ms=100)
                    with self.lock:
                        self.assignment = {tp.partition for tp in c.assignment()}
                        for msgs in batch.values():
                            self.records += [(m.partition, m.offset, m.key.decode()) for m in msgs]
                    if batch:
                        c.commit()   # the positions: everything just processed
                c.close(autocommit=False)
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(f"{type(e).__name__}: {e}")

        def snapshot(self):
            with self.lock:
                return set(self.assignment), len(self.records), list(self.errors)

    pair = [KpMember("kp-1"), KpMember("kp-2")]
    try:
        for m in pair:
            m.start()
        wait_for(lambda: assignments_cover([m.snapshot()[0] for m in pair], 4), 30,
                 lambda: f"two kafka-python members sharing 4 partitions: {[m.snapshot() for m in pair]}")
        producer = KafkaProducer(bootstrap_servers=g.bootstrap, acks="all")
        futures = [producer.send(topic, key=f"k{i}".encode(), value=b"v") for i in range(400)]
        producer.flush()
        end = Counter(f.get(timeout=30).partition for f in futures)
        producer.close()
        wait_for(lambda: sum(m.snapshot()[1] for m in pair) >= 400, 30,
                 lambda: f"400 records: {[m.snapshot() for m in pair]}")
        time.sleep(0.5)
    finally:
        for m in pair:
            m.stop_requested.set()
        for m in pair:
            m.join(20)
    assert not any(m.is_alive() for m in pair), "a kafka-python consumer did not close within 20 s"
    for m in pair:
        assert not m.errors, f"{m.name}: {m.errors}"
        assert m.records, f"{m.name} consumed nothing: the partitions were not shared"
    records = [r for m in pair for r in m.records]
    assert not duplicates(records), f"consumed twice: {duplicates(records)[:20]}"
    assert len(records) == 400

    admin = KafkaAdminClient(bootstrap_servers=g.bootstrap)
    try:
        assert (group, "consumer") in admin.list_consumer_groups(), admin.list_consumer_groups()
        offsets = admin.list_consumer_group_offsets(group)
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {p: end[p] for p in range(4)}, offsets
    finally:
        admin.close()

    # A third member reads the committed offsets, and only what comes after them.
    third = KafkaConsumer(bootstrap_servers=g.bootstrap, group_id=group, enable_auto_commit=False,
                          auto_offset_reset="earliest", consumer_timeout_ms=1000)
    try:
        for p in range(4):
            assert third.committed(KTopicPartition(topic, p)) == end[p], f"committed offset of partition {p}"
        third.subscribe([topic])
        producer = KafkaProducer(bootstrap_servers=g.bootstrap, acks="all")
        for i in range(400, 420):
            producer.send(topic, key=f"k{i}".encode(), value=b"v")
        producer.flush()
        producer.close()
        got = []
        deadline = time.time() + 30
        while len(got) < 20 and time.time() < deadline:
            for msgs in third.poll(timeout_ms=200).values():
                got += [m.key.decode() for m in msgs]
        time.sleep(0.5)
        for msgs in third.poll(timeout_ms=500).values():
            got += [m.key.decode() for m in msgs]
        assert sorted(got) == sorted(f"k{i}" for i in range(400, 420)), (
            f"the third member should read exactly the 20 new records, got {len(got)}: {sorted(got)[:10]}...")
    finally:
        third.close(autocommit=False)
