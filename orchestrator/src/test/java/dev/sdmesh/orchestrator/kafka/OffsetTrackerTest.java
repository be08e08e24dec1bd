package dev.sdmesh.orchestrator.kafka;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OffsetTrackerTest {
    private final TopicPartition p0 = new TopicPartition("t", 0);
    private final TopicPartition p1 = new TopicPartition("t", 1);

    @Test
    void commitsOnlyBelowTheOldestUnfinishedRecord() {
        OffsetTracker t = new OffsetTracker();
        t.started(p0, 10);
        t.started(p0, 11);
        t.started(p0, 12);
        assertEquals(Map.of(p0, new OffsetAndMetadata(10)), t.committable());
        t.finished(p0, 11);
        t.finished(p0, 12);
        // 10 is still running: committing 13 would lose it on a crash.
        assertEquals(Map.of(p0, new OffsetAndMetadata(10)), t.committable());
        t.finished(p0, 10);
        assertEquals(Map.of(p0, new OffsetAndMetadata(13)), t.committable());
        assertEquals(0, t.inFlight());
    }

    @Test
    void committedOffsetsAreNotCommittedAgainAndPartitionsAreIndependent() {
        OffsetTracker t = new OffsetTracker();
        t.started(p0, 0);
        t.started(p1, 5);
        t.finished(p0, 0);
        Map<TopicPartition, OffsetAndMetadata> first = t.committable();
        assertEquals(Map.of(p0, new OffsetAndMetadata(1), p1, new OffsetAndMetadata(5)), first);
        t.committed(first);
        assertTrue(t.committable().isEmpty());
        assertEquals(1, t.inFlight());
    }

    @Test
    void revokedPartitionsAreForgotten() {
        OffsetTracker t = new OffsetTracker();
        t.started(p0, 3);
        t.revoked(List.of(p0));
        assertEquals(0, t.inFlight());
        assertTrue(t.committable().isEmpty());
        t.finished(p0, 3);
        assertTrue(t.committable().isEmpty());
    }
}
