package dev.sdmesh.runtime.health;

import org.jboss.logging.Logger;

import java.util.function.Consumer;

/**
 * A service's readiness: not ready until its model is loaded and one warm-up run has passed, done in the background
 * so that the process answers health checks meanwhile. A failed warm-up (no model yet, say) keeps the service not
 * ready with the reason, and is retried on the next {@link #ensureStarted()}.
 *
 * <p>Every start reports not-ready before the warm-up runs, and the outcome is reported under the same lock that starts
 * a retry, so a late "not ready" from a failed run can never land after the "ready" of the retry that followed it.
 */
public final class WarmUp {
    private static final Logger LOG = Logger.getLogger(WarmUp.class);

    public enum State { NOT_STARTED, WARMING_UP, READY, FAILED }

    private final String service;
    private final Runnable warmUp;
    private final Consumer<Boolean> onChange;
    private volatile State state = State.NOT_STARTED;
    private volatile String detail = "not started";

    /**
     * @param warmUp   loads the default model and runs it once; throws when it cannot
     * @param onChange told false when a warm-up starts or fails, true once one has passed (e.g. to set the gRPC
     *                 health status)
     */
    public WarmUp(String service, Runnable warmUp, Consumer<Boolean> onChange) {
        this.service = service;
        this.warmUp = warmUp;
        this.onChange = onChange;
    }

    /** Starts the warm-up in the background unless it runs or has succeeded. */
    public synchronized void ensureStarted() {
        if (state == State.READY || state == State.WARMING_UP) return;
        state = State.WARMING_UP;
        detail = "warming up";
        onChange.accept(false);
        Thread thread = new Thread(this::run, service + "-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        long started = System.nanoTime();
        try {
            warmUp.run();
        } catch (RuntimeException | Error e) {
            finish(State.FAILED, "warm-up failed: " + e.getMessage());
            return;
        }
        finish(State.READY, String.format("ready (warm-up %.1f s)", (System.nanoTime() - started) / 1e9));
    }

    private synchronized void finish(State outcome, String why) {
        detail = why;
        state = outcome;
        if (outcome == State.READY) {
            LOG.infof("%s %s", service, why);
        } else {
            LOG.warnf("%s %s", service, why);
        }
        onChange.accept(outcome == State.READY);
    }

    public boolean ready() {
        return state == State.READY;
    }

    public State state() {
        return state;
    }

    public String detail() {
        return detail;
    }
}
