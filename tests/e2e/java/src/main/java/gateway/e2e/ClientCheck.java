package gateway.e2e;

import static gateway.e2e.Checks.*;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Kafka's own Java clients against the gateway.  Every check prints "ok: ..." or "FAIL: ...";
 * the exit code is 0 only when every check passed (1 when one failed, 2 on a usage error).
 *
 * <pre>
 * ClientCheck admin     --bootstrap H:P --topic T
 * ClientCheck produce   --bootstrap H:P --topic T --count N [--first I] [--partitions P] [--compression C] [--create no]
 * ClientCheck consume   --bootstrap H:P --topic T --count N [--partitions P] [--fetch-max-bytes B]
 * ClientCheck roundtrip --bootstrap H:P --topic T --count N [--partitions P] [--compression C] [--fetch-max-bytes B]
 * </pre>
 *
 * produce creates the topic (P partitions, default 3) when it does not exist yet (--create no: leaves
 * that to the broker's auto-creation on the producer's Metadata request), then sends records
 * numbered first..first+N-1 with the default producer settings (acks=all, idempotence on) and checks
 * every acknowledgement.  consume reads the whole topic with assign() and no group.id and checks that
 * records 0..N-1 are there exactly once, intact, and that every partition's offsets run 0, 1, 2, ...
 * roundtrip does both in one process and also compares the producer's offsets with the consumer's,
 * the timestamps, ListOffsets (earliest, latest, by timestamp, max timestamp) and the consumer's positions.
 */
public final class ClientCheck {


    // ---------------------------------------------------------------- the records

    /** Record i: key "key-i" (null for every 7th), a value of varying size (null or empty for some),
     *  headers idx=i, src=java-client-check and, for every 5th, a header with a null value. */
    static byte[] key(int i) {
        return i % 7 == 3 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int i) {
        if (i % 50 == 7) return null;
        if (i % 50 == 8) return new byte[0];
        int repeat = i % 200 == 0 ? 4000 : 1 + i % 13;   // a few 50-70 KB values, the rest small
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < repeat; r++) sb.append("value-").append(i).append('-').append(r).append(' ');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static List<Header> headers(int i) {
        List<Header> h = new ArrayList<>();
        h.add(new RecordHeader("idx", String.valueOf(i).getBytes(StandardCharsets.UTF_8)));
        h.add(new RecordHeader("src", "java-client-check".getBytes(StandardCharsets.UTF_8)));
        if (i % 5 == 0) h.add(new RecordHeader("nullable", null));
        return h;
    }

    static String show(byte[] b) {
        if (b == null) return "null";
        String s = new String(b, StandardCharsets.UTF_8);
        return s.length() > 40 ? "\"" + s.substring(0, 40) + "...\" (" + b.length + " bytes)" : "\"" + s + "\"";
    }

    static String showHeaders(Iterable<Header> hs) {
        List<String> out = new ArrayList<>();
        for (Header h : hs) out.add(h.key() + "=" + show(h.value()));
        return out.toString();
    }

