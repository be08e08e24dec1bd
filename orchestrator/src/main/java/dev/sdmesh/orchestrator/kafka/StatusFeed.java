package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

import java.time.Duration;

/**
 * Keeps the {@link StatusStore} current from the events topic: the start-up {@link StatusReplay}, then every later
 * event, whichever replica wrote it. A consumer of its own with no group (every partition, nothing committed), so that
 * each replica answers status, listings and event streams for every generation.
 */
public final class StatusFeed implements Runnable, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StatusFeed.class);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final StatusStore store;
    private final ObjectMapper json;
    private final Duration replayTimeout;
    private volatile boolean running = true;

    public StatusFeed(Consumer<String, byte[]> consumer, String topic, StatusStore store, ObjectMapper json, Duration replayTimeout) {
        this.consumer = consumer;
        this.topic = topic;
        this.store = store;
        this.json = json;
        this.replayTimeout = replayTimeout;
    }

    /** Reads the topic from its beginning to its current end; call before {@link #run()}. Returns the events applied. */
    public int replay() {
        return StatusReplay.replay(consumer, topic, store, json, replayTimeout);
    }

    @Override
    public void run() {
        try {
            while (running) {
                if (consumer.assignment().isEmpty()) {
                    retryReplay();
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    StatusReplay.apply(record, store, json);
                }
            }
        } catch (WakeupException e) {
            if (running) throw e;
        } catch (RuntimeException e) {
            LOG.error("status feed stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** The start-up replay found no topic or failed: try again until it reads one. */
    private void retryReplay() {
        try {
            int n = replay();
            if (!consumer.assignment().isEmpty()) LOG.infof("status rebuilt from %d events of %s", n, topic);
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warnf("status replay from %s failed: %s", topic, e.getMessage());
        }
        if (consumer.assignment().isEmpty()) {
            try {
                Thread.sleep(RETRY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
    }
}
