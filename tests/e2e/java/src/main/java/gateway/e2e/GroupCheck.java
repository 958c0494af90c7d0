package gateway.e2e;

import static gateway.e2e.Checks.*;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Consumer groups with Kafka's own Java clients (the reference client).  Every check prints "ok: ..."
 * or "FAIL: ..."; the exit code is 0 only when every check passed (1 when one failed, 2 on a usage
 * error).  Driven by tests/e2e/test_java_groups.py.
 *
 * <pre>
 * GroupCheck cooperative --bootstrap H:P --topic T [--count N]
 * GroupCheck admin       --bootstrap H:P --topic T
 * GroupCheck assignors   --bootstrap H:P --topic T
 * </pre>
 *
 * cooperative: one consumer (CooperativeStickyAssignor) owns all 6 partitions and reads half the
 * records; a second joins: exactly 3 partitions move, the first never loses the other 3 (no full
 * revoke), then the rest is produced and every record is consumed exactly once across the two.
 * admin: listConsumerGroups, describeConsumerGroups (state, members, assignment, assignor),
 * listConsumerGroupOffsets, deleteConsumerGroups refused while a member is active,
 * deleteConsumerGroupOffsets and deleteConsumerGroups after it closed.
 * assignors: two consumers each with the range and the round-robin assignor: 3 partitions each, in
 * the shape the assignor gives, and describeConsumerGroups names the assignor.
 *
 * Two consumers are polled alternately from one thread (short polls), as a single-threaded client
 * would; every wait has a deadline and fails with what it was waiting for.
 */
public final class GroupCheck {
    static final Duration POLL = Duration.ofMillis(100);

