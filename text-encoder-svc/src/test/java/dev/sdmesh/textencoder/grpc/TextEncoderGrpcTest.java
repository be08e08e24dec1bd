package dev.sdmesh.textencoder.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.PromptSyntax;
import dev.sdmesh.proto.v1.TextEncoderGrpc;
import dev.sdmesh.proto.v1.TokenChunk;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.service.TextEncoderModels;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TextEncoder through a real gRPC server on a random loopback port, on the reference model. */
@QuarkusTest
class TextEncoderGrpcTest {
    private static final double TOLERANCE = 1e-5;

    @TestHTTPResource("/")
    URL url;
    @Inject
    TextEncoderModels models;
    @Inject
    MeterRegistry metrics;

    private ManagedChannel channel;
    private TextEncoderGrpc.TextEncoderBlockingStub encoder;

    @BeforeEach
    void connect() throws Exception {
        ReferenceData.require();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        encoder = TextEncoderGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES);
        awaitServing();
    }

    @AfterEach
    void close() throws InterruptedException {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private void awaitServing() throws InterruptedException {
        var health = HealthGrpc.newBlockingStub(channel);
        for (int i = 0; i < 600; i++) {
            if (health.check(HealthCheckRequest.newBuilder().setService(TextEncoderReadiness.SERVICE).build()).getStatus()
                    == HealthCheckResponse.ServingStatus.SERVING) return;
            Thread.sleep(100);
        }
        throw new AssertionError("text-encoder-svc never became SERVING");
    }

    private static float[] floats(dev.sdmesh.proto.v1.Tensor tensor) {
        return TensorCodec.toFloats(tensor, "test");
    }

    /** "cat" is one token; digits are one token each, so n digits are n tokens in n characters. */
    private static String tokens(String word, int n) {
        return String.join(word.length() == 1 ? "" : " ", Collections.nCopies(n, word));
    }

    @Test
    void healthIsServingForTheServiceAndOverall() {
        var health = HealthGrpc.newBlockingStub(channel);
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                health.check(HealthCheckRequest.newBuilder().setService("sdmesh.v1.TextEncoder").build()).getStatus());
    }

    @Test
    void noneSyntaxEqualsDiffusersEmbeddingsOfThePublicCases() {
        JsonNode cases = ReferenceData.json("cases.json").get("cases");
        assertTrue(cases.size() > 0);
        for (JsonNode c : cases) {
            String id = c.get("id").asText();
            int batch = c.get("batch_size").asInt();
            EncodeRequest.Builder request = EncodeRequest.newBuilder().setRequestId(id).setModel("model")
                    .setPromptSyntax(PromptSyntax.NONE).setIncludeUnconditional(c.get("do_classifier_free_guidance").asBoolean());
            // A single string stands for the whole batch, as diffusers accepts it.
            for (int b = 0; b < batch; b++) request.addPrompts(c.get("prompt").isArray() ? c.get("prompt").get(b).asText() : c.get("prompt").asText());
            JsonNode negative = c.get("negative_prompt");
            if (negative.isArray()) negative.forEach(n -> request.addNegativePrompts(n.asText()));
            else if (!negative.isNull()) request.addNegativePrompts(negative.asText());

            EncodeResponse response = encoder.encode(request.build());
            assertArrayEquals(new long[]{batch, 77, 32}, TensorCodec.shape(response.getCondEmbeddings()), id);
            assertEquals(1, response.getChunks(), id);
            double cond = ReferenceData.maxAbsDiff(ReferenceData.npy("cases/" + id + "/cond_embeds.npy").toFloats(), floats(response.getCondEmbeddings()));
            assertTrue(cond <= TOLERANCE, id + " cond max abs diff " + cond);
            if (request.getIncludeUnconditional()) {
                double uncond = ReferenceData.maxAbsDiff(ReferenceData.npy("cases/" + id + "/uncond_embeds.npy").toFloats(), floats(response.getUncondEmbeddings()));
                assertTrue(uncond <= TOLERANCE, id + " uncond max abs diff " + uncond);
            }
            assertArrayEquals(new long[]{batch, 32}, TensorCodec.shape(response.getCondPooled()), id);
            assertEquals(batch, response.getTokenCountsCount(), id);
        }
    }

    @Test
    void tokenizeGivesTheTransformersIdsWithoutTruncation() {
        JsonNode cases = ReferenceData.json("tokenizer_cases.json").get("cases");
        int checked = 0;
        boolean sawLong = false;
        for (JsonNode c : cases) {
            if (checked == 8 && sawLong) break;
            int[] idsRaw = StreamSupport.stream(c.get("ids_raw").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
            if (checked >= 8 && idsRaw.length <= 77) continue;
            TokenizeResponse response = encoder.tokenize(TokenizeRequest.newBuilder().setModel("model")
                    .setPrompt(c.get("prompt").asText()).setPromptSyntax(PromptSyntax.NONE).build());
            String prompt = c.get("prompt").asText();
            assertArrayEquals(idsRaw, response.getIdsList().stream().mapToInt(Integer::intValue).toArray(), prompt);
            assertEquals(StreamSupport.stream(c.get("tokens").spliterator(), false).map(JsonNode::asText).toList(),
                    response.getTokensList(), prompt);
            assertEquals(1, response.getChunksCount(), prompt);
            int[] ids77 = StreamSupport.stream(c.get("ids_77").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
            assertArrayEquals(ids77, response.getChunks(0).getIdsList().stream().mapToInt(Integer::intValue).toArray(), prompt);
            sawLong |= idsRaw.length > 77;
            checked++;
        }
        assertTrue(sawLong, "the reference has a prompt longer than 77 ids");
    }

    @Test
    void a1111PromptOverSeventyFiveTokensHasTwoChunksOnBothSides() {
        String prompt = tokens("cat", 100);
        EncodeResponse response = encoder.encode(EncodeRequest.newBuilder().addPrompts(prompt)
                .setIncludeUnconditional(true).build());
        assertEquals(2, response.getChunks());
        assertArrayEquals(new long[]{1, 154, 32}, TensorCodec.shape(response.getCondEmbeddings()));
        assertArrayEquals(new long[]{1, 154, 32}, TensorCodec.shape(response.getUncondEmbeddings()));
        assertEquals(List.of(100), response.getTokenCountsList());

        TokenizeResponse tokens = encoder.tokenize(TokenizeRequest.newBuilder().setPrompt("(" + prompt + ":1.2)").build());
        assertEquals(2, tokens.getChunksCount());
        for (TokenChunk chunk : tokens.getChunksList()) {
            assertEquals(77, chunk.getIdsCount());
            assertEquals(77, chunk.getWeightsCount());
        }
        assertEquals(1.2f, tokens.getChunks(0).getWeights(1), 1e-6);
        assertEquals(1.0f, tokens.getChunks(0).getWeights(0), 0, "BOS keeps weight 1");
    }

    @Test
    void concurrentEncodesAreBatchedAndEqualTheirSeparateResults() throws Exception {
        List<EncodeRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(EncodeRequest.newBuilder().setRequestId("r" + i)
                    .addPrompts("a photo of " + i + " (cats:1.2) on mars").addPrompts(i % 2 == 0 ? "a dog" : tokens("dog", 90))
                    .addNegativePrompts("blurry").setIncludeUnconditional(i % 3 != 0)
                    .setPromptSyntax(i == 5 ? PromptSyntax.NONE : PromptSyntax.A1111).build());
        }
        List<EncodeResponse> alone = requests.stream().map(encoder::encode).toList();

        long runsBefore = models.runs();
        double encodesBefore = metrics.get("sdmesh.text_encoder.encodes").counter().count();
        long batchesBefore = metrics.get("sdmesh.text_encoder.batch.size").summary().count();
        var async = TextEncoderGrpc.newFutureStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES);
        var futures = requests.stream().map(async::encode).toList();
        for (int i = 0; i < requests.size(); i++) {
            EncodeResponse together = futures.get(i).get(2, TimeUnit.MINUTES);
            assertEquals(alone.get(i).getChunks(), together.getChunks(), "request " + i);
            assertArrayEquals(floats(alone.get(i).getCondEmbeddings()), floats(together.getCondEmbeddings()), 1e-6f, "request " + i);
            assertEquals(alone.get(i).hasUncondEmbeddings(), together.hasUncondEmbeddings(), "request " + i);
            if (together.hasUncondEmbeddings()) {
                assertArrayEquals(floats(alone.get(i).getUncondEmbeddings()), floats(together.getUncondEmbeddings()), 1e-6f, "request " + i);
            }
            assertEquals(alone.get(i).getTokenCountsList(), together.getTokenCountsList(), "request " + i);
        }
        long runs = models.runs() - runsBefore;
        assertTrue(runs < requests.size(), requests.size() + " concurrent calls took " + runs + " text-encoder runs");
        assertEquals(requests.size(), metrics.get("sdmesh.text_encoder.encodes").counter().count() - encodesBefore);
        assertEquals(runs, metrics.get("sdmesh.text_encoder.batch.size").summary().count() - batchesBefore);
        assertEquals(runs, (long) metrics.get("sdmesh.text_encoder.runs").functionCounter().count() - runsBefore);
    }

    @Test
    void anUnknownEmbeddingNameIsEncodedAsText() {
        String prompt = "a photo in no-such-embedding style";
        ClipTokenizer plain = ClipTokenizer.load(ReferenceData.model().resolve("tokenizer"));

        EncodeResponse response = encoder.encode(EncodeRequest.newBuilder().addPrompts(prompt).build());
        TokenizeResponse tokens = encoder.tokenize(TokenizeRequest.newBuilder().setPrompt(prompt).build());

        assertEquals(1, response.getChunks());
        assertEquals(List.of(plain.encode(prompt).length), response.getTokenCountsList());
        assertEquals(List.of(), response.getWarningsList());
        assertArrayEquals(plain.idsRaw(prompt), tokens.getIdsList().stream().mapToInt(Integer::intValue).toArray());
        assertArrayEquals(plain.ids77(prompt), tokens.getChunks(0).getIdsList().stream().mapToInt(Integer::intValue).toArray());
        EncodeResponse literal = encoder.encode(EncodeRequest.newBuilder().addPrompts(prompt).setPromptSyntax(PromptSyntax.NONE).build());
        assertArrayEquals(floats(literal.getCondEmbeddings()), floats(response.getCondEmbeddings()));
    }

    private static void assertInvalid(String field, String inMessage, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals(field, GrpcErrors.violatedField(e), e.getStatus().getDescription());
        assertTrue(e.getStatus().getDescription().contains(inMessage), e.getStatus().getDescription());
    }

    @Test
    void inputsOutsideTheLimitsAreInvalidArgumentsNamingTheLimit() {
        EncodeRequest base = EncodeRequest.newBuilder().addPrompts("a cat").setIncludeUnconditional(true).build();
        assertInvalid("prompts", "at least one", () -> encoder.encode(base.toBuilder().clearPrompts().build()));
        assertInvalid("prompts", "16", () -> encoder.encode(base.toBuilder().clearPrompts()
                .addAllPrompts(Collections.nCopies(17, "a cat")).build()));
        assertInvalid("prompts[0]", "max-prompt-chars", () -> encoder.encode(base.toBuilder().setPrompts(0, "x".repeat(4097)).build()));
        // 1600 one-token digits: 22 chunks in 1600 characters.
        assertInvalid("prompts[0]", "max-chunks", () -> encoder.encode(base.toBuilder().setPrompts(0, tokens("7", 1600)).build()));
        assertInvalid("negative_prompts[0]", "max-prompt-chars", () -> encoder.encode(base.toBuilder()
                .addNegativePrompts("x".repeat(4097)).build()));
        assertInvalid("negative_prompts", "one per prompt", () -> encoder.encode(base.toBuilder()
                .addNegativePrompts("a").addNegativePrompts("b").build()));
        assertInvalid("prompt_syntax", "PromptSyntax", () -> encoder.encode(base.toBuilder().setPromptSyntaxValue(7).build()));
        assertInvalid("prompt", "max-chunks", () -> encoder.tokenize(TokenizeRequest.newBuilder().setPrompt(tokens("7", 1600)).build()));
        assertInvalid("model", "plain folder name", () -> encoder.encode(base.toBuilder().setModel("../model").build()));

        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
                () -> encoder.encode(base.toBuilder().setModel("no-such-model").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class,
                () -> encoder.tokenize(TokenizeRequest.newBuilder().setModel("no-such-model").setPrompt("a").build())).getStatus().getCode());
    }

    @Test
    void aPromptAtTheLimitsIsAccepted() {
        EncodeResponse response = encoder.encode(EncodeRequest.newBuilder().addPrompts(tokens("7", 1500))
                .addAllPrompts(Collections.nCopies(15, "a cat")).build());
        assertEquals(20, response.getChunks());
        assertArrayEquals(new long[]{16, 20 * 77, 32}, TensorCodec.shape(response.getCondEmbeddings()));
    }
}
