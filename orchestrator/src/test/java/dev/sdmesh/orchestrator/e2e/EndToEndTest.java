package dev.sdmesh.orchestrator.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.TopicReader;
import dev.sdmesh.orchestrator.api.GenerationList;
import dev.sdmesh.orchestrator.kafka.StatusReplay;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.proto.v1.Generation;
import dev.sdmesh.proto.v1.GenerationRequest;
import dev.sdmesh.proto.v1.ImageGenerationGrpc;
import dev.sdmesh.runtime.tensor.Npy;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import dev.sdmesh.testkit.KafkaTestResource;
import dev.sdmesh.testkit.S3TestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.common.annotation.Identifier;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole generations through the real stage services (child JVMs on the reference model), Kafka and S3: REST (through
 * the requests topic), Kafka with redelivery, and the A1111 API. Skips while the stage jars are not packaged.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3TestResource.class)
@WithTestResource(StagesTestResource.class)
class EndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TestHTTPResource("/")
    URL base;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    /** The application's mapper, as the replay on start uses it. */
    @Inject
    ObjectMapper mapper;

    @BeforeEach
    void requireStages() {
        Assumptions.assumeTrue(StagesTestResource.runnable(), StagesTestResource::skipReason);
    }

    private HttpResponse<byte[]> send(String method, String path, String body) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(base.toURI().resolve(path)).timeout(Duration.ofMinutes(5));
        r = body == null ? r.method(method, HttpRequest.BodyPublishers.noBody())
                : r.method(method, HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static JsonNode readJson(String text) {
        try {
            return JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    private static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    private static void assertPng(byte[] bytes) {
        byte[] head = new byte[8];
        System.arraycopy(bytes, 0, head, 0, 8);
        assertArrayEquals(PNG_SIGNATURE, head);
    }

    @Test
    void restGenerationStoresPngWithInfotextAndLatents() throws Exception {
        String id = "e2e-rest-" + UUID.randomUUID();
        HttpResponse<byte[]> accepted = send("POST", "/v1/generations",
                "{\"requestId\":\"" + id + "\",\"prompt\":\"a cat\",\"steps\":3,\"seed\":1,\"returnLatents\":true}");
        assertEquals(202, accepted.statusCode(), new String(accepted.body()));
        JsonNode status = awaitTerminal(id);
        assertEquals("succeeded", status.get("status").asText(), status.toString());
        assertEquals(1, requestRecords(id).size(), "the REST request went through the requests topic");
        events(id, 1);
        assertTrue(status.at("/images/0/key").asText().endsWith("/" + id + "/0.png"));
        assertTrue(status.get("infotext").asText().contains("Steps: 3"), status.toString());

        HttpResponse<byte[]> png = send("GET", "/v1/generations/" + id + "/images/0", null);
        assertEquals(200, png.statusCode());
        assertPng(png.body());
        assertTrue(new String(png.body(), StandardCharsets.ISO_8859_1).contains("Steps: 3"), "infotext chunk written by the VAE");
        HttpResponse<byte[]> fromUrl = HTTP.send(HttpRequest.newBuilder(URI.create(status.at("/images/0/url").asText())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertArrayEquals(png.body(), fromUrl.body(), "presigned URL serves the same PNG");

        HttpResponse<byte[]> latents = send("GET", "/v1/generations/" + id + "/latents/0", null);
        assertEquals(200, latents.statusCode());
        assertArrayEquals(new long[]{1, 4, 8, 8}, Npy.parse(latents.body(), "latents").shape());

        JsonNode listed = listedIn(json(send("GET", "/v1/generations?limit=100", null)), id);
        assertListedAsCompleted(listed, status, png.body());
    }

    @Test
    void theListingIsRebuiltFromTheEventsTopicAsOnARestart() throws Exception {
        String id = "e2e-replay-" + UUID.randomUUID();
        assertEquals(202, send("POST", "/v1/generations", "{\"requestId\":\"" + id + "\",\"prompt\":\"an owl\",\"steps\":2,\"seed\":4}").statusCode());
        JsonNode status = awaitTerminal(id);
        assertEquals("succeeded", status.get("status").asText(), status.toString());

        StatusStore rebuilt = new StatusStore();
        Map<String, Object> c = new HashMap<>(kafka);
        c.put("key.deserializer", StringDeserializer.class);
        c.put("value.deserializer", ByteArrayDeserializer.class);
        c.put("enable.auto.commit", false);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c)) {
            StatusReplay.replay(consumer, "sdmesh.generation.events", rebuilt, mapper, Duration.ofSeconds(60));
        }
        JsonNode listed = listedIn(mapper.valueToTree(new GenerationList(rebuilt.recent(GenerationList.MAX_LIMIT))), id);
        assertListedAsCompleted(listed, status, send("GET", "/v1/generations/" + id + "/images/0", null).body());
    }

    /** A completed generation's listing: its times, infotext, and each image's key, seed and the URL serving it here. */
    private void assertListedAsCompleted(JsonNode listed, JsonNode status, byte[] png) throws Exception {
        assertEquals("succeeded", listed.get("status").asText(), listed.toString());
        assertEquals(status.get("infotext").asText(), listed.get("infotext").asText());
        assertFalse(Instant.parse(listed.get("created").asText()).isAfter(Instant.parse(listed.get("finished").asText())),
                listed.toString());
        assertEquals(status.get("images").size(), listed.get("images").size(), listed.toString());
        assertEquals(status.at("/images/0/key").asText(), listed.at("/images/0/key").asText());
        assertEquals(status.at("/images/0/seed").asText(), listed.at("/images/0/seed").asText());
        HttpResponse<byte[]> served = send("GET", listed.at("/images/0/url").asText(), null);
        assertEquals(200, served.statusCode(), listed.toString());
        assertArrayEquals(png, served.body(), "the listed URL serves the stored PNG");
    }

    private static JsonNode listedIn(JsonNode list, String id) {
        for (JsonNode g : list.get("generations")) {
            if (g.get("requestId").asText().equals(id)) return g;
        }
        throw new AssertionError(id + " not listed: " + list);
    }

    private JsonNode awaitTerminal(String id) throws Exception {
        JsonNode status = null;
        for (int i = 0; i < 600; i++) {
            status = json(send("GET", "/v1/generations/" + id, null));
            if (List.of("succeeded", "failed", "cancelled").contains(status.get("status").asText())) break;
            Thread.sleep(200);
        }
        return status;
    }

    @Test
    void kafkaRequestCompletesAndARedeliveryReemitsWithoutGeneratingAgain() throws Exception {
        String id = "e2e-kafka-" + UUID.randomUUID();
        String request = "{\"requestId\":\"" + id + "\",\"prompt\":\"a dog\",\"steps\":2,\"seed\":5,\"metadata\":{\"user\":\"u\"}}";
        Map<String, Object> producerConfig = new HashMap<>(kafka);
        producerConfig.put("key.serializer", StringSerializer.class);
        producerConfig.put("value.serializer", StringSerializer.class);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig)) {
            producer.send(new ProducerRecord<>("sdmesh.generation.requests", id, request)).get(30, TimeUnit.SECONDS);
            List<JsonNode> events = events(id, 1);
            producer.send(new ProducerRecord<>("sdmesh.generation.requests", id, request)).get(30, TimeUnit.SECONDS);
            List<JsonNode> again = events(id, 2);
            List<JsonNode> completed = again.stream().filter(e -> e.get("type").asText().equals("completed")).toList();
            assertEquals(2, completed.size());
            assertEquals("accepted", events.get(0).get("type").asText());
            assertEquals(1, again.stream().filter(e -> e.get("type").asText().equals("accepted")).count(), "accepted once: not generated again");
            assertEquals(completed.get(0).get("images"), completed.get(1).get("images"));
            assertEquals("5", completed.get(0).at("/seeds/0").asText());
            assertEquals("u", completed.get(0).at("/metadata/user").asText());
            assertTrue(completed.get(0).get("timingsMs").has("unet"));
        }
    }

    @Test
    void theKafkaRequestsTraceContinuesThroughEveryStageAndIntoItsEvents() throws Exception {
        String id = "e2e-trace-" + UUID.randomUUID();
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        Map<String, Object> producerConfig = new HashMap<>(kafka);
        producerConfig.put("key.serializer", StringSerializer.class);
        producerConfig.put("value.serializer", StringSerializer.class);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig)) {
            ProducerRecord<String, String> record = new ProducerRecord<>("sdmesh.generation.requests", id,
                    "{\"requestId\":\"" + id + "\",\"prompt\":\"a traced dog\",\"steps\":2,\"seed\":9}");
            record.headers().add("traceparent", ("00-" + traceId + "-" + callerSpan + "-01").getBytes(StandardCharsets.US_ASCII));
            producer.send(record).get(30, TimeUnit.SECONDS);
        }
        List<ConsumerRecord<String, String>> records = TopicReader.readUntil(kafka, "sdmesh.generation.events", Duration.ofMinutes(3),
                rs -> rs.stream().anyMatch(r -> id.equals(r.key()) && terminal(readJson(r.value()))));
        ConsumerRecord<String, String> end = records.stream().filter(r -> id.equals(r.key()) && terminal(readJson(r.value())))
                .findFirst().orElseThrow();
        assertEquals("completed", readJson(end.value()).get("type").asText());
        // The events carry the generation's own span, a child in the caller's trace, not the caller's span.
        String eventTrace = new String(end.headers().lastHeader("traceparent").value(), StandardCharsets.US_ASCII);
        assertTrue(eventTrace.startsWith("00-" + traceId + "-"), eventTrace);
        assertFalse(eventTrace.contains(callerSpan), eventTrace);
        // Each service exported spans of that trace: the orchestrator its own, the stages their gRPC server spans.
        for (String service : List.of("orchestrator", "text-encoder-svc", "unet-svc", "vae-svc")) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!OtlpReceiver.sentBy(service, traceId) && System.nanoTime() < deadline) Thread.sleep(200);
            assertTrue(OtlpReceiver.sentBy(service, traceId), service + " exported no span of trace " + traceId);
        }
    }

    @Test
    void a1111Txt2imgAnswersInA1111Shape() throws Exception {
        HttpResponse<byte[]> r = send("POST", "/sdapi/v1/txt2img", "{\"prompt\":\"a fox\",\"steps\":2,\"seed\":3,\"width\":64,\"height\":64}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode body = json(r);
        assertPng(Base64.getDecoder().decode(body.at("/images/0").asText()));
        assertEquals("Euler", body.at("/parameters/sampler_name").asText());
        assertEquals(7.0, body.at("/parameters/cfg_scale").asDouble());
        JsonNode info = JSON.readTree(body.get("info").asText());
        assertEquals(3, info.get("seed").asLong());
        assertTrue(info.at("/infotexts/0").asText().contains("Sampler: Euler, CFG scale: 7.0, Seed: 3, Size: 64x64"), info.toString());
    }

    @Test
    void a1111Img2imgEncodesTheInitImageThroughTheVae() throws Exception {
        JsonNode txt2img = json(send("POST", "/sdapi/v1/txt2img", "{\"prompt\":\"a fox\",\"steps\":2,\"seed\":3,\"width\":64,\"height\":64}"));
        String init = txt2img.at("/images/0").asText();
        HttpResponse<byte[]> r = send("POST", "/sdapi/v1/img2img", "{\"init_images\":[\"" + init + "\"],\"prompt\":\"a fox\","
                + "\"denoising_strength\":0.5,\"steps\":4,\"seed\":3,\"width\":64,\"height\":64}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode body = json(r);
        byte[] png = Base64.getDecoder().decode(body.at("/images/0").asText());
        assertPng(png);
        assertFalse(java.util.Arrays.equals(png, Base64.getDecoder().decode(init)), "img2img changes the image");
        JsonNode info = JSON.readTree(body.get("info").asText());
        assertTrue(info.at("/infotexts/0").asText().contains("Denoising strength: 0.5"), info.toString());

        HttpResponse<byte[]> badInit = send("POST", "/sdapi/v1/img2img", "{\"init_images\":[\"bm90IGFuIGltYWdl\"],\"steps\":2}");
        assertTrue(badInit.statusCode() >= 400 && badInit.statusCode() < 500, new String(badInit.body()));
    }

    @Test
    void grpcGenerateAndGenerateStreamRunTheSamePipeline() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", base.getPort()).usePlaintext().build();
        try {
            var stub = ImageGenerationGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            Generation done = stub.generate(GenerationRequest.newBuilder().setPrompt("a bird").setSteps(2).setSeed(9).build());
            assertEquals("succeeded", done.getStatus(), done.toString());
            assertEquals(9, done.getImages(0).getSeed());
            assertTrue(done.getInfotext().contains("Seed: 9"));

            List<String> types = new ArrayList<>();
            stub.generateStream(GenerationRequest.newBuilder().setRequestId("e2e-stream-" + UUID.randomUUID())
                    .setPrompt("a bird").setSteps(2).build()).forEachRemaining(e -> types.add(e.getType()));
            assertEquals("accepted", types.get(0));
            assertEquals("completed", types.get(types.size() - 1));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void cancellingARunningGenerationEndsItCancelled() throws Exception {
        String id = "e2e-cancel-" + UUID.randomUUID();
        send("POST", "/v1/generations", "{\"requestId\":\"" + id + "\",\"steps\":150,\"width\":256,\"height\":256}");
        String state = "";
        for (int i = 0; i < 600 && !state.equals("running") && !state.equals("succeeded"); i++) {
            state = json(send("GET", "/v1/generations/" + id, null)).get("status").asText();
            Thread.sleep(50);
        }
        assertEquals("running", state, "the generation must still run when cancelled");
        assertEquals(202, send("DELETE", "/v1/generations/" + id, null).statusCode());
        JsonNode status = null;
        for (int i = 0; i < 600; i++) {
            status = json(send("GET", "/v1/generations/" + id, null));
            if (!status.get("status").asText().equals("running")) break;
            Thread.sleep(100);
        }
        assertEquals("cancelled", status.get("status").asText(), status.toString());
        // The cancel also went to the requests topic, for whichever replica runs the generation.
        TopicReader.readUntil(kafka, "sdmesh.generation.requests", Duration.ofMinutes(1), records -> records.stream()
                .anyMatch(r -> id.equals(r.key()) && r.value() == null && r.headers().lastHeader("sdmesh-control") != null
                        && new String(r.headers().lastHeader("sdmesh-control").value(), StandardCharsets.US_ASCII).equals("cancel")));
        List<String> terminals = TopicReader.readUntil(kafka, "sdmesh.generation.events", Duration.ofMinutes(1),
                        records -> records.stream().anyMatch(r -> id.equals(r.key()) && terminal(readJson(r.value()))))
                .stream().filter(r -> id.equals(r.key())).map(r -> readJson(r.value()))
                .filter(EndToEndTest::terminal).map(e -> e.get("type").asText()).toList();
        assertEquals(List.of("cancelled"), terminals);
    }

    /** The records keyed by {@code id} on the requests topic, once there is one. */
    private List<ConsumerRecord<String, String>> requestRecords(String id) {
        return TopicReader.readUntil(kafka, "sdmesh.generation.requests", Duration.ofMinutes(1),
                records -> records.stream().anyMatch(r -> id.equals(r.key()))).stream().filter(r -> id.equals(r.key())).toList();
    }

    @Test
    void serverSentEventsCarryPreviewsAndEndWithTheTerminalEvent() throws Exception {
        String id = "e2e-sse-" + UUID.randomUUID();
        send("POST", "/v1/generations", "{\"requestId\":\"" + id + "\",\"steps\":4,\"previewEvery\":2}");
        HttpResponse<java.util.stream.Stream<String>> sse = HTTP.send(HttpRequest.newBuilder(
                base.toURI().resolve("/v1/generations/" + id + "/events")).timeout(Duration.ofMinutes(3)).build(),
                HttpResponse.BodyHandlers.ofLines());
        List<String> data = sse.body().filter(l -> l.startsWith("data:")).toList();
        assertTrue(data.get(data.size() - 1).contains("\"completed\""), data.toString());
        JsonNode preview = data.stream().map(l -> readJson(l.substring("data:".length())))
                .filter(e -> e.has("preview")).findFirst().orElseThrow(() -> new AssertionError("no preview in " + data));
        assertEquals("progress", preview.get("type").asText());
        assertPng(Base64.getDecoder().decode(preview.get("preview").asText()));
    }

    @Test
    void catalogueEndpointsAnswerFromTheStages() throws Exception {
        JsonNode tokens = json(send("POST", "/v1/tokenize", "{\"prompt\":\"a (cat:1.2)\"}"));
        assertEquals(49406, tokens.at("/ids/0").asInt(), "BOS first");
        assertEquals(77, tokens.at("/chunks/0").size());
        assertTrue(json(send("GET", "/v1/schedulers", null)).get("schedulers").size() > 0);
        JsonNode samplers = json(send("GET", "/sdapi/v1/samplers", null));
        boolean euler = false;
        for (JsonNode sampler : samplers) euler |= sampler.get("name").asText().equals("Euler");
        assertTrue(euler, samplers.toString());
        String metrics = new String(send("GET", "/q/metrics", null).body(), StandardCharsets.UTF_8);
        assertTrue(metrics.contains("sdmesh_stage_latency"), "per-stage latency exported");
    }

    @Test
    void poisonRecordsDoNotBlockTheirPartitionAndTheNextValidRequestCompletes() throws Exception {
        String run = UUID.randomUUID().toString();
        String notJson = "{\"requestId\":\"e2e-raw-" + run + "\", broken";
        String wrongType = "{\"requestId\":\"e2e-type-" + run + "\",\"steps\":\"many\"}";
        String outOfRange = "{\"requestId\":\"e2e-range-" + run + "\",\"steps\":999}";
        String valid = "e2e-valid-" + run;
        Map<String, Object> producerConfig = new HashMap<>(kafka);
        producerConfig.put("key.serializer", StringSerializer.class);
        producerConfig.put("value.serializer", StringSerializer.class);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig)) {
            // One key: all four on one partition, the valid request behind the three poison records.
            for (String record : List.of(notJson, wrongType, outOfRange,
                    "{\"requestId\":\"" + valid + "\",\"prompt\":\"a hen\",\"steps\":2,\"seed\":8}")) {
                producer.send(new ProducerRecord<>("sdmesh.generation.requests", run, record)).get(30, TimeUnit.SECONDS);
            }
        }

        events(valid, 1); // its one terminal event is completed
        Map<String, JsonNode> failures = new HashMap<>();
        TopicReader.readUntil(kafka, "sdmesh.generation.events", Duration.ofMinutes(1), records -> {
            records.stream().filter(r -> r.key().endsWith(run) && !r.key().equals(valid))
                    .forEach(r -> failures.put(r.key().substring(0, r.key().length() - run.length()), readJson(r.value())));
            return failures.size() == 3;
        });
        for (JsonNode failed : failures.values()) assertEquals("failed", failed.get("type").asText(), failed.toString());
        assertEquals("steps", failures.get("e2e-type-").at("/error/field").asText(), failures.toString());
        assertEquals("steps", failures.get("e2e-range-").at("/error/field").asText(), failures.toString());
        assertTrue(failures.get("e2e-range-").at("/error/message").asText().contains("[1, 150]"), failures.toString());

        List<ConsumerRecord<String, String>> dlq = TopicReader.readUntil(kafka, "sdmesh.generation.requests.dlq", Duration.ofMinutes(1),
                records -> records.stream().filter(r -> run.equals(r.key())).count() == 3);
        assertEquals(List.of(notJson, wrongType, outOfRange), dlq.stream().filter(r -> run.equals(r.key())).map(ConsumerRecord::value).toList(),
                "the raw records, in order");
        assertTrue(json(send("GET", "/v1/generations/" + valid, null)).get("infotext").asText().contains("Seed: 8"));
    }

    @Test
    void a1111ProgressReportsTheRunningJobAndInterruptEndsIt() throws Exception {
        CompletableFuture<HttpResponse<byte[]>> txt2img = HTTP.sendAsync(HttpRequest.newBuilder(base.toURI().resolve("/sdapi/v1/txt2img"))
                .timeout(Duration.ofMinutes(5)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a long fox\",\"steps\":150,\"width\":256,\"height\":256}")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        JsonNode progress = null;
        for (int i = 0; i < 600 && (progress == null || progress.at("/state/sampling_step").asInt() == 0); i++) {
            progress = json(send("GET", "/sdapi/v1/progress", null));
            Thread.sleep(50);
        }
        assertEquals(150, progress.at("/state/sampling_steps").asInt(), progress.toString());
        assertEquals(1, progress.at("/state/job_count").asInt(), progress.toString());
        assertFalse(progress.at("/state/job").asText().isEmpty(), progress.toString());
        double fraction = progress.get("progress").asDouble();
        assertTrue(fraction > 0 && fraction < 1, progress.toString());

        HttpResponse<byte[]> interrupt = send("POST", "/sdapi/v1/interrupt", null);
        assertEquals(200, interrupt.statusCode());
        HttpResponse<byte[]> interrupted = txt2img.get(2, TimeUnit.MINUTES);
        assertEquals(200, interrupted.statusCode(), new String(interrupted.body()));
        JsonNode body = json(interrupted);
        assertEquals(0, body.get("images").size(), "interrupted before any image was decoded");
        assertEquals(150, body.at("/parameters/steps").asInt());
        assertEquals("cancelled", json(send("GET", "/v1/generations/" + progress.at("/state/job").asText(), null)).get("status").asText());
        assertEquals(0, json(send("GET", "/sdapi/v1/progress", null)).at("/state/job_count").asInt(), "the job has left");
    }

    /** The events of a request until {@code terminals} terminal events have been seen; every terminal one completed. */
    private List<JsonNode> events(String id, int terminals) {
        List<JsonNode> events = TopicReader.readUntil(kafka, "sdmesh.generation.events", Duration.ofMinutes(3),
                        records -> records.stream().filter(r -> id.equals(r.key()) && terminal(readJson(r.value()))).count() >= terminals)
                .stream().filter(r -> id.equals(r.key())).map(r -> readJson(r.value())).toList();
        assertEquals(terminals, events.stream().filter(EndToEndTest::terminal).count(), events.toString());
        assertTrue(events.stream().filter(EndToEndTest::terminal).allMatch(e -> e.get("type").asText().equals("completed")), events.toString());
        return events;
    }

    private static boolean terminal(JsonNode e) {
        return List.of("completed", "failed", "cancelled").contains(e.get("type").asText());
    }
}