    /** Runs step() until done() or the deadline; false (and a failure naming state()) on timeout. */
    static boolean pollUntil(String what, Duration timeout, Runnable step, BooleanSupplier done, Supplier<String> state) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout.toSeconds() + " s waiting for " + what + ": " + state.get());
                return false;
            }
            step.run();
        }
        ok(what);
        return true;
    }


    // ---------------------------------------------------------------- clients

    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "java-group-check-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return Admin.create(p);
    }

    static void createTopic(Admin admin, String topic, int partitions) {
        await("createTopics " + topic + " (" + partitions + " partitions)",
              admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all());
    }

    /** Records first..first+count-1 (key "key-i"); returns how many went to each partition. */
    static Map<Integer, Long> produce(String bootstrap, String topic, int first, int count) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        Map<Integer, Long> perPartition = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = first; i < first + count; i++)
                sent.add(producer.send(new ProducerRecord<>(topic, ("key-" + i).getBytes(StandardCharsets.UTF_8),
                                                            ("value-" + i).getBytes(StandardCharsets.UTF_8))));
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                RecordMetadata md = f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                perPartition.merge(md.partition(), 1L, Long::sum);
            }
            ok("produced " + count + " records to " + topic);
        } catch (Exception e) {
            fail("producing to " + topic + ": " + e);
        }
        return perPartition;
    }

    /** A consumer of a group with its rebalance history, processed records and synchronous commits. */
    static final class Member implements ConsumerRebalanceListener {
        final String name;
        final KafkaConsumer<byte[], byte[]> consumer;
        final List<String> history = new ArrayList<>();
        final List<Set<Integer>> revocations = new ArrayList<>();
        final Set<Integer> lost = new TreeSet<>();
        final Map<Integer, Long> pending = new HashMap<>();     // processed, not yet committed
        final Map<String, Integer> seen = new HashMap<>();      // "partition/offset" -> times consumed
        final List<String> errors = new ArrayList<>();
        int consumed = 0;

        Member(String bootstrap, String group, String name, Class<?> assignor, String topic) {
            this.name = name;
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, name);
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
            p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor.getName());
            consumer = new KafkaConsumer<>(p);
            consumer.subscribe(List.of(topic), this);
        }

        static Set<Integer> numbers(Collection<TopicPartition> tps) {
            return tps.stream().map(TopicPartition::partition).collect(Collectors.toCollection(TreeSet::new));
        }

        Set<Integer> owned() {
            return numbers(consumer.assignment());
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            history.add("revoked " + numbers(partitions));
            if (!partitions.isEmpty()) revocations.add(numbers(partitions));
            commit();   // what was processed of them, before another member takes them over
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            history.add("assigned " + numbers(partitions) + " -> owns " + owned());
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            history.add("lost " + numbers(partitions));
            lost.addAll(numbers(partitions));
        }

        void poll() {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
            for (ConsumerRecord<byte[], byte[]> r : records) {
                seen.merge(r.partition() + "/" + r.offset(), 1, Integer::sum);
                pending.put(r.partition(), r.offset() + 1);
                consumed++;
            }
            commit();
        }

        void commit() {
            if (pending.isEmpty()) return;
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            String topic = consumer.subscription().iterator().next();
            pending.forEach((p, o) -> offsets.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
            try {
                consumer.commitSync(offsets, TIMEOUT);
            } catch (Exception e) {
                errors.add("commitSync " + pending + ": " + e);
            }
            pending.clear();
        }

        String state() {
            return name + " owns " + owned() + ", consumed " + consumed + ", history " + history +
                   (errors.isEmpty() ? "" : ", errors " + errors);
        }

        void close() {
            try {
                consumer.close(TIMEOUT);
            } catch (Exception e) {
                fail(name + ": close: " + e);
            }
        }
    }

    static boolean disjointCover(Set<Integer> a, Set<Integer> b, int partitions) {
        Set<Integer> union = new TreeSet<>(a);
        union.addAll(b);
        return a.size() + b.size() == partitions && union.size() == partitions && !a.isEmpty() && !b.isEmpty();
    }

    static ConsumerGroupDescription describe(Admin admin, String group) {
        Map<String, ConsumerGroupDescription> d =
            await("describeConsumerGroups " + group, admin.describeConsumerGroups(List.of(group)).all());
        return d == null ? null : d.get(group);
    }

    // ---------------------------------------------------------------- cooperative

    static void runCooperative(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic"), group = "coop-" + topic;
        int count = a.getInt("count", 2000);
        final int partitions = 6;
        try (Admin admin = admin(bootstrap)) {
            createTopic(admin, topic, partitions);
            produce(bootstrap, topic, 0, count / 2);

            Member c1 = new Member(bootstrap, group, "coop-1", CooperativeStickyAssignor.class, topic);
            Member c2 = null;
            try {
                pollUntil("coop-1 alone owns all " + partitions + " partitions and reads", TIMEOUT, c1::poll,
                          () -> c1.owned().size() == partitions && c1.consumed > 0, c1::state);
                int revocationsBefore = c1.revocations.size();

                Member second = c2 = new Member(bootstrap, group, "coop-2", CooperativeStickyAssignor.class, topic);
                int[] c1Least = {partitions};
                pollUntil("coop-2 joins: 3 partitions each", TIMEOUT, () -> {
                    c1.poll();
                    c1Least[0] = Math.min(c1Least[0], c1.owned().size());
                    second.poll();
                }, () -> c1.owned().size() == 3 && second.owned().size() == 3, () -> c1.state() + "; " + second.state());
                checkEq(3, c1Least[0], "the fewest partitions coop-1 owned during the rebalance (never a full revoke)");
                Set<Integer> revoked = new TreeSet<>();
                for (Set<Integer> r : c1.revocations.subList(revocationsBefore, c1.revocations.size())) revoked.addAll(r);
                checkEq(second.owned(), revoked, "coop-1 gave up exactly the partitions coop-2 got");
                check(disjointCover(c1.owned(), second.owned(), partitions), "every partition owned by exactly one member: " +
                      c1.owned() + " / " + second.owned());
                checkEq(Set.of(), c1.lost, "partitions coop-1 lost");

                ConsumerGroupDescription d = describe(admin, group);
                if (d != null) checkEq("cooperative-sticky", d.partitionAssignor(), "the group's assignor");

                produce(bootstrap, topic, count / 2, count - count / 2);
                pollUntil("all " + count + " records consumed", Duration.ofSeconds(60), () -> {
                    c1.poll();
                    second.poll();
                }, () -> c1.consumed + second.consumed >= count, () -> c1.state() + "; " + second.state());
                for (int i = 0; i < 5; i++) {   // room for duplicates to show up
                    c1.poll();
                    second.poll();
                }
                Map<String, Integer> all = new HashMap<>(c1.seen);
                second.seen.forEach((k, v) -> all.merge(k, v, Integer::sum));
                List<String> twice = all.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
                                        .sorted().limit(20).collect(Collectors.toList());
                checkEq(List.of(), twice, "records consumed more than once");
                checkEq(count, all.size(), "distinct records consumed");
                check(c1.consumed > 0 && second.consumed > 0, "both members consumed (" + c1.consumed + ", " + second.consumed + ")");
                checkEq(List.of(), c1.errors, "coop-1 errors");
                checkEq(List.of(), second.errors, "coop-2 errors");
                System.out.println("history: " + c1.state() + "; " + second.state());
            } finally {
                c1.close();
                if (c2 != null) c2.close();
            }
        }
    }

    // ---------------------------------------------------------------- admin

    static void runAdmin(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic"), group = "admin-" + topic;
        final int partitions = 3, count = 300;
        try (Admin admin = admin(bootstrap)) {
            createTopic(admin, topic, partitions);
            Map<Integer, Long> end = produce(bootstrap, topic, 0, count);

            Member m = new Member(bootstrap, group, "admin-member", RangeAssignor.class, topic);
            boolean closed = false;
            try {
                pollUntil("the member reads all " + count + " records", TIMEOUT, m::poll, () -> m.consumed >= count, m::state);
                checkEq(List.of(), m.errors, "member errors");

                Collection<ConsumerGroupListing> listed = await("listConsumerGroups", admin.listConsumerGroups().all());
                if (listed != null) {
                    ConsumerGroupListing mine = listed.stream().filter(l -> l.groupId().equals(group)).findFirst().orElse(null);
                    if (check(mine != null, "listConsumerGroups has " + group + ": " + listed)) {
                        check(!mine.isSimpleConsumerGroup(), group + " is not a simple (offsets-only) group");
                        mine.state().ifPresent(s -> checkEq(ConsumerGroupState.STABLE, s, "listed state"));
                    }
                }

                ConsumerGroupDescription d = describe(admin, group);
                if (d != null) {
                    checkEq(ConsumerGroupState.STABLE, d.state(), "state with an active member");
                    checkEq("range", d.partitionAssignor(), "assignor");
                    check(d.coordinator() != null && d.coordinator().port() > 0, "coordinator " + d.coordinator());
                    checkEq(1, d.members().size(), "members");
                    if (d.members().size() == 1) {
                        MemberDescription md = d.members().iterator().next();
                        checkEq("admin-member", md.clientId(), "member client id");
                        check(!md.consumerId().isEmpty(), "member id " + md.consumerId());
                        Set<TopicPartition> want = new HashSet<>();
                        for (int p = 0; p < partitions; p++) want.add(new TopicPartition(topic, p));
                        checkEq(want, md.assignment().topicPartitions(), "member assignment");
                    }
                }

                checkOffsets(admin, group, topic, end, Set.of(0, 1, 2), "committed offsets");
                awaitError("deleteConsumerGroups with an active member", admin.deleteConsumerGroups(List.of(group)).all(),
                           GroupNotEmptyException.class);

                m.close();
                closed = true;
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                ConsumerGroupDescription empty = null;
                while (System.nanoTime() < deadline) {
                    try {
                        empty = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                        if (empty.state() == ConsumerGroupState.EMPTY) break;
                    } catch (Exception e) {
                        fail("describeConsumerGroups after close: " + e);
                        break;
                    }
                    Thread.sleep(100);
                }
                if (empty != null) {
                    checkEq(ConsumerGroupState.EMPTY, empty.state(), "state after the member closed");
                    checkEq(0, empty.members().size(), "members after the member closed");
                }

                await("deleteConsumerGroupOffsets " + topic + "-0",
                      admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition(topic, 0))).all());
                checkOffsets(admin, group, topic, end, Set.of(1, 2), "committed offsets after deleting partition 0's");

                await("deleteConsumerGroups " + group, admin.deleteConsumerGroups(List.of(group)).all());
                listed = await("listConsumerGroups after the delete", admin.listConsumerGroups().all());
                if (listed != null)
                    check(listed.stream().noneMatch(l -> l.groupId().equals(group)), "listConsumerGroups no longer has " + group + ": " + listed);
                try {
                    ConsumerGroupDescription gone = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                    checkEq(ConsumerGroupState.DEAD, gone.state(), "state of the deleted group");
                } catch (ExecutionException e) {
                    check(e.getCause() instanceof GroupIdNotFoundException, "describe the deleted group: " + e.getCause());
                }
                Map<TopicPartition, OffsetAndMetadata> left =
                    await("listConsumerGroupOffsets of the deleted group", admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
                if (left != null) checkEq(Map.of(), left, "offsets of the deleted group");
            } catch (InterruptedException e) {
                fail("interrupted");
            } finally {
                if (!closed) m.close();
            }
        }
    }

    static void checkOffsets(Admin admin, String group, String topic, Map<Integer, Long> end, Set<Integer> partitions, String what) {
        Map<TopicPartition, OffsetAndMetadata> got =
            await("listConsumerGroupOffsets " + group, admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        if (got == null) return;
        Map<Integer, Long> want = new HashMap<>(), have = new HashMap<>();
        for (int p : partitions) want.put(p, end.getOrDefault(p, 0L));
        got.forEach((tp, om) -> {
            if (tp.topic().equals(topic) && om != null) have.put(tp.partition(), om.offset());
        });
        checkEq(want, have, what);
    }

    // ---------------------------------------------------------------- assignors

    static void runAssignors(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic");
        final int partitions = 6;
        try (Admin admin = admin(bootstrap)) {
            createTopic(admin, topic, partitions);
            for (Class<?> assignor : List.of(RangeAssignor.class, RoundRobinAssignor.class)) {
                String name = assignor == RangeAssignor.class ? "range" : "roundrobin";
                String group = name + "-" + topic;
                Member c1 = new Member(bootstrap, group, name + "-1", assignor, topic);
                Member c2 = new Member(bootstrap, group, name + "-2", assignor, topic);
                try {
                    if (!pollUntil(name + ": two members, 3 partitions each", TIMEOUT, () -> {
                            c1.poll();
                            c2.poll();
                        }, () -> c1.owned().size() == 3 && c2.owned().size() == 3, () -> c1.state() + "; " + c2.state()))
                        continue;
                    check(disjointCover(c1.owned(), c2.owned(), partitions), name + ": disjoint " + c1.owned() + " / " + c2.owned());
                    for (Member m : List.of(c1, c2)) {
                        List<Integer> owned = new ArrayList<>(m.owned());
                        boolean shaped = name.equals("range")
                            ? owned.get(owned.size() - 1) - owned.get(0) == owned.size() - 1          // a contiguous range
                            : owned.stream().allMatch(p -> p % 2 == owned.get(0) % 2);                  // every other one
                        check(shaped, name + ": " + m.name + " owns " + owned);
                    }
                    ConsumerGroupDescription d = describe(admin, group);
                    if (d != null) {
                        checkEq(name, d.partitionAssignor(), name + ": the group's assignor");
                        checkEq(2, d.members().size(), name + ": members");
                    }
                } finally {
                    c1.close();
                    c2.close();
                }
            }
        }
    }

    public static void main(String[] argv) {
        Checks.main("GroupCheck cooperative|admin|assignors --bootstrap HOST:PORT --topic T [--count N]", argv, Map.of(
            "cooperative", GroupCheck::runCooperative,
            "admin", GroupCheck::runAdmin,
            "assignors", GroupCheck::runAssignors));
    }
}