    // ---------------------------------------------------------------- clients

    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "java-client-check-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        return Admin.create(p);
    }

    static KafkaProducer<byte[], byte[]> producer(String bootstrap, String compression) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "java-client-check-producer");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        // Everything else stays at the 3.x defaults: acks=all, enable.idempotence=true, linger.ms=5.
        return new KafkaProducer<>(p);
    }

    /** fetchMaxBytes > 0 sets fetch.max.bytes and max.partition.fetch.bytes (a batch larger than the
     *  limit must still be returned whole, KIP-74). */
    static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, int fetchMaxBytes) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-client-check-consumer");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");   // no group.id: nothing to commit to
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        p.put(ConsumerConfig.CHECK_CRCS_CONFIG, "true");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        if (fetchMaxBytes > 0) {
            p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(fetchMaxBytes));
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(fetchMaxBytes));
        }
        return new KafkaConsumer<>(p);
    }

    // ---------------------------------------------------------------- admin

    static Node onlyNode(Admin admin) {
        DescribeClusterResult dc = admin.describeCluster();
        Collection<Node> nodes = await("describeCluster nodes", dc.nodes());
        String clusterId = await("describeCluster clusterId", dc.clusterId());
        Node controller = await("describeCluster controller", dc.controller());
        if (nodes == null) return null;
        checkEq(1, nodes.size(), "describeCluster: number of nodes");
        check(clusterId != null && !clusterId.isEmpty(), "describeCluster: cluster id present (" + clusterId + ")");
        Node node = nodes.isEmpty() ? null : nodes.iterator().next();
        if (node != null) {
            System.out.println("   node " + node.id() + " at " + node.host() + ":" + node.port());
            check(controller != null && !controller.isEmpty() && controller.id() == node.id(),
                  "describeCluster: controller is the one node (" + controller + ")");
        }
        return node;
    }

    static TopicDescription describe(Admin admin, String topic) {
        Map<String, TopicDescription> d = await("describeTopics " + topic, admin.describeTopics(List.of(topic)).allTopicNames());
        return d == null ? null : d.get(topic);
    }

    static void checkPartitions(TopicDescription d, int expected, Node node) {
        if (d == null) return;
        checkEq(expected, d.partitions().size(), "describeTopics " + d.name() + ": partition count");
        check(!d.isInternal(), "describeTopics: topic is not internal");
        check(d.topicId() != null, "describeTopics: topic id " + d.topicId());
        for (int i = 0; i < d.partitions().size(); i++) {
            TopicPartitionInfo p = d.partitions().get(i);
            checkEq(i, p.partition(), "describeTopics: partition number at index " + i);
            if (node != null) {
                check(p.leader() != null && p.leader().id() == node.id(),
                      "describeTopics: partition " + p.partition() + " leader is node " + node.id() + " (" + p.leader() + ")");
                check(p.replicas().size() == 1 && p.replicas().get(0).id() == node.id(),
                      "describeTopics: partition " + p.partition() + " replicas " + p.replicas());
                check(p.isr().size() == 1 && p.isr().get(0).id() == node.id(),
                      "describeTopics: partition " + p.partition() + " isr " + p.isr());
            }
        }
    }

    static void runAdmin(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic");
        try (Admin admin = admin(bootstrap)) {
            Node node = onlyNode(admin);

            NewTopic nt = new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "3600000"));
            await("createTopics " + topic + " (3 partitions, replication 1, retention.ms=3600000)",
                  admin.createTopics(List.of(nt)).all());
            awaitError("createTopics " + topic + " again", admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all(),
                       TopicExistsException.class);
            awaitError("createTopics with an invalid name", admin.createTopics(List.of(new NewTopic("bad/name", 1, (short) 1))).all(),
                       InvalidTopicException.class);

            Set<String> names = await("listTopics", admin.listTopics().names());
            if (names != null) check(names.contains(topic), "listTopics contains " + topic + " " + names);

            checkPartitions(describe(admin, topic), 3, node);

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Map<ConfigResource, Config> configs = await("describeConfigs topic " + topic, admin.describeConfigs(List.of(res)).all());
            if (configs != null && configs.get(res) != null) {
                ConfigEntry e = configs.get(res).get("retention.ms");
                if (check(e != null, "describeConfigs: retention.ms present")) {
                    checkEq("3600000", e.value(), "describeConfigs: retention.ms");
                    check(e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                          "describeConfigs: retention.ms source is DYNAMIC_TOPIC_CONFIG (" + e.source() + ")");
                    check(!e.isDefault(), "describeConfigs: retention.ms is not a default");
                }
                ConfigEntry cp = configs.get(res).get("cleanup.policy");
                check(cp != null && cp.value() != null, "describeConfigs: cleanup.policy present (" + cp + ")");
            }
            if (node != null) {
                ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(node.id()));
                Map<ConfigResource, Config> bc = await("describeConfigs broker " + node.id(), admin.describeConfigs(List.of(br)).all());
                if (bc != null && bc.get(br) != null) {
                    ConfigEntry e = bc.get(br).get("num.partitions");
                    check(e != null && e.value() != null, "describeConfigs broker: num.partitions present (" + e + ")");
                }
            }

            await("createPartitions " + topic + " to 4", admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all());
            checkPartitions(describe(admin, topic), 4, node);
            awaitError("createPartitions " + topic + " to 2 (fewer)",
                       admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all(), InvalidPartitionsException.class);

            await("deleteTopics " + topic, admin.deleteTopics(List.of(topic)).all());
            // Deletion is asynchronous in Kafka; give the listing a few seconds to catch up.
            long deadline = System.currentTimeMillis() + 10_000;
            Set<String> after = null;
            while (System.currentTimeMillis() < deadline) {
                after = await("listTopics after deleteTopics", admin.listTopics().names());
                if (after == null || !after.contains(topic)) break;
                Thread.sleep(200);
            }
            if (after != null) check(!after.contains(topic), "listTopics no longer has " + topic + " " + after);
            awaitError("describeTopics of the deleted topic", admin.describeTopics(List.of(topic)).allTopicNames(),
                       UnknownTopicOrPartitionException.class);
            awaitError("deleteTopics of the deleted topic", admin.deleteTopics(List.of(topic)).all(),
                       UnknownTopicOrPartitionException.class);
        } catch (InterruptedException e) {
            fail("interrupted");
        }
    }

    // ---------------------------------------------------------------- produce

    static void ensureTopic(String bootstrap, String topic, int partitions) {
        try (Admin admin = admin(bootstrap)) {
            Set<String> names = await("listTopics", admin.listTopics().names());
            if (names != null && names.contains(topic)) return;
            await("createTopics " + topic + " (" + partitions + " partitions)",
                  admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all());
        }
    }

    /** Sends records first..first+count-1; returns their metadata by record number (null entries failed). */
    static Map<Integer, RecordMetadata> produce(String bootstrap, String topic, int first, int count, String compression) {
        Map<Integer, Future<RecordMetadata>> futures = new TreeMap<>();
        Map<Integer, RecordMetadata> acked = new TreeMap<>();
        long start = System.currentTimeMillis();
        try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, compression)) {
            for (int i = first; i < first + count; i++)
                futures.put(i, producer.send(new ProducerRecord<>(topic, null, null, key(i), value(i), headers(i))));
            producer.flush();
            int failed = 0;
            String firstError = null;
            for (Map.Entry<Integer, Future<RecordMetadata>> e : futures.entrySet()) {
                try {
                    acked.put(e.getKey(), e.getValue().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
                } catch (ExecutionException ex) {
                    if (failed++ == 0) firstError = "record " + e.getKey() + ": " + ex.getCause();
                } catch (Exception ex) {
                    if (failed++ == 0) firstError = "record " + e.getKey() + ": " + ex;
                }
            }
            if (failed == 0) ok("producer (compression " + compression + "): all " + count + " sends acknowledged");
            else fail("producer (compression " + compression + "): " + failed + " of " + count + " sends failed, first " + firstError);
        }
        long end = System.currentTimeMillis();

        // Offsets per partition, in send order, must be strictly increasing (one producer, idempotent).
        Map<Integer, List<Long>> byPartition = new TreeMap<>();
        boolean inWindow = true;
        for (RecordMetadata m : acked.values()) {
            byPartition.computeIfAbsent(m.partition(), p -> new ArrayList<>()).add(m.offset());
            if (m.hasTimestamp() && (m.timestamp() < start - 1000 || m.timestamp() > end + 1000)) inWindow = false;
        }
        for (Map.Entry<Integer, List<Long>> e : byPartition.entrySet()) {
            List<Long> offs = e.getValue();
            boolean increasing = true;
            for (int i = 1; i < offs.size(); i++) if (offs.get(i) != offs.get(i - 1) + 1) increasing = false;
            check(increasing, "producer: partition " + e.getKey() + " offsets " + offs.get(0) + ".." + offs.get(offs.size() - 1)
                              + " contiguous in send order (" + offs.size() + " records)");
        }
        check(inWindow, "producer: acknowledged timestamps within the send window");
        return acked;
    }

    static void runProduce(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic");
        int first = a.getInt("first", 0), count = a.getInt("count", 1000);
        if (!a.get("create", "yes").equals("no")) ensureTopic(bootstrap, topic, a.getInt("partitions", 3));
        Map<Integer, RecordMetadata> acked = produce(bootstrap, topic, first, count, a.get("compression", "none"));
        Map<Integer, Long> last = new TreeMap<>();
        for (RecordMetadata m : acked.values()) last.merge(m.partition(), m.offset(), Math::max);
        System.out.println("   last offset per partition: " + last);
    }

    // ---------------------------------------------------------------- consume

    /** Reads the whole topic from the beginning with assign() and no group; checks records 0..count-1. */
    static Map<Integer, ConsumerRecord<byte[], byte[]>> consume(String bootstrap, String topic, int count, int partitions,
                                                                int fetchMaxBytes) {
        Map<Integer, ConsumerRecord<byte[], byte[]>> seen = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap, fetchMaxBytes)) {
            List<TopicPartition> tps = new ArrayList<>();
            try {
                tps = consumer.partitionsFor(topic, TIMEOUT).stream()
                              .map(p -> new TopicPartition(p.topic(), p.partition()))
                              .sorted((x, y) -> Integer.compare(x.partition(), y.partition()))
                              .collect(Collectors.toList());
                checkEq(partitions, tps.size(), "consumer: partitionsFor " + topic);
            } catch (Exception e) {
                fail("consumer: partitionsFor " + topic + ": " + e);
                return seen;
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);

            Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, TIMEOUT);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, TIMEOUT);
            check(begin.values().stream().allMatch(o -> o == 0), "consumer: beginningOffsets all 0 " + begin);
            long total = end.values().stream().mapToLong(Long::longValue).sum();
            checkEq((long) count, total, "consumer: endOffsets add up to the record count " + end);

            Map<Integer, Long> nextOffset = new TreeMap<>();
            Map<Integer, Integer> lastIndex = new TreeMap<>();
            int received = 0, bad = 0, duplicates = 0, gaps = 0, reordered = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (received < count && System.currentTimeMillis() < deadline) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    received++;
                    long expectedOffset = nextOffset.getOrDefault(r.partition(), 0L);
                    if (r.offset() != expectedOffset && gaps++ < 5)
                        System.out.println("   partition " + r.partition() + ": offset " + r.offset() + " after " + (expectedOffset - 1));
                    nextOffset.put(r.partition(), r.offset() + 1);

                    Header idxHeader = r.headers().lastHeader("idx");
                    Integer i = null;
                    try {
                        i = Integer.valueOf(new String(idxHeader.value(), StandardCharsets.UTF_8));
                    } catch (Exception e) {
                        if (bad++ < 5) System.out.println("   record at " + r.partition() + "/" + r.offset() + " has no idx header: " + showHeaders(r.headers()));
                        continue;
                    }
                    if (seen.put(i, r) != null && duplicates++ < 5) System.out.println("   record " + i + " received twice");
                    Integer prev = lastIndex.put(r.partition(), i);
                    if (prev != null && prev >= i && reordered++ < 5)
                        System.out.println("   partition " + r.partition() + ": record " + i + " after record " + prev);
                    String problem = null;
                    if (!Arrays.equals(key(i), r.key())) problem = "key " + show(r.key()) + ", expected " + show(key(i));
                    else if (!Arrays.equals(value(i), r.value())) problem = "value " + show(r.value()) + ", expected " + show(value(i));
                    else if (!showHeaders(headers(i)).equals(showHeaders(r.headers())))
                        problem = "headers " + showHeaders(r.headers()) + ", expected " + showHeaders(headers(i));
                    else if (r.timestampType() != TimestampType.CREATE_TIME) problem = "timestamp type " + r.timestampType();
                    else if (r.serializedValueSize() != (value(i) == null ? -1 : value(i).length))
                        problem = "serializedValueSize " + r.serializedValueSize();
                    if (problem != null && bad++ < 5) System.out.println("   record " + i + " at " + r.partition() + "/" + r.offset() + ": " + problem);
                }
            }
            checkEq(count, received, "consumer: records received");
            checkEq(0, bad, "consumer: records with a wrong key, value, headers or timestamp type");
            checkEq(0, duplicates, "consumer: records received twice");
            checkEq(0, gaps, "consumer: gaps in a partition's offsets (each must run 0, 1, 2, ...)");
            checkEq(0, reordered, "consumer: records out of send order within a partition");
            int missing = 0;
            for (int i = 0; i < count; i++) if (!seen.containsKey(i)) missing++;
            checkEq(0, missing, "consumer: records missing");
            for (TopicPartition tp : tps)
                checkEq(end.get(tp), consumer.position(tp, TIMEOUT), "consumer: position of " + tp + " after reading it all");

            if (!seen.isEmpty()) checkTimestampLookups(bootstrap, consumer, tps, seen.values());
        } catch (Exception e) {
            fail("consumer: " + e);
            e.printStackTrace();
        }
        return seen;
    }

    /** ListOffsets by timestamp (Kafka: the first record whose timestamp is >= the target, and that
     *  record's timestamp) and for the max timestamp (ListOffsets v7+, Kafka 3.9: the first record
     *  carrying the partition's largest timestamp), compared with what was consumed. */
    static void checkTimestampLookups(String bootstrap, KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> tps,
                                      Collection<ConsumerRecord<byte[], byte[]>> records) {
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> byPartition = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records)
            byPartition.computeIfAbsent(new TopicPartition(r.topic(), r.partition()), k -> new ArrayList<>()).add(r);
        for (List<ConsumerRecord<byte[], byte[]>> l : byPartition.values()) l.sort((x, y) -> Long.compare(x.offset(), y.offset()));

        Map<TopicPartition, Long> targets = new HashMap<>();
        Map<TopicPartition, ConsumerRecord<byte[], byte[]>> expected = new HashMap<>();
        for (Map.Entry<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> e : byPartition.entrySet()) {
            List<ConsumerRecord<byte[], byte[]>> recs = e.getValue();
            long target = recs.get(recs.size() / 2).timestamp();
            targets.put(e.getKey(), target);
            expected.put(e.getKey(), recs.stream().filter(r -> r.timestamp() >= target).findFirst().get());
        }
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(targets, TIMEOUT);
        for (TopicPartition tp : targets.keySet()) {
            OffsetAndTimestamp ot = found.get(tp);
            ConsumerRecord<byte[], byte[]> want = expected.get(tp);
            String what = "offsetsForTimes " + tp + " at " + targets.get(tp) + ": expected offset " + want.offset() + " timestamp "
                          + want.timestamp() + ", got " + (ot == null ? "nothing" : "offset " + ot.offset() + " timestamp " + ot.timestamp());
            boolean exact = ot != null && ot.offset() == want.offset() && ot.timestamp() == want.timestamp();
            check(exact, what);
        }
        Map<TopicPartition, Long> future = new HashMap<>();
        for (TopicPartition tp : tps) future.put(tp, System.currentTimeMillis() + 3_600_000L);
        Map<TopicPartition, OffsetAndTimestamp> none = consumer.offsetsForTimes(future, TIMEOUT);
        check(none.values().stream().allMatch(v -> v == null), "offsetsForTimes an hour ahead finds nothing " + none);

        try (Admin admin = admin(bootstrap)) {
            Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
            for (TopicPartition tp : byPartition.keySet()) specs.put(tp, OffsetSpec.maxTimestamp());
            Map<TopicPartition, ListOffsetsResultInfo> max = await("admin listOffsets maxTimestamp", admin.listOffsets(specs).all());
            if (max == null) return;
            for (Map.Entry<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> e : byPartition.entrySet()) {
                long maxTs = e.getValue().stream().mapToLong(ConsumerRecord::timestamp).max().getAsLong();
                ConsumerRecord<byte[], byte[]> want = e.getValue().stream().filter(r -> r.timestamp() == maxTs).findFirst().get();
                ListOffsetsResultInfo got = max.get(e.getKey());
                String what = "listOffsets maxTimestamp " + e.getKey() + ": expected offset " + want.offset() + " timestamp " + maxTs
                              + ", got " + (got == null ? "nothing" : "offset " + got.offset() + " timestamp " + got.timestamp());
                boolean exact = got != null && got.offset() == want.offset() && got.timestamp() == maxTs;
                check(exact, what);
            }
        }
    }

    static void runConsume(Args a) {
        consume(a.get("bootstrap"), a.get("topic"), a.getInt("count", 1000), a.getInt("partitions", 3), a.getInt("fetch-max-bytes", 0));
    }

    static void runRoundtrip(Args a) {
        String bootstrap = a.get("bootstrap"), topic = a.get("topic");
        int count = a.getInt("count", 1000), partitions = a.getInt("partitions", 3);
        ensureTopic(bootstrap, topic, partitions);
        Map<Integer, RecordMetadata> acked = produce(bootstrap, topic, 0, count, a.get("compression", "none"));
        Map<Integer, ConsumerRecord<byte[], byte[]>> seen = consume(bootstrap, topic, count, partitions, a.getInt("fetch-max-bytes", 0));
        int mismatched = 0;
        for (Map.Entry<Integer, RecordMetadata> e : acked.entrySet()) {
            ConsumerRecord<byte[], byte[]> r = seen.get(e.getKey());
            RecordMetadata m = e.getValue();
            if (r == null) continue;   // already reported as missing
            if (r.partition() != m.partition() || r.offset() != m.offset() || (m.hasTimestamp() && r.timestamp() != m.timestamp())) {
                if (mismatched++ < 5)
                    System.out.println("   record " + e.getKey() + ": acknowledged at " + m.partition() + "/" + m.offset() + " ts " + m.timestamp()
                                       + ", consumed at " + r.partition() + "/" + r.offset() + " ts " + r.timestamp());
            }
        }
        checkEq(0, mismatched, "roundtrip: records whose consumed partition/offset/timestamp differ from the acknowledgement");
        Set<Integer> used = acked.values().stream().map(RecordMetadata::partition).collect(Collectors.toSet());
        check(used.size() == Math.min(partitions, count), "roundtrip: records spread over partitions " + used);
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] argv) {
        Checks.main("ClientCheck admin|produce|consume|roundtrip --bootstrap HOST:PORT --topic T [--count N] ...", argv, Map.of(
            "admin", ClientCheck::runAdmin,
            "produce", ClientCheck::runProduce,
            "consume", ClientCheck::runConsume,
            "roundtrip", ClientCheck::runRoundtrip));
    }
}
