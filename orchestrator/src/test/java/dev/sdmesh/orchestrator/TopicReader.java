package dev.sdmesh.orchestrator;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads a topic from its beginning, as a fresh consumer group, until the records read are enough. */
public final class TopicReader {
    private TopicReader() {
    }

    /** @param kafka the client settings of the test broker; fails the test when {@code enough} is not met in time */
    public static List<ConsumerRecord<String, String>> readUntil(Map<String, Object> kafka, String topic, Duration timeout,
                                                                 Predicate<List<ConsumerRecord<String, String>>> enough) {
        Map<String, Object> config = new HashMap<>(kafka);
        config.put("group.id", "test-" + UUID.randomUUID());
        config.put("auto.offset.reset", "earliest");
        config.put("key.deserializer", StringDeserializer.class);
        config.put("value.deserializer", StringDeserializer.class);
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!enough.test(records) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        assertTrue(enough.test(records), "records on " + topic + ": " + records.stream().map(ConsumerRecord::value).toList());
        return records;
    }
}
