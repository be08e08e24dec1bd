package dev.sdmesh.orchestrator.kafka;

import java.util.Properties;

/**
 * Topics and client settings of the orchestrator's Kafka side.
 *
 * @param maxInFlight requests consumed and not yet finished before the partitions are paused (back-pressure)
 */
public record KafkaSettings(String bootstrapServers, String groupId, String requestsTopic, String eventsTopic,
                            String dlqTopic, int partitions, int maxInFlight) {

    public Properties common() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers);
        p.put("client.id", "sdmesh-orchestrator");
        return p;
    }

    public Properties producer() {
        Properties p = common();
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        // accepted and terminal events are waited for on a generation's critical path (the pipeline starts after its
        // accepted event is written), so a send must not linger for companions; records queued while a send is in
        // flight are still batched.
        p.put("linger.ms", "0");
        p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        return p;
    }

    /** Manual commits; at most {@code maxInFlight} records per poll so one poll cannot overrun the bound. */
    public Properties requestConsumer() {
        Properties p = common();
        p.put("group.id", groupId);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        p.put("max.poll.records", Integer.toString(maxInFlight));
        p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        return p;
    }

    /** No group: the status replay reads whole partitions from the beginning and commits nothing. */
    public Properties replayConsumer() {
        Properties p = common();
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        return p;
    }
}
