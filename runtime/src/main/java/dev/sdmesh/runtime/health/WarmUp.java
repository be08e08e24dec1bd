package dev.sdmesh.runtime.health;

import org.jboss.logging.Logger;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A service's readiness: not ready until its model is loaded and one warm-up run has passed, done in the background
 * so that the process answers health checks meanwhile. A failed warm-up (no model yet, say) keeps the service not
 * ready with the reason, and is retried on the next {@link #ensureStarted()}.
 */
public final class WarmUp {
    private static final Logger LOG = Logger.getLogger(WarmUp.class);

    public enum State { NOT_STARTED, WARMING_UP, READY, FAILED }

    private final String service;
    private final Runnable warmUp;
    private final Consumer<Boolean> onChange;
    private final AtomicReference<State> state = new AtomicReference<>(State.NOT_STARTED);
    private volatile String detail = "not started";

    /**
     * @param warmUp   loads the default model and runs it once; throws when it cannot
     * @param onChange told true when ready, false otherwise (e.g. to set the gRPC health status)
     */
    public WarmUp(String service, Runnable warmUp, Consumer<Boolean> onChange) {
        this.service = service;
        this.warmUp = warmUp;
        this.onChange = onChange;
    }

    /** Starts the warm-up in the background unless it runs or has succeeded. */
    public void ensureStarted() {
        State current = state.get();
        if (current == State.READY || current == State.WARMING_UP) return;
        if (!state.compareAndSet(current, State.WARMING_UP)) return;
        detail = "warming up";
        Thread thread = new Thread(this::run, service + "-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        long started = System.nanoTime();
        try {
            warmUp.run();
            detail = String.format("ready (warm-up %.1f s)", (System.nanoTime() - started) / 1e9);
            state.set(State.READY);
            LOG.infof("%s %s", service, detail);
            onChange.accept(true);
        } catch (RuntimeException | Error e) {
            detail = "warm-up failed: " + e.getMessage();
            state.set(State.FAILED);
            LOG.warnf("%s %s", service, detail);
            onChange.accept(false);
        }
    }

    public boolean ready() {
        return state.get() == State.READY;
    }

    public State state() {
        return state.get();
    }

    public String detail() {
        return detail;
    }
}
