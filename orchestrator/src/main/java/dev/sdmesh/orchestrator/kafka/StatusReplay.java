package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds the {@link StatusStore} on start by reading the events topic from the beginning to its current end: the
 * events are the store of record, so generation status survives a restart without a database. {@link StatusFeed}
 * then follows the topic from there.
 */
public final class StatusReplay {
    private static final Logger LOG = Logger.getLogger(StatusReplay.class);

    private StatusReplay() {
    }

    /** Returns the number of events applied. */
    public static int replay(Consumer<String, byte[]> consumer, String topic, StatusStore store, ObjectMapper json,
                             Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) return 0;
        List<TopicPartition> partitions = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        int applied = 0;
        while (!caughtUp(consumer, end)) {
            if (Instant.now().isAfter(deadline)) {
                LOG.warnf("status replay of %s stopped after %s with %d events applied", topic, timeout, applied);
                break;
            }
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (apply(record, store, json)) applied++;
            }
        }
        return applied;
    }

    /** Applies one event record; an unreadable one is logged and skipped. */
    static boolean apply(ConsumerRecord<String, byte[]> record, StatusStore store, ObjectMapper json) {
        try {
            store.apply(json.readValue(record.value(), GenerationEvent.class));
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warnf("skipping unreadable event at %s-%d offset %d: %s", record.topic(), record.partition(),
                    record.offset(), e.getMessage());
            return false;
        }
    }

    private static boolean caughtUp(Consumer<String, byte[]> consumer, Map<TopicPartition, Long> end) {
        return end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
    }
}
