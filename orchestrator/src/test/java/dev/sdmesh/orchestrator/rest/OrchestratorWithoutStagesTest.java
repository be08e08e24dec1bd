package dev.sdmesh.orchestrator.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.TopicReader;
import dev.sdmesh.orchestrator.storage.MinioImageStore;
import dev.sdmesh.proto.v1.Generation;
import dev.sdmesh.proto.v1.GenerationRequest;
import dev.sdmesh.proto.v1.ImageGenerationGrpc;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.testkit.KafkaTestResource;
import dev.sdmesh.testkit.S3TestResource;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.common.annotation.Identifier;
import jakarta.inject.Inject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The orchestrator on a real Kafka broker and S3 server with every stage down (their addresses point at a closed
 * port): validation on all three entries, REST and gRPC requests through the requests topic, DLQ and commits on the
 * Kafka side, terminal events for requests the stages cannot serve, status from events other replicas wrote, and
 * readiness.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3TestResource.class)
class OrchestratorWithoutStagesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URL base;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @Inject
    MinioImageStore store;

    private HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(base.toURI().resolve(path)).timeout(Duration.ofSeconds(60));
        if (headers.length > 0) r = r.headers(headers);
        r = body == null ? r.method(method, HttpRequest.BodyPublishers.noBody())
                : r.method(method, HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return JSON.readTree(response.body());
    }

    @Test
    void restValidationAnswersAProblemNamingTheField() throws Exception {
        HttpResponse<String> r = send("POST", "/v1/generations", "{\"requestId\":\"rest-bad\",\"width\":513}");
        assertEquals(400, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"));
        assertEquals("width", json(r).get("field").asText());
        assertTrue(json(r).get("detail").asText().contains("multiple of 8"));

        r = send("GET", "/v1/generations/never-seen", null);
        assertEquals(404, r.statusCode());
        assertEquals("not_found", json(r).get("type").asText());

        r = send("POST", "/sdapi/v1/txt2img", "{\"prompt\":\"x\",\"cfg_scale\":99}");
        assertEquals(400, r.statusCode());
        assertEquals("cfg_scale", json(r).get("field").asText());
    }

    @Test
    void restRequestTheStagesCannotServeEndsFailed() throws Exception {
        String id = "rest-" + UUID.randomUUID();
        HttpResponse<String> r = send("POST", "/v1/generations", "{\"requestId\":\"" + id + "\",\"prompt\":\"a cat\",\"steps\":2}");
        assertEquals(202, r.statusCode(), r.body());
        assertEquals(id, json(r).get("requestId").asText());
        JsonNode status = null;
        for (int i = 0; i < 100; i++) {
            status = json(send("GET", "/v1/generations/" + id, null));
            if (status.get("status").asText().equals("failed")) break;
            Thread.sleep(200);
        }
        assertEquals("failed", status.get("status").asText(), status.toString());
        assertEquals("unavailable", status.at("/error/code").asText());

        JsonNode listed = listed(id);
        assertEquals("failed", listed.get("status").asText(), listed.toString());
        assertEquals("unavailable", listed.at("/error/code").asText());
        assertFalse(Instant.parse(listed.get("created").asText()).isAfter(Instant.parse(listed.get("finished").asText())),
                listed.toString());
        assertFalse(listed.has("images") || listed.has("infotext"), listed.toString());
    }

    /** The generation's entry in {@code GET /v1/generations} at the largest limit. */
    private JsonNode listed(String id) throws Exception {
        HttpResponse<String> r = send("GET", "/v1/generations?limit=100", null);
        assertEquals(200, r.statusCode(), r.body());
        for (JsonNode g : json(r).get("generations")) {
            if (g.get("requestId").asText().equals(id)) return g;
        }
        throw new AssertionError(id + " not listed: " + r.body());
    }

    @Test
    void listingLimitOutsideItsRangeIsAProblemNamingLimit() throws Exception {
        for (String limit : List.of("0", "101", "-3", "ten")) {
            HttpResponse<String> r = send("GET", "/v1/generations?limit=" + limit, null);
            assertEquals(400, r.statusCode(), limit + ": " + r.body());
            assertEquals("limit", json(r).get("field").asText());
            assertTrue(json(r).get("detail").asText().contains("[1, 100]"), r.body());
        }
        String first = "list-" + UUID.randomUUID();
        String second = "list-" + UUID.randomUUID();
        for (String id : List.of(first, second)) {
            assertEquals(202, send("POST", "/v1/generations", "{\"requestId\":\"" + id + "\",\"steps\":2}").statusCode());
            Thread.sleep(5); // distinct creation times, so that the order below is by time and not by id
        }
        JsonNode newest = json(send("GET", "/v1/generations?limit=2", null)).get("generations");
        assertEquals(List.of(second, first), List.of(newest.get(0).get("requestId").asText(), newest.get(1).get("requestId").asText()),
                newest.toString());
        assertEquals(1, json(send("GET", "/v1/generations?limit=1", null)).get("generations").size());
    }

    @Test
    void a1111OptionsProgressAndInterruptAnswerWithA1111FieldNames() throws Exception {
        JsonNode options = json(send("GET", "/sdapi/v1/options", null));
        assertEquals("model", options.get("sd_model_checkpoint").asText());
        assertEquals(1, options.get("CLIP_stop_at_last_layers").asInt());
        assertEquals("png", options.get("samples_format").asText());

        JsonNode progress = json(send("GET", "/sdapi/v1/progress", null));
        for (String field : List.of("progress", "eta_relative", "state", "current_image", "textinfo")) {
            assertTrue(progress.has(field), field + " in " + progress);
        }
        assertEquals(0.0, progress.get("progress").asDouble(), "no A1111 job runs");
        JsonNode state = progress.get("state");
        for (String field : List.of("skipped", "interrupted", "job", "job_count", "job_timestamp", "job_no", "sampling_step", "sampling_steps")) {
            assertTrue(state.has(field), field + " in " + state);
        }
        assertEquals(0, state.get("job_count").asInt());
        assertEquals("", state.get("job").asText());

        HttpResponse<String> interrupt = send("POST", "/sdapi/v1/interrupt", null);
        assertEquals(200, interrupt.statusCode(), interrupt.body());
        assertEquals(0, json(interrupt).size(), "A1111 answers an empty object: " + interrupt.body());
    }

    @Test
    void modelsComeFromTheModelsDirectory() throws Exception {
        JsonNode models = json(send("GET", "/v1/models", null));
        assertEquals("model", models.get("default").asText());
        assertEquals(64, models.at("/models/0/defaultSize").asInt(), "reference UNet sample_size 8 * 8");
        assertEquals("PNDMScheduler", models.at("/models/0/scheduler").asText());
        JsonNode a1111 = json(send("GET", "/sdapi/v1/sd-models", null));
        assertEquals("model", a1111.get(0).get("model_name").asText());
    }

    @Test
    void grpcValidationIsInvalidArgumentWithTheField() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", base.getPort()).usePlaintext().build();
        try {
            awaitServing(channel);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ImageGenerationGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS)
                    .generate(GenerationRequest.newBuilder().setRequestId("grpc-bad").setSteps(500).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("steps", GrpcErrors.violatedField(e));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void readinessReportsStorageKafkaAndEachStage() throws Exception {
        HttpResponse<String> r = send("GET", "/q/health/ready", null);
        assertEquals(503, r.statusCode(), "stages are down");
        Map<String, String> checks = new HashMap<>();
        json(r).get("checks").forEach(c -> checks.put(c.get("name").asText(), c.get("status").asText()));
        assertEquals("UP", checks.get("storage"), r.body());
        assertEquals("DOWN", checks.get("sdmesh stages"), r.body());
        assertTrue(checks.entrySet().stream().anyMatch(c -> c.getKey().toLowerCase().contains("kafka") && c.getValue().equals("UP")), r.body());
    }

    @Test
    void kafkaPoisonRecordsGoToTheDlqAndEveryOffsetIsCommittedAfterItsTerminalEvent() throws Exception {
        String bad = "kafka-bad-" + UUID.randomUUID();
        String ok = "kafka-ok-" + UUID.randomUUID();
        String notJson = "{\"requestId\":\"" + bad + "-raw\", broken";
        String cancelled = "kafka-cancel-" + UUID.randomUUID();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config(Map.of(
                "key.serializer", StringSerializer.class, "value.serializer", StringSerializer.class)))) {
            producer.send(new ProducerRecord<>("sdmesh.generation.requests", "p", notJson)).get(30, TimeUnit.SECONDS);
            producer.send(new ProducerRecord<>("sdmesh.generation.requests", "p", "{\"requestId\":\"" + bad + "\",\"steps\":999}")).get(30, TimeUnit.SECONDS);
            producer.send(new ProducerRecord<>("sdmesh.generation.requests", "p", "{\"requestId\":\"" + ok + "\",\"steps\":2}")).get(30, TimeUnit.SECONDS);
            ProducerRecord<String, String> cancel = new ProducerRecord<>("sdmesh.generation.requests", cancelled, null);
            cancel.headers().add("sdmesh-control", "cancel".getBytes(StandardCharsets.US_ASCII));
            producer.send(cancel).get(30, TimeUnit.SECONDS);
        }

        List<ConsumerRecord<String, String>> dlq = consume("sdmesh.generation.requests.dlq",
                records -> records.stream().anyMatch(r -> r.value().contains(bad + "\"")) && records.stream().anyMatch(r -> r.value().equals(notJson)));
        ConsumerRecord<String, String> invalid = dlq.stream().filter(r -> r.value().contains(bad + "\"")).findFirst().orElseThrow();
        assertEquals("steps", header(invalid, "dead-letter-field"));
        assertTrue(header(invalid, "dead-letter-reason").contains("[1, 150]"));
        assertEquals("sdmesh.generation.requests", header(invalid, "dead-letter-topic"));

        List<ConsumerRecord<String, String>> events = consume("sdmesh.generation.events", records ->
                records.stream().anyMatch(r -> r.key().equals(ok) && r.value().contains("\"failed\""))
                        && records.stream().anyMatch(r -> r.key().equals(bad)));
        JsonNode badEvent = JSON.readTree(events.stream().filter(r -> r.key().equals(bad)).findFirst().orElseThrow().value());
        assertEquals("failed", badEvent.get("type").asText());
        assertEquals("steps", badEvent.at("/error/field").asText());
        assertTrue(events.stream().anyMatch(r -> r.key().equals(bad + "-raw")), "a requestId read from broken JSON still gets its failed event");
        List<String> okTypes = new ArrayList<>();
        for (ConsumerRecord<String, String> r : events) {
            if (r.key().equals(ok)) okTypes.add(JSON.readTree(r.value()).get("type").asText());
        }
        assertEquals(List.of("accepted", "failed"), okTypes);
        assertFalse(dlq.stream().anyMatch(r -> cancelled.equals(r.key())), "a cancel is a control record, not poison");
        assertFalse(events.stream().anyMatch(r -> cancelled.equals(r.key())), "cancelling an unknown generation writes nothing");

        // Every record reached its terminal event, so the group's commits reach the end of every partition.
        try (Admin admin = Admin.create(config(Map.of()))) {
            Map<TopicPartition, Long> ends = new HashMap<>();
            for (int p = 0; p < 3; p++) ends.put(new TopicPartition("sdmesh.generation.requests", p), 0L);
            ListOffsetsResult latest = admin.listOffsets(ends.keySet().stream().collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest())));
            for (TopicPartition tp : ends.keySet()) ends.put(tp, latest.partitionResult(tp).get(30, TimeUnit.SECONDS).offset());
            Map<TopicPartition, OffsetAndMetadata> committed = Map.of();
            for (int i = 0; i < 100; i++) {
                committed = admin.listConsumerGroupOffsets("sdmesh-orchestrator").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                Map<TopicPartition, OffsetAndMetadata> c = committed;
                if (ends.entrySet().stream().allMatch(e -> e.getValue() == 0 || (c.get(e.getKey()) != null && c.get(e.getKey()).offset() == e.getValue()))) break;
                Thread.sleep(200);
            }
            for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
                if (e.getValue() == 0) continue;
                assertEquals(e.getValue(), committed.get(e.getKey()).offset(), "committed offset of " + e.getKey());
            }
        }
    }

    @Test
    void restAndGrpcRequestsGoThroughTheRequestsTopicAndEndInExactlyOneTerminalEvent() throws Exception {
        String restId = "durable-rest-" + UUID.randomUUID();
        String grpcId = "durable-grpc-" + UUID.randomUUID();
        byte[] init = "an init image".getBytes(StandardCharsets.UTF_8);
        String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        String grpcTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        HttpResponse<String> accepted = send("POST", "/v1/generations", "{\"requestId\":\"" + restId + "\",\"steps\":2,"
                + "\"strength\":0.5,\"initImage\":\"" + Base64.getEncoder().encodeToString(init) + "\"}", "traceparent", traceparent);
        assertEquals(202, accepted.statusCode(), accepted.body());
        assertEquals(restId, json(accepted).get("requestId").asText(), accepted.body());

        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", base.getPort()).usePlaintext().build();
        try {
            awaitServing(channel);
            Metadata metadata = new Metadata();
            metadata.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), grpcTraceparent);
            Generation failed = ImageGenerationGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
                    .generate(GenerationRequest.newBuilder().setRequestId(grpcId).setSteps(2).build());
            assertEquals("failed", failed.getStatus(), failed.toString());
            assertEquals("unavailable", failed.getErrorCode(), failed.toString());
        } finally {
            channel.shutdownNow();
        }

        List<ConsumerRecord<String, String>> requests = consume("sdmesh.generation.requests", records ->
                records.stream().anyMatch(r -> restId.equals(r.key())) && records.stream().anyMatch(r -> grpcId.equals(r.key())));
        ConsumerRecord<String, String> rest = requests.stream().filter(r -> restId.equals(r.key())).findFirst().orElseThrow();
        assertChildOf(traceparent, header(rest, "traceparent"));
        ConsumerRecord<String, String> grpc = requests.stream().filter(r -> grpcId.equals(r.key())).findFirst().orElseThrow();
        assertChildOf(grpcTraceparent, header(grpc, "traceparent"));
        String reference = JSON.readTree(rest.value()).get("initImage").asText();
        assertTrue(reference.matches("s3://sdmesh-images/\\d{4}/\\d{2}/\\d{2}/" + restId + "/init\\.png"), rest.value());
        assertArrayEquals(init, store.get(reference.substring("s3://sdmesh-images/".length())), "the inline image is in the bucket");

        for (String id : List.of(restId, grpcId)) {
            List<String> types = consume("sdmesh.generation.events", records -> records.stream()
                    .anyMatch(r -> id.equals(r.key()) && r.value().contains("\"failed\""))).stream()
                    .filter(r -> id.equals(r.key())).map(r -> readType(r.value())).toList();
            assertEquals(List.of("accepted", "failed"), types, id);
        }
    }

    /** The caller's trace continues through Kafka from the front door's own server span, a child of the caller's. */
    private static void assertChildOf(String caller, String published) {
        assertNotNull(published, "no traceparent on the request record");
        String[] c = caller.split("-");
        String[] p = published.split("-");
        assertEquals(c[1], p[1], "same trace: " + published);
        assertNotEquals(c[2], p[2], "the front door's span, not the caller's: " + published);
    }

    @Test
    void statusWrittenByAnotherReplicaIsAnsweredHereAndALateProgressDoesNotReopenIt() throws Exception {
        String id = "elsewhere-" + UUID.randomUUID();
        long now = System.currentTimeMillis();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config(Map.of(
                "key.serializer", StringSerializer.class, "value.serializer", StringSerializer.class)))) {
            for (String event : List.of(
                    "{\"type\":\"accepted\",\"requestId\":\"" + id + "\",\"time\":" + now + "}",
                    "{\"type\":\"completed\",\"requestId\":\"" + id + "\",\"time\":" + (now + 20) + ",\"infotext\":\"made elsewhere\","
                            + "\"images\":[{\"index\":0,\"key\":\"2026/01/01/" + id + "/0.png\",\"seed\":\"5\"}]}",
                    "{\"type\":\"progress\",\"requestId\":\"" + id + "\",\"time\":" + (now + 10) + ",\"step\":1,\"total\":2}")) {
                producer.send(new ProducerRecord<>("sdmesh.generation.events", id, event)).get(30, TimeUnit.SECONDS);
            }
        }
        JsonNode status = null;
        for (int i = 0; i < 150; i++) {
            HttpResponse<String> r = send("GET", "/v1/generations/" + id, null);
            status = r.statusCode() == 200 ? json(r) : null;
            if (status != null && status.get("status").asText().equals("succeeded")) break;
            Thread.sleep(200);
        }
        assertEquals("succeeded", status == null ? null : status.get("status").asText(), String.valueOf(status));
        assertEquals("made elsewhere", status.get("infotext").asText());
        // The late progress was written after the completed event: once it is read, the status must not have moved.
        consume("sdmesh.generation.events", records -> records.stream().anyMatch(r -> id.equals(r.key()) && r.value().contains("\"progress\"")));
        Thread.sleep(500);
        assertEquals("succeeded", json(send("GET", "/v1/generations/" + id, null)).get("status").asText());
        assertEquals("2026/01/01/" + id + "/0.png", listed(id).at("/images/0/key").asText());
    }

    private static String readType(String event) {
        try {
            return JSON.readTree(event).get("type").asText();
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + event, e);
        }
    }

    private static void awaitServing(ManagedChannel channel) throws InterruptedException {
        var health = HealthGrpc.newBlockingStub(channel);
        for (int i = 0; i < 100; i++) {
            try {
                if (health.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus()
                        == HealthCheckResponse.ServingStatus.SERVING) return;
            } catch (StatusRuntimeException e) {
                // not serving yet
            }
            Thread.sleep(100);
        }
    }

    private Map<String, Object> config(Map<String, Object> extra) {
        Map<String, Object> c = new HashMap<>(kafka);
        c.putAll(extra);
        return c;
    }

    private List<ConsumerRecord<String, String>> consume(String topic, Predicate<List<ConsumerRecord<String, String>>> enough) {
        return TopicReader.readUntil(kafka, topic, Duration.ofSeconds(60), enough);
    }

    private static String header(ConsumerRecord<String, String> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
