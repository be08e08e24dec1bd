package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Publishes to {@code sdmesh.generation.requests} and follows {@code sdmesh.generation.events}. */
final class KafkaGenerationClient implements GenerationClient {
    static final String REQUESTS = "sdmesh.generation.requests";
    static final String EVENTS = "sdmesh.generation.events";

    private final KafkaProducer<String, String> producer;
    private final KafkaConsumer<String, String> consumer;

    KafkaGenerationClient(String bootstrap) {
        // One request at a time, waited for: lingering for companions (the client's 5 ms default) only delays it.
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 0),
                new StringSerializer(), new StringSerializer());
        consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "sdmesh-cli-" + UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new StringDeserializer());
    }

    @Override
    public JsonNode run(ObjectNode request, ProgressBar progress, Duration timeout) throws Exception {
        String requestId = request.path("requestId").asText();
        positionOnce(timeout);
        producer.send(new ProducerRecord<>(REQUESTS, requestId, GenerateCommand.JSON.writeValueAsString(request))).get();

        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                if (!requestId.equals(record.key())) continue;
                JsonNode event = GenerateCommand.JSON.readTree(record.value());
                switch (event.path("type").asText()) {
                    case "progress" -> progress.update(event.path("step").asInt(), event.path("total").asInt());
                    case "completed" -> {
                        return event;
                    }
                    case "failed", "cancelled" -> throw new IllegalStateException(
                            "request " + requestId + " " + event.path("type").asText() + ": " + GenerationClient.failureMessage(event));
                    default -> {
                        // accepted and any newer event types: nothing to show
                    }
                }
            }
        }
        throw new java.util.concurrent.TimeoutException("no terminal event for " + requestId + " within " + timeout.toSeconds() + " s");
    }

    /**
     * Positions on the events' current end before the first request is published, so no event of it is missed; later
     * requests read on from there (other requests' events are skipped by key). Re-assigning for every request would
     * cost each one a new fetch session, about half a second on the local mesh.
     */
    private void positionOnce(Duration timeout) throws InterruptedException {
        if (!consumer.assignment().isEmpty()) return;
        List<TopicPartition> partitions = awaitPartitions(timeout);
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
    }

    private List<TopicPartition> awaitPartitions(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var infos = consumer.partitionsFor(EVENTS, Duration.ofSeconds(5));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("topic " + EVENTS + " does not exist; is the orchestrator running?");
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        consumer.close(Duration.ofSeconds(5));
    }
}
