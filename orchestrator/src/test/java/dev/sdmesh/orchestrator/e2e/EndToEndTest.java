package dev.sdmesh.orchestrator.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole generations through the real stage services (child JVMs on the reference model), Kafka and S3: REST, Kafka
 * with redelivery, and the A1111 API. Skips while the stage jars are not packaged.
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
        JsonNode status = null;
        for (int i = 0; i < 600; i++) {
            status = json(send("GET", "/v1/generations/" + id, null));
            if (List.of("succeeded", "failed", "cancelled").contains(status.get("status").asText())) break;
            Thread.sleep(200);
        }
        assertEquals("succeeded", status.get("status").asText(), status.toString());
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

    /** The events of a request until {@code terminals} terminal events have been seen. */
    private List<JsonNode> events(String id, int terminals) throws Exception {
        Map<String, Object> c = new HashMap<>(kafka);
        c.put("group.id", "e2e-" + UUID.randomUUID());
        c.put("auto.offset.reset", "earliest");
        c.put("key.deserializer", StringDeserializer.class);
        c.put("value.deserializer", StringDeserializer.class);
        List<JsonNode> events = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
            consumer.subscribe(List.of("sdmesh.generation.events"));
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (System.nanoTime() < deadline && events.stream().filter(EndToEndTest::terminal).count() < terminals) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (id.equals(r.key())) events.add(JSON.readTree(r.value()));
                }
            }
        }
        assertEquals(terminals, events.stream().filter(EndToEndTest::terminal).count(), events.toString());
        assertTrue(events.stream().filter(EndToEndTest::terminal).allMatch(e -> e.get("type").asText().equals("completed")), events.toString());
        return events;
    }

    private static boolean terminal(JsonNode e) {
        return List.of("completed", "failed", "cancelled").contains(e.get("type").asText());
    }
}
