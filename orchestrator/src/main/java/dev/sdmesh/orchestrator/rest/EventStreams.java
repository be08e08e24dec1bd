package dev.sdmesh.orchestrator.rest;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import io.smallrye.mutiny.Multi;

/** A generation's events as a stream that ends with its terminal event (for SSE and gRPC streaming). */
public final class EventStreams {
    private EventStreams() {
    }

    public static Multi<GenerationEvent> follow(StatusStore statuses, String requestId) {
        return Multi.createFrom().emitter(emitter -> {
            AutoCloseable subscription = statuses.subscribe(requestId, event -> {
                emitter.emit(event);
                if (event.terminal()) emitter.complete();
            });
            emitter.onTermination(() -> {
                try {
                    subscription.close();
                } catch (Exception ignored) {
                    // unsubscribing from an in-memory list cannot fail
                }
            });
            // Subscribed first, checked second: a generation that ended before the subscription still ends the stream.
            GenerationEvent finished = statuses.terminalEvent(requestId);
            if (finished != null) {
                emitter.emit(finished);
                emitter.complete();
            }
        });
    }
}
