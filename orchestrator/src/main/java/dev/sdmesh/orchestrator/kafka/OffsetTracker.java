package dev.sdmesh.orchestrator.kafka;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which offsets may be committed when records finish out of order: per partition, everything below the oldest record
 * still in flight. A record's offset is thus committed only once it and every earlier record reached their terminal
 * event. Used from the consumer thread only.
 */
final class OffsetTracker {
    private final Map<TopicPartition, TreeSet<Long>> inFlight = new HashMap<>();
    private final Map<TopicPartition, Long> nextToCommit = new HashMap<>();
    private final Map<TopicPartition, Long> committed = new HashMap<>();

    void started(TopicPartition partition, long offset) {
        inFlight.computeIfAbsent(partition, p -> new TreeSet<>()).add(offset);
        nextToCommit.merge(partition, offset + 1, Math::max);
    }

    void finished(TopicPartition partition, long offset) {
        TreeSet<Long> pending = inFlight.get(partition);
        if (pending != null) pending.remove(offset);
    }

    int inFlight() {
        return inFlight.values().stream().mapToInt(TreeSet::size).sum();
    }

    /** Offsets to commit now: per partition the oldest in-flight offset, or one past the last record seen. */
    Map<TopicPartition, OffsetAndMetadata> committable() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        nextToCommit.forEach((partition, next) -> {
            TreeSet<Long> pending = inFlight.get(partition);
            long offset = pending == null || pending.isEmpty() ? next : pending.first();
            if (offset > committed.getOrDefault(partition, -1L)) out.put(partition, new OffsetAndMetadata(offset));
        });
        return out;
    }

    void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
        offsets.forEach((partition, offset) -> committed.merge(partition, offset.offset(), Math::max));
    }

    /** Forgets revoked partitions: their unfinished records will be redelivered to the new owner. */
    void revoked(Collection<TopicPartition> partitions) {
        partitions.forEach(p -> {
            inFlight.remove(p);
            nextToCommit.remove(p);
            committed.remove(p);
        });
    }
}
