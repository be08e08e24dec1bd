package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;

/** Where generation events go (the events topic). */
public interface EventSink {
    /**
     * Publishes the event. For {@code accepted} and terminal events this returns only once the event is durably
     * written, because the request's offset is committed right after.
     */
    void publish(GenerationEvent event, String traceparent);
}
