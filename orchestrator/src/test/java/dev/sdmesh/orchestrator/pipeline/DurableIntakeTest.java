package dev.sdmesh.orchestrator.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.TopicReader;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.RequestLimits;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.orchestrator.kafka.KafkaEventSink;
import dev.sdmesh.orchestrator.kafka.KafkaRequestLog;
import dev.sdmesh.orchestrator.kafka.KafkaSettings;
import dev.sdmesh.orchestrator.kafka.RequestConsumer;
import dev.sdmesh.orchestrator.kafka.StatusFeed;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.testkit.EmbeddedKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replicas as the orchestrator wires them (intake, request consumer, status feed, Kafka event sink) on a real broker,
 * with in-memory stages: a request taken by a front door completes on another replica when the one running it
 * crashes, a cancel taken by a replica that does not run the generation reaches the one that does, and a replica
 * stops consuming while {@code max-in-flight} requests are unfinished, so a queue of 1000 waits on the broker, not in
 * memory. (What the paused consumer may have prefetched is bounded by the client's fetch sizes, not by the queue.)
 */
class DurableIntakeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestParser PARSER = new RequestParser(JSON, RequestLimits.DEFAULT);
    private static EmbeddedKafka kafka;
    /** Consumed, unfinished requests before a replica pauses its partitions. */
    private static final int MAX_IN_FLIGHT = 2;

    private final String run = UUID.randomUUID().toString();
    private final KafkaSettings settings = new KafkaSettings(kafka.bootstrapServers(), "orchestrators-" + run,
            "requests-" + run, "events-" + run, "dlq-" + run, 1, MAX_IN_FLIGHT);
    private final Producer<String, byte[]> producer = new KafkaProducer<>(settings.producer());
    /** The bucket all replicas share. */
    private final MemoryImageStore store = new MemoryImageStore();
    private final List<Replica> replicas = new ArrayList<>();

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start(null);
    }

    @AfterAll
    static void stopBroker() {
        kafka.close();
    }

    @BeforeEach
    void createTopics() {
        for (String topic : List.of(settings.requestsTopic(), settings.eventsTopic(), settings.dlqTopic())) kafka.createTopic(topic, 1);
    }

    /** One orchestrator: its own stages and status store, the shared topics and bucket. */
    private final class Replica implements AutoCloseable {
        final FakeStages stages = new FakeStages();
        final StatusStore statuses = new StatusStore();
        final AtomicBoolean crashed = new AtomicBoolean();
        final Generations generations;
        final GenerationIntake intake;
        final StatusFeed feed;
        RequestConsumer consumer;

        Replica(boolean holdDenoise) {
            stages.holdDenoise = holdDenoise;
            KafkaEventSink events = new KafkaEventSink(producer, settings.eventsTopic(), JSON);
            generations = TestGenerations.of(stages, store, statuses, (event, traceparent) -> {
                if (crashed.get()) throw new IllegalStateException("this replica has crashed");
                events.publish(event, traceparent);
            }, 0);
            intake = new GenerationIntake(PARSER, generations, statuses, store, TestGenerations.BUCKET,
                    new KafkaRequestLog(producer, settings.requestsTopic(), JSON), 100);
            feed = new StatusFeed(new KafkaConsumer<>(settings.replayConsumer()), settings.eventsTopic(), statuses, JSON,
                    Duration.ofSeconds(30));
            feed.replay();
            daemon(feed);
            replicas.add(this);
        }

        Replica consuming() {
            consumer = new RequestConsumer(new KafkaConsumer<>(settings.requestConsumer()), producer, generations, PARSER, settings,
                    GenerationTracing.disabled());
            daemon(consumer);
            return this;
        }

        /** Dies mid-run: writes nothing more, and the request it consumed stays uncommitted. */
        void crash() {
            crashed.set(true);
            consumer.close();
        }

        @Override
        public void close() {
            crashed.set(true);
            if (consumer != null) consumer.close();
            feed.close();
            generations.close();
        }
    }

    private static void daemon(Runnable loop) {
        Thread thread = new Thread(loop, "replica-" + loop.getClass().getSimpleName());
        thread.setDaemon(true);
        thread.start();
    }

    @AfterEach
    void close() {
        replicas.forEach(Replica::close);
        producer.close(Duration.ofSeconds(5));
    }

    private static ObjectNode request(String id, String initImage) throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("{\"requestId\":\"" + id + "\",\"prompt\":\"a cat\",\"steps\":3,\"seed\":7}");
        if (initImage != null) body.put("initImage", initImage);
        return body;
    }

    /** The request's events on the topic once one is terminal; fails unless exactly one is. */
    private List<JsonNode> eventsUntilTerminal(String id) throws Exception {
        List<ConsumerRecord<String, String>> records = TopicReader.readUntil(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
                settings.eventsTopic(), Duration.ofSeconds(60),
                rs -> rs.stream().anyMatch(r -> id.equals(r.key()) && terminal(r.value())));
        List<JsonNode> events = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) if (id.equals(r.key())) events.add(JSON.readTree(r.value()));
        assertEquals(1, events.stream().filter(e -> terminal(e.toString())).count(), events.toString());
        return events;
    }

    private static boolean terminal(String event) {
        return event.contains("\"completed\"") || event.contains("\"failed\"") || event.contains("\"cancelled\"");
    }

    @Test
    void aRequestTakenByAFrontDoorCompletesOnAnotherReplicaWhenTheOneRunningItCrashes() throws Exception {
        String id = "crash-" + run;
        byte[] init = "init image bytes".getBytes(StandardCharsets.UTF_8);
        Replica first = new Replica(true).consuming();
        first.intake.send(first.intake.admit(request(id, Base64.getEncoder().encodeToString(init))), null);
        assertTrue(first.stages.denoiseStarted.await(60, TimeUnit.SECONDS), "the first replica runs the request");

        first.crash();
        Replica second = new Replica(false).consuming();

        List<JsonNode> events = eventsUntilTerminal(id);
        JsonNode end = events.get(events.size() - 1);
        assertEquals(GenerationEvent.COMPLETED, end.get("type").asText(), events.toString());
        assertTrue(store.exists(end.at("/images/0/key").asText()));
        assertEquals(1, second.stages.callsOf(DenoiseRequest.class).size(), "the redelivered request ran on the second replica");
        assertArrayEquals(init, second.stages.callsOf(VaeEncodeRequest.class).get(0).getImage().toByteArray(),
                "the inline init image travelled through the store");
    }

    @Test
    void aCancelTakenByAReplicaNotRunningTheGenerationReachesTheOneThatIs() throws Exception {
        String id = "cancel-" + run;
        Replica runner = new Replica(true).consuming();
        Replica front = new Replica(false);
        front.intake.send(front.intake.admit(request(id, null)), null);
        assertTrue(runner.stages.denoiseStarted.await(60, TimeUnit.SECONDS));

        var cancelled = front.statuses.nextTerminal(id);
        front.intake.cancel(id);

        assertEquals(GenerationEvent.CANCELLED, cancelled.get(60, TimeUnit.SECONDS).type(),
                "the front door learns the outcome from the events topic");
        assertEquals(GenerationEvent.CANCELLED, eventsUntilTerminal(id).stream().filter(e -> terminal(e.toString()))
                .findFirst().orElseThrow().get("type").asText());
        assertTrue(front.stages.calls.isEmpty(), "the front door ran nothing");
    }

    @Test
    void aReplicaConsumesNoMoreThanMaxInFlightUnfinishedRequests() throws Exception {
        Replica replica = new Replica(true).consuming();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3 * MAX_IN_FLIGHT; i++) {
            String id = "pressure-" + i + "-" + run;
            ids.add(id);
            producer.send(new ProducerRecord<>(settings.requestsTopic(), id,
                    JSON.writeValueAsBytes(request(id, null)))).get(30, TimeUnit.SECONDS);
        }
        assertTrue(replica.stages.denoiseStarted.await(60, TimeUnit.SECONDS));
        // Held generations never finish on their own: whatever the replica took stays in flight.
        Thread.sleep(3000);
        List<String> taken = ids.stream().filter(id -> replica.statuses.get(id) != null).toList();
        assertEquals(MAX_IN_FLIGHT, taken.size(), "requests taken while " + MAX_IN_FLIGHT + " were unfinished: " + taken);
        assertEquals(MAX_IN_FLIGHT, replica.consumer.inFlight());

        replica.stages.holdDenoise = false;
        taken.forEach(replica.generations::cancel);
        List<String> outcomes = new ArrayList<>();
        for (String id : ids) outcomes.add(eventsUntilTerminal(id).stream().filter(e -> terminal(e.toString()))
                .findFirst().orElseThrow().get("type").asText());
        assertEquals(MAX_IN_FLIGHT, outcomes.stream().filter(GenerationEvent.CANCELLED::equals).count(), outcomes.toString());
        assertEquals(2L * MAX_IN_FLIGHT, outcomes.stream().filter(GenerationEvent.COMPLETED::equals).count(),
                "the paused requests ran once the first ones ended: " + outcomes);
    }

    @Test
    void aThousandQueuedRequestsWaitOnTheBrokerWhileAReplicaHoldsOnlyMaxInFlight() throws Exception {
        Replica replica = new Replica(true).consuming();
        int queued = 1000;
        List<String> ids = new ArrayList<>();
        List<Future<?>> sent = new ArrayList<>();
        for (int i = 0; i < queued; i++) {
            String id = "queued-" + i + "-" + run;
            ids.add(id);
            sent.add(producer.send(new ProducerRecord<>(settings.requestsTopic(), id,
                    JSON.writeValueAsBytes(request(id, null)))));
        }
        for (var f : sent) f.get(30, TimeUnit.SECONDS);
        assertTrue(replica.stages.denoiseStarted.await(60, TimeUnit.SECONDS));
        Thread.sleep(3000);

        // The replica knows only the requests it took; the rest are neither parsed nor held, only on the broker.
        List<String> taken = ids.stream().filter(id -> replica.statuses.get(id) != null).toList();
        assertEquals(MAX_IN_FLIGHT, taken.size(), "requests taken while " + MAX_IN_FLIGHT + " were unfinished: " + taken.size());
        assertEquals(MAX_IN_FLIGHT, replica.consumer.inFlight());
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            TopicPartition partition = new TopicPartition(settings.requestsTopic(), 0);
            long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                    .get(30, TimeUnit.SECONDS).offset();
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(settings.groupId()).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(partition);
            assertEquals(queued, end);
            // Nothing finished, so nothing is committed: a crash now loses none of the 1000.
            assertTrue(committed == null || committed.offset() == 0, "committed " + committed);
        }
    }
}
