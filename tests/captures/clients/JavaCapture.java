// Java kafka-clients' side of tests/captures/capture.py, run as a single-file program:
//   java -cp 'tests/e2e/java/target/lib/*' tests/captures/clients/JavaCapture.java HOST:PORT TOPIC
// A producer, a plain (assigned) consumer and a group consumer that commits, each bounded in time.
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaCapture {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "capture-java");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < 3; i++)
                producer.send(new ProducerRecord<>(topic, 0, ("k" + i).getBytes(), ("value " + i).getBytes())).get();
        }

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "capture-java");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            int n = 0;
            for (long end = System.currentTimeMillis() + 10000; n < 3 && System.currentTimeMillis() < end; )
                n += consumer.poll(Duration.ofMillis(500)).count();
            System.out.println("plain consumer read " + n);
        }

        c.put(ConsumerConfig.GROUP_ID_CONFIG, "capture-java-group");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
            consumer.subscribe(List.of(topic));
            int n = 0;
            for (long end = System.currentTimeMillis() + 15000; n < 3 && System.currentTimeMillis() < end; )
                n += consumer.poll(Duration.ofMillis(500)).count();
            System.out.println("group consumer read " + n);
            try {
                consumer.commitSync(Duration.ofSeconds(10));
                System.out.println("committed");
            } catch (Exception e) {   // the gateway may not coordinate groups yet
                System.out.println("commit failed: " + e);
            }
        }
    }
}
