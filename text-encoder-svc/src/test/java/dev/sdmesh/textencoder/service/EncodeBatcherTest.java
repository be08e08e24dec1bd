package dev.sdmesh.textencoder.service;

import dev.sdmesh.textencoder.pipeline.PromptEncoder.Encoded;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Request;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batcher's merging, bounds and error isolation, with an encoder that records its calls. */
class EncodeBatcherTest {
    /** Stands in for PromptEncoder: answers each request with its prompts as warnings; the first run waits for a gate. */
    private static final class RecordingEncoder implements EncodeBatcher.Encoder {
        final List<List<String>> runs = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch firstRunStarted = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);

        @Override
        public List<Encoded> encodeAll(List<Request> requests) {
            firstRunStarted.countDown();
            try {
                assertTrue(gate.await(10, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (requests.stream().anyMatch(r -> r.prompts().contains("bad"))) throw new IllegalArgumentException("bad prompt");
            runs.add(requests.stream().map(r -> String.join("+", r.prompts())).toList());
            return requests.stream().map(r -> new Encoded(new float[0], null, null, null, r.prompts().size(), 77, 32,
                    new int[0], null, List.copyOf(r.prompts()))).toList();
        }
    }

    private final RecordingEncoder encoder = new RecordingEncoder();
    private final List<Integer> listened = Collections.synchronizedList(new ArrayList<>());
    private EncodeBatcher batcher;

    @AfterEach
    void close() {
        encoder.gate.countDown();
        if (batcher != null) batcher.close();
    }

    private static Request request(String... prompts) {
        return new Request(List.of(prompts), null, false, Mode.NONE, 1);
    }

    /** Submits {@code first}, waits until its run has started, then queues the rest behind it. */
    private List<CompletableFuture<Encoded>> submitBehindARunningOne(Request first, Request... rest) throws InterruptedException {
        List<CompletableFuture<Encoded>> results = new ArrayList<>();
        results.add(batcher.submit(first));
        assertTrue(encoder.firstRunStarted.await(10, TimeUnit.SECONDS));
        for (Request r : rest) results.add(batcher.submit(r));
        encoder.gate.countDown();
        return results;
    }

    private static List<String> prompts(CompletableFuture<Encoded> result) throws Exception {
        return result.get(10, TimeUnit.SECONDS).warnings();
    }

    @Test
    void requestsWaitingDuringARunAreMergedIntoTheNextOne() throws Exception {
        batcher = new EncodeBatcher("test", encoder, 3, 200, listened::add);
        var results = submitBehindARunningOne(request("a"), request("b"), request("c"), request("d"));

        for (int i = 0; i < 4; i++) assertEquals(List.of(String.valueOf((char) ('a' + i))), prompts(results.get(i)));
        assertEquals(List.of(List.of("a"), List.of("b", "c", "d")), encoder.runs);
        assertEquals(2, batcher.runs());
        assertEquals(List.of(1, 3), listened);
    }

    @Test
    void requestsThatWaitedDuringARunStartTheNextOneWithoutTheIdleWindow() throws Exception {
        // A window far longer than the test: only a request that found the encoder idle may wait for it.
        batcher = new EncodeBatcher("test", encoder, 2, TimeUnit.HOURS.toMillis(1), listened::add);
        var results = submitBehindARunningOne(request("a1", "a2"), request("b"));

        assertEquals(List.of("b"), prompts(results.get(1)));
        assertEquals(List.of(List.of("a1+a2"), List.of("b")), encoder.runs);
    }

    @Test
    void aRunHoldsAtMostMaxBatchPromptsAndARequestThatDoesNotFitStartsTheNext() throws Exception {
        batcher = new EncodeBatcher("test", encoder, 2, 20, listened::add);
        var results = submitBehindARunningOne(request("a"), request("b"), request("c1", "c2"), request("d"));

        assertEquals(List.of("c1", "c2"), prompts(results.get(2)));
        prompts(results.get(3));
        assertEquals(List.of(List.of("a"), List.of("b"), List.of("c1+c2"), List.of("d")), encoder.runs);
    }

    @Test
    void aBadRequestFailsAloneAndTheOthersOfItsBatchAreAnswered() throws Exception {
        batcher = new EncodeBatcher("test", encoder, 16, 200, listened::add);
        var results = submitBehindARunningOne(request("a"), request("b"), request("bad"), request("c"));

        ExecutionException error = assertThrows(ExecutionException.class, () -> results.get(2).get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalArgumentException.class, error.getCause());
        assertEquals(List.of("b"), prompts(results.get(1)));
        assertEquals(List.of("c"), prompts(results.get(3)));
        assertEquals(3, batcher.runs(), "a, then b and c one by one after the merged run was rejected");
    }

    @Test
    void requestsAfterCloseFail() {
        batcher = new EncodeBatcher("test", encoder, 4, 5, listened::add);
        batcher.close();
        ExecutionException error = assertThrows(ExecutionException.class, () -> batcher.submit(request("a")).get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, error.getCause());
    }
}
