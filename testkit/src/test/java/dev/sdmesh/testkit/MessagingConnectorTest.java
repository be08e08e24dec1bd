package dev.sdmesh.testkit;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A record sent by Quarkus' Kafka connector reaches the embedded (or container) broker and comes back through it. */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
class MessagingConnectorTest {

    @ApplicationScoped
    static class Probe {
        private final List<String> received = new CopyOnWriteArrayList<>();

        @Incoming("probe-in")
        void receive(String value) {
            received.add(value);
        }

        /** Read through a method: the injected bean is a client proxy, whose own fields are never written. */
        List<String> received() {
            return received;
        }
    }

    @Inject
    @Channel("probe-out")
    Emitter<String> emitter;

    @Inject
    Probe probe;

    @Test
    void emittedRecordIsConsumedThroughTheBroker() throws Exception {
        String payload = "probe-" + UUID.randomUUID();
        emitter.send(payload).toCompletableFuture().get(60, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!probe.received().contains(payload) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(probe.received().contains(payload), "consumed: " + probe.received());
    }
}
