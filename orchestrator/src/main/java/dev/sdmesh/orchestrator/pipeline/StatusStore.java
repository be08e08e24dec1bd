package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationStatus;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Generation status folded from the events, in memory. It is rebuilt on start by replaying the events topic (the last
 * event per requestId wins), so it survives a restart without a database; listeners get each event as it is applied
 * (SSE and gRPC streams).
 */
public final class StatusStore {
    private record Entry(GenerationStatus status, GenerationEvent terminal) {
    }

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Map<String, List<Consumer<GenerationEvent>>> listeners = new ConcurrentHashMap<>();

    public void apply(GenerationEvent event) {
        entries.compute(event.requestId(), (id, previous) -> {
            GenerationStatus status = GenerationStatus.fold(previous == null ? null : previous.status(), event);
            return new Entry(status, event.terminal() ? event : null);
        });
        List<Consumer<GenerationEvent>> subscribed = listeners.get(event.requestId());
        if (subscribed != null) subscribed.forEach(l -> l.accept(event));
    }

    /** The status, or null for an id never seen. */
    public GenerationStatus get(String requestId) {
        Entry e = entries.get(requestId);
        return e == null ? null : e.status();
    }

    /** The terminal event of a finished generation, or null while it runs or when unknown. */
    public GenerationEvent terminalEvent(String requestId) {
        Entry e = entries.get(requestId);
        return e == null ? null : e.terminal();
    }

    /** Calls {@code listener} with every later event of the generation; closing the handle unsubscribes. */
    public AutoCloseable subscribe(String requestId, Consumer<GenerationEvent> listener) {
        listeners.computeIfAbsent(requestId, id -> new CopyOnWriteArrayList<>()).add(listener);
        return () -> listeners.computeIfPresent(requestId, (id, list) -> {
            list.remove(listener);
            return list.isEmpty() ? null : list;
        });
    }

    public int size() {
        return entries.size();
    }
}
