package dev.sdmesh.orchestrator.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * A generation's cancel switch. Stages register what stops their in-flight call (the UNet stream's gRPC context), so a
 * cancel reaches the call that is running rather than waiting for it to end.
 */
public final class Cancellation {
    private final List<Runnable> callbacks = new ArrayList<>();
    private boolean cancelled;

    public void cancel() {
        List<Runnable> toRun;
        synchronized (this) {
            if (cancelled) return;
            cancelled = true;
            toRun = List.copyOf(callbacks);
            callbacks.clear();
        }
        toRun.forEach(Runnable::run);
    }

    public synchronized boolean isCancelled() {
        return cancelled;
    }

    /** Runs {@code callback} on cancel, at once when already cancelled. Returns a handle that unregisters it. */
    public Runnable onCancel(Runnable callback) {
        synchronized (this) {
            if (!cancelled) {
                callbacks.add(callback);
                return () -> {
                    synchronized (this) {
                        callbacks.remove(callback);
                    }
                };
            }
        }
        callback.run();
        return () -> { };
    }

    public void throwIfCancelled() {
        if (isCancelled()) throw new CancellationException("generation cancelled");
    }
}
