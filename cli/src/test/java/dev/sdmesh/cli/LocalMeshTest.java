package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.runtime.image.PngWriter;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole system as a user runs it: the CLI's own code starts the mesh (embedded Kafka and S3, text-encoder, two
 * unet replicas, vae, orchestrator as separate processes on loopback), generates through each front door, survives
 * killed processes, and stops everything it started.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalMeshTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path stateDir;
    private static MeshLayout layout;
    private static MeshState state;

    @BeforeAll
    static void up() throws Exception {
        stateDir = Files.createTempDirectory("sdmesh-e2e");
        layout = TestMesh.layout(stateDir);
        long t0 = System.nanoTime();
        UpCommand.ensureDefaultModel(layout);
        long t1 = System.nanoTime();
        state = UpCommand.start(layout, 2, "cpu", Duration.ofSeconds(300));
        System.out.printf("[e2e] tiny model generated in %.1f s; mesh up and healthy in %.1f s%n",
                (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
    }

    @AfterAll
    static void down() {
        if (state != null) {
            DownCommand.stop(state);
            for (MeshState.Service s : state.services) {
                assertFalse(s.alive(), s.name() + " still running after down");
            }
        }
        TestMesh.deleteQuietly(stateDir);
    }

    private static ObjectNode request(String prompt, int steps) {
        GenerateCommand command = new GenerateCommand();
        command.prompt = prompt;
        command.steps = steps;
        command.size = "64x64";
        command.seed = "7";
        return command.request();
    }

    @Test
    @Order(1)
    void generatesThroughKafkaGrpcAndRest() throws Exception {
        for (String via : List.of("kafka", "grpc", "rest")) {
            long t0 = System.nanoTime();
            List<Path> images = GenerateCommand.generate(state, request("a lighthouse at dusk", 20), via,
                    stateDir.resolve("out-" + via), 300);
            System.out.printf("[e2e] 64x64, 20 steps via %s: %.0f ms end to end%n", via, (System.nanoTime() - t0) / 1e6);
            assertEquals(1, images.size(), via);
            byte[] png = Files.readAllBytes(images.get(0));
            var image = ImageIO.read(new ByteArrayInputStream(png));
            assertEquals(64, image.getWidth(), via);
            assertEquals(64, image.getHeight(), via);
            String infotext = PngWriter.readText(png).get("parameters");
            assertTrue(infotext != null && infotext.startsWith("a lighthouse at dusk") && infotext.contains("Steps: 20")
                    && infotext.contains("Seed: 7"), via + ": " + infotext);
        }
    }

    @Test
    @Order(2)
    void statusJsonNamesTheEndpoints() {
        JsonNode status = StatusCommand.toJson(state);
        for (String key : List.of("kafka", "s3", "rest", "grpc")) {
            assertTrue(status.hasNonNull(key), key);
        }
        assertTrue(status.path("running").asBoolean());
        status.path("services").forEach(s -> assertTrue(s.path("healthy").asBoolean(), s.toString()));
    }

    @Test
    @Order(3)
    void killingOneOfTwoUnetReplicasLosesNoRequest() throws Exception {
        try (Events events = new Events(state.kafka)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 8; i++) ids.add(events.publish(request("replica fault " + i, 40)));
            events.await(e -> e.path("type").asText().equals("progress"), Duration.ofMinutes(2));
            MeshState.Service victim = state.service("unet-svc-1").orElseThrow();
            ProcessHandle.of(victim.pid()).ifPresent(ProcessHandle::destroyForcibly);
            Map<String, List<String>> terminal = events.awaitTerminal(ids, Duration.ofMinutes(5));
            ids.forEach(id -> assertEquals(List.of("completed"), terminal.get(id), id));
        }
        UpCommand.restart(layout, state, List.of(state.service("unet-svc-1").orElseThrow()), Duration.ofMinutes(3));
    }

    @Test
    @Order(4)
    void orchestratorKilledMidRunFinishesEveryRequestExactlyOnce() throws Exception {
        try (Events events = new Events(state.kafka)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) ids.add(events.publish(request("orchestrator fault " + i, 60)));
            events.await(e -> e.path("type").asText().equals("progress"), Duration.ofMinutes(2));
            MeshState.Service orchestrator = state.service("orchestrator").orElseThrow();
            ProcessHandle.of(orchestrator.pid()).ifPresent(ProcessHandle::destroyForcibly);
            UpCommand.restart(layout, state, List.of(orchestrator), Duration.ofMinutes(3));
            Map<String, List<String>> terminal = events.awaitTerminal(ids, Duration.ofMinutes(5));
            // Give duplicates a chance to show up before counting.
            Thread.sleep(3000);
            terminal = events.terminalSoFar(ids);
            for (String id : ids) assertEquals(List.of("completed"), terminal.get(id), id);
        }
    }

    @Test
    @Order(5)
    void orchestratorReconnectsAfterTheBrokerRestarts() throws Exception {
        MeshState.Service kafka = state.service("kafka").orElseThrow();
        ProcessLauncher.stop(kafka.pid(), Duration.ofSeconds(20));
        UpCommand.restart(layout, state, List.of(state.service("kafka").orElseThrow()), Duration.ofMinutes(2));
        List<Path> images = GenerateCommand.generate(state, request("after the broker restart", 4), "kafka",
                stateDir.resolve("out-restart"), 300);
        assertEquals(1, images.size());
    }

    /** Publishes requests and collects every event from the moment it was opened. */
    private static final class Events implements AutoCloseable {
        private final KafkaProducer<String, String> producer;
        private final KafkaConsumer<String, String> consumer;
        private final List<JsonNode> seen = new ArrayList<>();

        Events(String bootstrap) {
            producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer());
            consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.GROUP_ID_CONFIG, "e2e-" + UUID.randomUUID(),
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest"), new StringDeserializer(), new StringDeserializer());
            var partitions = consumer.partitionsFor(KafkaGenerationClient.EVENTS, Duration.ofSeconds(30)).stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
        }

        String publish(ObjectNode request) throws Exception {
            String id = request.path("requestId").asText();
            producer.send(new ProducerRecord<>(KafkaGenerationClient.REQUESTS, id, JSON.writeValueAsString(request))).get();
            return id;
        }

        private void poll() throws Exception {
            for (var record : consumer.poll(Duration.ofMillis(200))) seen.add(JSON.readTree(record.value()));
        }

        JsonNode await(Predicate<JsonNode> match, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (JsonNode e : seen) if (match.test(e)) return e;
                poll();
            }
            throw new AssertionError("no matching event within " + timeout);
        }

        Map<String, List<String>> terminalSoFar(List<String> ids) throws Exception {
            poll();
            Map<String, List<String>> terminal = new HashMap<>();
            Set<String> wanted = new HashSet<>(ids);
            for (JsonNode e : seen) {
                String type = e.path("type").asText();
                String id = e.path("requestId").asText();
                if (wanted.contains(id) && Set.of("completed", "failed", "cancelled").contains(type)) {
                    terminal.computeIfAbsent(id, k -> new ArrayList<>()).add(type);
                }
            }
            return terminal;
        }

        Map<String, List<String>> awaitTerminal(List<String> ids, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                Map<String, List<String>> terminal = terminalSoFar(ids);
                if (terminal.keySet().containsAll(ids)) return terminal;
            }
            throw new AssertionError("not every request ended within " + timeout + ": " + terminalSoFar(ids));
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
            consumer.close(Duration.ofSeconds(5));
        }
    }
}
