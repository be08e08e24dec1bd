package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.GenerationSummary;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Generation status folded from the events, in memory. It is rebuilt on start by replaying the events topic and then
 * kept current by following it, so every replica answers for every generation and status survives a restart without
 * a database; listeners get each event as it is applied (SSE and gRPC streams, synchronous callers).
 * <p>
 * The same event usually arrives twice, once from the replica that made it and once from the topic, in any order:
 * an event already applied is ignored, and so is a non-terminal event arriving after the terminal one (a late
 * progress never moves a finished generation back). Only an {@code accepted} event newer than the terminal one opens
 * a new attempt (a redelivered request whose images were gone runs again); events older than that attempt are stale.
 */
public final class StatusStore {
    /**
     * @param created time of the first event seen for the generation (or of its submission here)
     * @param opened  time of the {@code accepted} event that reopened a finished generation; 0 when none did
     * @param seen    identities of the events applied in the current attempt, for dropping their duplicates
     */
    private record Entry(GenerationStatus status, GenerationEvent terminal, long created, long opened, Set<String> seen) {
        GenerationSummary summary() {
            return GenerationSummary.of(status, created, terminal);
        }
    }

    /** Newest first; ties (same millisecond) broken by requestId so that a listing is stable. */
    private static final Comparator<Map.Entry<String, Entry>> NEWEST_FIRST =
            Comparator.<Map.Entry<String, Entry>>comparingLong(e -> e.getValue().created())
                    .thenComparing(Map.Entry::getKey).reversed();

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Set<String> unfinished = ConcurrentHashMap.newKeySet();
    private final Map<String, List<Consumer<GenerationEvent>>> listeners = new ConcurrentHashMap<>();

    /** Applies the event unless it is a duplicate or stale (see the class comment); listeners get only applied ones. */
    public void apply(GenerationEvent event) {
        boolean[] applied = {false};
        entries.compute(event.requestId(), (id, previous) -> {
            Entry next = fold(previous, event);
            applied[0] = next != previous;
            // An event of an unknown type folds to no status: nothing to wait for.
            if (next.status() == null || next.status().terminal()) unfinished.remove(id);
            else unfinished.add(id);
            return next;
        });
        if (!applied[0]) return;
        List<Consumer<GenerationEvent>> subscribed = listeners.get(event.requestId());
        if (subscribed != null) subscribed.forEach(l -> l.accept(event));
    }

    private static Entry fold(Entry previous, GenerationEvent event) {
        String identity = identity(event);
        if (previous == null) {
            return new Entry(GenerationStatus.fold(null, event), event.terminal() ? event : null, event.time(), 0,
                    event.terminal() ? Set.of() : newSeen(identity));
        }
        boolean duplicate = previous.seen().contains(identity)
                || (previous.terminal() != null && identity(previous.terminal()).equals(identity));
        if (duplicate || event.time() < previous.opened()) return previous;
        long created = Math.min(previous.created(), event.time());
        if (previous.terminal() != null && !event.terminal()) {
            boolean reopens = GenerationEvent.ACCEPTED.equals(event.type()) && event.time() > previous.terminal().time();
            if (!reopens) return previous;
            return new Entry(GenerationStatus.fold(previous.status(), event), null, created, event.time(), newSeen(identity));
        }
        GenerationStatus status = GenerationStatus.fold(previous.status(), event);
        if (event.terminal()) return new Entry(status, event, created, previous.opened(), Set.of());
        previous.seen().add(identity);
        return new Entry(status, null, created, previous.opened(), previous.seen());
    }

    private static Set<String> newSeen(String identity) {
        Set<String> seen = ConcurrentHashMap.newKeySet();
        seen.add(identity);
        return seen;
    }

    /** What tells one event of a generation from another: a re-emitted terminal event has a new time. */
    private static String identity(GenerationEvent e) {
        return e.type() + '|' + e.time() + '|' + e.step() + '|' + (e.preview() != null);
    }

    /**
     * Records a request handed to the requests topic here as {@code queued} until its first event arrives, so that
     * the caller can follow it at once; a generation already known keeps its status.
     */
    public void submitted(String requestId, Map<String, String> metadata) {
        GenerationStatus queued = new GenerationStatus(requestId, GenerationStatus.QUEUED, null, null, null, null, null,
                null, metadata);
        entries.computeIfAbsent(requestId, id -> {
            unfinished.add(id);
            return new Entry(queued, null, System.currentTimeMillis(), 0, ConcurrentHashMap.newKeySet());
        });
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

    /** Generations known here that have not reached their terminal event (queued or running, on any replica). */
    public int unfinishedCount() {
        return unfinished.size();
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

    /**
     * Completes with the generation's next terminal event applied here; call it before the request is sent so that the
     * event cannot pass unseen. Cancelling the future stops waiting.
     */
    public CompletableFuture<GenerationEvent> nextTerminal(String requestId) {
        CompletableFuture<GenerationEvent> terminal = new CompletableFuture<>();
        AutoCloseable subscription = subscribe(requestId, event -> {
            if (event.terminal()) terminal.complete(event);
        });
        terminal.whenComplete((event, error) -> {
            try {
                subscription.close();
            } catch (Exception ignored) {
                // unsubscribing from an in-memory list cannot fail
            }
        });
        return terminal;
    }

    public int size() {
        return entries.size();
    }
}
