package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationList;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.GenerationSummary;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatusStoreTest {
    private final StatusStore store = new StatusStore();

    private static GenerationEvent event(String type, String id, long time) {
        return new GenerationEvent(type, id, time, null, null, null, null, null, null, null, null, Map.of());
    }

    private static GenerationEvent completed(String id, long time, String infotext, GenerationEvent.ImageRef... images) {
        return new GenerationEvent(GenerationEvent.COMPLETED, id, time, null, null, null, List.of(images), null, null,
                infotext, null, Map.of());
    }

    private List<String> recentIds(int limit) {
        return store.recent(limit).stream().map(GenerationSummary::requestId).toList();
    }

    @Test
    void recentListsByFirstEventNewestFirstUpToTheLimit() {
        store.apply(event(GenerationEvent.ACCEPTED, "old", 1_000));
        store.apply(event(GenerationEvent.ACCEPTED, "new", 3_000));
        store.apply(event(GenerationEvent.ACCEPTED, "middle", 2_000));
        // A later event of the oldest generation does not make it recent.
        store.apply(event(GenerationEvent.PROGRESS, "old", 4_000));

        assertEquals(List.of("new", "middle", "old"), recentIds(10));
        assertEquals(List.of("new", "middle"), recentIds(2));
    }

    @Test
    void aCompletedGenerationIsListedWithItsTimesInfotextAndImagesServedByTheOrchestrator() {
        store.apply(event(GenerationEvent.ACCEPTED, "r-1", 1_000));
        store.apply(event(GenerationEvent.PROGRESS, "r-1", 1_500));
        store.apply(completed("r-1", 2_000, "a cat\nSteps: 3, Seed: 7",
                new GenerationEvent.ImageRef(0, "2024/01/02/r-1/0.png", "http://s3/presigned0", "7", null, null),
                new GenerationEvent.ImageRef(1, "2024/01/02/r-1/1.png", "http://s3/presigned1", "8", null, null)));

        GenerationSummary summary = store.recent(1).get(0);
        assertEquals("succeeded", summary.status());
        assertEquals(Instant.ofEpochMilli(1_000), summary.created());
        assertEquals(Instant.ofEpochMilli(2_000), summary.finished());
        assertEquals("a cat\nSteps: 3, Seed: 7", summary.infotext());
        assertEquals(List.of(
                new GenerationSummary.Image(0, "2024/01/02/r-1/0.png", "/v1/generations/r-1/images/0", "7"),
                new GenerationSummary.Image(1, "2024/01/02/r-1/1.png", "/v1/generations/r-1/images/1", "8")), summary.images());
    }

    @Test
    void aRunningGenerationHasNoFinishTimeAndAFailedOneItsError() {
        store.apply(event(GenerationEvent.ACCEPTED, "running", 1_000));
        store.apply(new GenerationEvent(GenerationEvent.FAILED, "failed", 2_000, null, null, null, null, null, null, null,
                new GenerationEvent.Error("invalid_argument", "must be in [1, 150], got 999", "steps"), Map.of()));

        GenerationSummary failed = store.recent(2).get(0);
        assertEquals("failed", failed.status());
        assertEquals(Instant.ofEpochMilli(2_000), failed.created(), "a request refused up front has only its failed event");
        assertEquals("steps", failed.error().field());
        assertTrue(failed.images().isEmpty());
        GenerationSummary running = store.recent(2).get(1);
        assertEquals("queued", running.status());
        assertNull(running.finished());
    }

    @Test
    void theLimitDefaultsTo20AndMustBeAnIntegerFrom1To100() {
        assertEquals(20, GenerationList.limit(null));
        assertEquals(1, GenerationList.limit("1"));
        assertEquals(100, GenerationList.limit("100"));
        for (String bad : List.of("0", "101", "-1", "2.5", "all")) {
            InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> GenerationList.limit(bad));
            assertEquals("limit", e.field());
            assertTrue(e.getMessage().contains("[1, 100]") && e.getMessage().contains(bad), e.getMessage());
        }
    }

    private static GenerationEvent progress(String id, long time, int step) {
        return new GenerationEvent(GenerationEvent.PROGRESS, id, time, step, 10, null, null, null, null, null, null, Map.of());
    }

    /** Every event the listeners of {@code id} get from now on. */
    private List<String> listen(String id) {
        List<String> heard = new CopyOnWriteArrayList<>();
        store.subscribe(id, e -> heard.add(e.type() + "@" + e.time()));
        return heard;
    }

    @Test
    void anEventAppliedAgainFromTheTopicIsIgnored() {
        List<String> heard = listen("r");
        GenerationEvent accepted = event(GenerationEvent.ACCEPTED, "r", 1_000);
        GenerationEvent step = progress("r", 1_100, 3);
        GenerationEvent done = completed("r", 1_200, "x");
        for (GenerationEvent e : List.of(accepted, step, accepted, step, done, step, done, accepted)) store.apply(e);

        assertEquals(List.of("accepted@1000", "progress@1100", "completed@1200"), heard);
        assertEquals(GenerationStatus.SUCCEEDED, store.get("r").status());
        assertEquals(1_200, store.terminalEvent("r").time());
    }

    @Test
    void aProgressArrivingAfterTheTerminalEventNeverMovesItBack() {
        store.apply(event(GenerationEvent.ACCEPTED, "r", 1_000));
        store.apply(event(GenerationEvent.CANCELLED, "r", 1_300));
        List<String> heard = listen("r");
        // Made before the cancel by the replica that ran it, read later from the topic.
        store.apply(progress("r", 1_200, 7));
        store.apply(progress("r", 1_400, 8));

        assertEquals(GenerationStatus.CANCELLED, store.get("r").status());
        assertTrue(heard.isEmpty(), heard.toString());
        assertEquals(0, store.unfinishedCount());
    }

    @Test
    void aReemittedTerminalEventIsAppliedAndANewerAcceptedOpensAnotherAttempt() {
        store.apply(event(GenerationEvent.ACCEPTED, "r", 1_000));
        store.apply(completed("r", 1_100, "first"));
        List<String> heard = listen("r");
        store.apply(completed("r", 2_000, "first"));
        assertEquals(List.of("completed@2000"), heard, "a redelivery re-emits the terminal event");

        // Images gone: the redelivered request runs again.
        store.apply(event(GenerationEvent.ACCEPTED, "r", 3_000));
        assertEquals(GenerationStatus.QUEUED, store.get("r").status());
        assertNull(store.terminalEvent("r"));
        assertEquals(1, store.unfinishedCount());
        // The first attempt's events, late from the topic, are stale now.
        store.apply(progress("r", 1_050, 5));
        store.apply(completed("r", 1_100, "first"));
        assertEquals(GenerationStatus.QUEUED, store.get("r").status());
        store.apply(completed("r", 3_500, "second"));
        assertEquals("second", store.get("r").infotext());
        assertEquals(List.of("completed@2000", "accepted@3000", "completed@3500"), heard);
    }

    @Test
    void aSubmittedRequestIsQueuedUntilItsEventsArriveAndCountsAsUnfinished() {
        store.submitted("r", Map.of("user", "u"));
        assertEquals(GenerationStatus.QUEUED, store.get("r").status());
        assertEquals(Map.of("user", "u"), store.get("r").metadata());
        assertEquals(1, store.unfinishedCount());
        assertEquals(List.of("r"), recentIds(5));

        store.apply(progress("r", System.currentTimeMillis(), 2));
        assertEquals(GenerationStatus.RUNNING, store.get("r").status());
        store.apply(event(GenerationEvent.FAILED, "r", System.currentTimeMillis()));
        assertEquals(0, store.unfinishedCount());

        store.submitted("r", Map.of());
        assertEquals(GenerationStatus.FAILED, store.get("r").status(), "a known generation keeps its status");
        assertEquals(0, store.unfinishedCount());
    }

    @Test
    void nextTerminalCompletesWithTheNextTerminalEventOnly() throws Exception {
        store.apply(event(GenerationEvent.FAILED, "done", 500));
        CompletableFuture<GenerationEvent> done = store.nextTerminal("done");
        CompletableFuture<GenerationEvent> terminal = store.nextTerminal("r");
        store.apply(event(GenerationEvent.ACCEPTED, "r", 1_000));
        store.apply(progress("r", 1_100, 1));
        assertFalse(terminal.isDone());
        assertFalse(done.isDone(), "an earlier terminal event is not the next one");
        store.apply(completed("r", 1_200, "x"));
        assertEquals(GenerationEvent.COMPLETED, terminal.get(1, TimeUnit.SECONDS).type());

        done.cancel(false);
        List<String> heard = listen("done");
        store.apply(event(GenerationEvent.FAILED, "done", 900));
        assertEquals(List.of("failed@900"), heard, "the cancelled waiter has left");
        assertTrue(done.isCancelled());
    }
}
