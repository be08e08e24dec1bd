package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationList;
import dev.sdmesh.orchestrator.api.GenerationSummary;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
