package dev.sdmesh.orchestrator.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.RequestLimits;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The front doors' intake: validation up front, inline images to the store, the request to the log. */
class GenerationIntakeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestParser PARSER = new RequestParser(JSON, RequestLimits.DEFAULT);

    private record Appended(String requestId, JsonNode request, String traceparent) {
    }

    private final FakeStages stages = new FakeStages();
    private final MemoryImageStore store = new MemoryImageStore();
    private final StatusStore statuses = new StatusStore();
    private final Generations generations = TestGenerations.of(stages, store, statuses, (event, traceparent) -> { }, 0);
    private final List<Appended> appended = new CopyOnWriteArrayList<>();
    private final List<String> cancels = new CopyOnWriteArrayList<>();
    private final GenerationIntake.RequestLog log = new GenerationIntake.RequestLog() {
        @Override
        public void append(String requestId, JsonNode request, String traceparent) {
            appended.add(new Appended(requestId, request, traceparent));
        }

        @Override
        public void appendCancel(String requestId) {
            cancels.add(requestId);
        }
    };

    @AfterEach
    void close() {
        generations.close();
    }

    private GenerationIntake intake(int maxQueued) {
        return new GenerationIntake(PARSER, generations, statuses, store, TestGenerations.BUCKET, log, maxQueued);
    }

    private static ObjectNode body(String json) throws Exception {
        return (ObjectNode) JSON.readTree(json);
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aValidRequestIsAppendedWithItsInlineImagesMovedToTheStore() throws Exception {
        GenerationIntake intake = intake(10);
        ObjectNode body = body("{\"requestId\":\"r1\",\"prompt\":\"a cat\",\"strength\":0.5,\"metadata\":{\"user\":\"u\"}}");
        body.put("initImage", base64("init bytes"));
        body.put("mask", "data:image/png;base64," + base64("mask bytes"));

        intake.send(intake.admit(body), "00-trace");

        assertEquals(1, appended.size());
        Appended sent = appended.get(0);
        assertEquals("r1", sent.requestId());
        assertEquals("00-trace", sent.traceparent());
        GenerationRequest request = PARSER.parse(sent.request());
        assertEquals("a cat", request.prompt());
        assertEquals(0.5, request.strength());
        for (String field : List.of("initImage", "mask")) {
            String reference = sent.request().get(field).asText();
            String name = field.equals("mask") ? "mask" : "init";
            assertTrue(reference.matches("s3://sdmesh-images/\\d{4}/\\d{2}/\\d{2}/r1/" + name + "\\.png"), reference);
            String key = StorageKeys.fromReference(reference, TestGenerations.BUCKET);
            assertArrayEquals((name + " bytes").getBytes(StandardCharsets.UTF_8), store.get(key), field);
        }
        assertEquals(GenerationStatus.QUEUED, statuses.get("r1").status());
        assertEquals(Map.of("user", "u"), statuses.get("r1").metadata());
        assertTrue(stages.calls.isEmpty(), "the request runs where it is consumed, not here");
    }

    @Test
    void anS3ReferenceIsSentAsItIs() throws Exception {
        GenerationIntake intake = intake(10);
        intake.send(intake.admit(body("{\"requestId\":\"r2\",\"initImage\":\"s3://sdmesh-images/inputs/cat.png\"}")), null);
        assertEquals("s3://sdmesh-images/inputs/cat.png", appended.get(0).request().get("initImage").asText());
        assertTrue(store.objects.isEmpty());
    }

    @Test
    void aBadRequestIsRefusedNamingTheFieldAndNothingIsSent() {
        GenerationIntake intake = intake(10);
        for (Map.Entry<String, String> bad : Map.of(
                "width", "{\"requestId\":\"b1\",\"width\":513}",
                "model", "{\"requestId\":\"b2\",\"model\":\"nope\"}",
                "initImage", "{\"requestId\":\"b3\",\"initImage\":\"%% not base64 %%\"}",
                "requestId", "{\"prompt\":\"no id\"}").entrySet()) {
            InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> intake.admit(body(bad.getValue())));
            assertEquals(bad.getKey(), e.field(), e.getMessage());
        }
        assertTrue(appended.isEmpty());
        assertTrue(store.objects.isEmpty());
        assertEquals(0, statuses.size());
    }

    @Test
    void aFullQueueIsRefusedWithItsLimitUntilAGenerationEnds() throws Exception {
        GenerationIntake intake = intake(2);
        intake.send(intake.admit(body("{\"requestId\":\"q1\"}")), null);
        intake.send(intake.admit(body("{\"requestId\":\"q2\"}")), null);

        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> intake.admit(body("{\"requestId\":\"q3\"}")));
        assertTrue(e.getMessage().contains("max-queued 2"), e.getMessage());
        assertEquals(2, appended.size());

        statuses.apply(GenerationEvent.failed("q1", new GenerationEvent.Error("unavailable", "down", null), Map.of()));
        intake.send(intake.admit(body("{\"requestId\":\"q3\"}")), null);
        assertEquals(3, appended.size());
    }

    @Test
    void aCancelGoesToTheLogForAnUnfinishedGenerationOnly() throws Exception {
        GenerationIntake intake = intake(10);
        intake.send(intake.admit(body("{\"requestId\":\"c1\"}")), null);

        assertEquals(GenerationStatus.QUEUED, intake.cancel("c1").status());
        assertNull(intake.cancel("never-seen"));
        statuses.apply(GenerationEvent.cancelled("c1", Map.of()));
        assertEquals(GenerationStatus.CANCELLED, intake.cancel("c1").status());

        assertEquals(List.of("c1"), cancels, "unknown and finished generations need no cancel");
    }

    @Test
    void withoutALogTheRequestRunsHere() throws Exception {
        GenerationIntake intake = new GenerationIntake(PARSER, generations, statuses, store, TestGenerations.BUCKET, null, 10);
        var terminal = statuses.nextTerminal("l1");
        intake.send(intake.admit(body("{\"requestId\":\"l1\",\"steps\":2,\"seed\":3}")), null);

        assertEquals(GenerationEvent.COMPLETED, terminal.get(30, TimeUnit.SECONDS).type());
        assertEquals(1, stages.callsOf(DenoiseRequest.class).size());
        assertTrue(appended.isEmpty());
    }
}
