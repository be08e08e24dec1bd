package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.GenerationSummary;

import java.util.Comparator;
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
    /** @param created time of the first event seen for the generation */
    private record Entry(GenerationStatus status, GenerationEvent terminal, long created) {
        GenerationSummary summary() {
            return GenerationSummary.of(status, created, terminal);
        }
    }

    /** Newest first; ties (same millisecond) broken by requestId so that a listing is stable. */
    private static final Comparator<Map.Entry<String, Entry>> NEWEST_FIRST =
            Comparator.<Map.Entry<String, Entry>>comparingLong(e -> e.getValue().created())
                    .thenComparing(Map.Entry::getKey).reversed();

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Map<String, List<Consumer<GenerationEvent>>> listeners = new ConcurrentHashMap<>();

    public void apply(GenerationEvent event) {
        entries.compute(event.requestId(), (id, previous) -> {
            GenerationStatus status = GenerationStatus.fold(previous == null ? null : previous.status(), event);
            long created = previous == null ? event.time() : Math.min(previous.created(), event.time());
            return new Entry(status, event.terminal() ? event : null, created);
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

    /** The {@code limit} generations seen most recently (by their first event), newest first. */
    public List<GenerationSummary> recent(int limit) {
        return entries.entrySet().stream().filter(e -> e.getValue().status() != null).sorted(NEWEST_FIRST).limit(limit)
                .map(e -> e.getValue().summary()).toList();
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
