package dev.sdmesh.unet.pipeline;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.onnx.TensorBuffers;
import org.jboss.logging.Logger;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs all denoising loops of one device on one thread, with continuous batching: at each step boundary the runs
 * whose next UNet call is compatible (same model, latent size, guidance mode, text length and — for graphs with a
 * single scalar timestep — the same timestep) share one UNet call, up to {@code maxBatchRows} rows. A run joins or
 * leaves at any step boundary. Each run's arithmetic is its own, so results do not depend on batching beyond the
 * ONNX Runtime kernels' own rounding.
 */
public final class UnetEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(UnetEngine.class);

    private final int maxBatchRows;
    private final long batchWaitNanos;
    private final ConcurrentLinkedQueue<Active> incoming = new ConcurrentLinkedQueue<>();
    private final List<Active> active = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Thread worker;
    private volatile boolean closed;
    private final Object runOptionsLock = new Object();
    /** The options of the UNet call in flight (guarded by runOptionsLock), to interrupt it. */
    private OrtSession.RunOptions currentRunOptions;
    private volatile List<Active> currentBatch = List.of();
    /**
     * UNet inputs staged by the worker thread, and the native memory of the UNet's inputs and output: all grow to the
     * largest batch seen and are reused by every later call, so a step allocates no large arrays.
     */
    private float[] sampleBuffer = new float[0];
    private float[] hiddenBuffer = new float[0];
    private float[] timestepBuffer = new float[0];
    private final TensorBuffers unetBuffers = new TensorBuffers();

    private final AtomicLong unetCalls = new AtomicLong();
    private final AtomicLong stepsDone = new AtomicLong();
    private volatile int lastBatchRows;
    /** active.size() published for other threads; the list itself belongs to the worker. */
    private volatile int activeCount;

    /**
     * @param maxBatchRows    rows per UNet call (an image with guidance takes two); 1 disables batching
     * @param batchWaitMillis how long an idle engine waits for companions before starting a new run, so that
     *                        requests arriving together start together (graphs with a scalar timestep can only
     *                        batch runs that are at the same timestep)
     */
    public UnetEngine(String name, int maxBatchRows, long batchWaitMillis) {
        if (maxBatchRows < 1) throw new IllegalArgumentException("maxBatchRows must be >= 1");
        this.maxBatchRows = maxBatchRows;
        this.batchWaitNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(Math.max(0, batchWaitMillis));
        this.worker = new Thread(this::loop, "unet-engine-" + name);
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /** A submitted run: its result, and a handle to cancel it. */
    public static final class Handle {
        private final Active active;

        private Handle(Active active) {
            this.active = active;
        }

        public CompletableFuture<float[]> result() {
            return active.result;
        }

        /** Stops the run at the next step boundary; a UNet call that serves only cancelled runs is interrupted. */
        public void cancel() {
            active.cancelled = true;
            active.engine.interruptIfAllCancelled();
        }
    }

    private static final class Active {
        final DenoiseRun run;
        final DenoiseListener listener;
        final CompletableFuture<float[]> result = new CompletableFuture<>();
        final long sequence;
        final UnetEngine engine;
        volatile boolean cancelled;

        Active(DenoiseRun run, DenoiseListener listener, long sequence, UnetEngine engine) {
            this.run = run;
            this.listener = listener;
            this.sequence = sequence;
            this.engine = engine;
        }
    }

    private final AtomicLong sequence = new AtomicLong();

    public Handle submit(DenoiseRun run, DenoiseListener listener) {
        if (closed) throw new IllegalStateException("engine is closed");
        Active a = new Active(run, listener, sequence.incrementAndGet(), this);
        incoming.add(a);
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        return new Handle(a);
    }

    /** Runs waiting or in progress. */
    public int queueDepth() {
        return incoming.size() + activeCount;
    }

    public long unetCalls() {
        return unetCalls.get();
    }

    /** Per-request denoising steps done (a batched call counts once per run in it). */
    public long stepsDone() {
        return stepsDone.get();
    }

    public int lastBatchRows() {
        return lastBatchRows;
    }

    private void loop() {
        while (!closed) {
            try {
                boolean wasIdle = active.isEmpty();
                admit();
                if (active.isEmpty()) {
                    awaitWork();
                    continue;
                }
                if (wasIdle && batchWaitNanos > 0 && maxBatchRows > 1) {
                    awaitCompanions();
                    admit();
                }
                runOneBatch(nextBatch());
            } catch (Throwable unexpected) {
                // The engine must outlive any one request: fail what was running and carry on.
                LOG.error("UNet engine iteration failed", unexpected);
                for (Active a : currentBatch) fail(a, unexpected);
            }
        }
        Active a;
        while ((a = incoming.poll()) != null) a.result.completeExceptionally(new CancellationException("engine closed"));
        active.forEach(x -> x.result.completeExceptionally(new CancellationException("engine closed")));
    }

    private void admit() {
        Active a;
        while ((a = incoming.poll()) != null) {
            if (a.run.done()) {
                a.result.complete(a.run.latents());
            } else {
                active.add(a);
            }
        }
        active.removeIf(x -> {
            if (x.cancelled) {
                x.result.completeExceptionally(new CancellationException("cancelled at UNet call "
                        + x.run.completedCalls() + " of " + x.run.totalCalls()));
                return true;
            }
            return false;
        });
        activeCount = active.size();
    }

    private void awaitCompanions() throws InterruptedException {
        long deadline = System.nanoTime() + batchWaitNanos;
        lock.lock();
        try {
            long left;
            while ((left = deadline - System.nanoTime()) > 0 && !closed) workArrived.awaitNanos(left);
        } finally {
            lock.unlock();
        }
    }

    private void awaitWork() throws InterruptedException {
        lock.lock();
        try {
            if (incoming.isEmpty() && !closed) workArrived.await();
        } finally {
            lock.unlock();
        }
    }

    /** The oldest run and every compatible run after it, while the rows fit. */
    private List<Active> nextBatch() {
        active.sort(Comparator.comparingLong(x -> x.sequence));
        Active first = active.get(0);
        List<Active> batch = new ArrayList<>();
        batch.add(first);
        int rows = first.run.unetRows();
        for (int i = 1; i < active.size(); i++) {
            Active candidate = active.get(i);
            if (rows + candidate.run.unetRows() <= maxBatchRows && compatible(first.run, candidate.run)) {
                batch.add(candidate);
                rows += candidate.run.unetRows();
            }
        }
        return batch;
    }

    private static boolean compatible(DenoiseRun a, DenoiseRun b) {
        DenoiseJob x = a.job();
        DenoiseJob y = b.job();
        return a.unet() == b.unet()
                && x.latentHeight() == y.latentHeight() && x.latentWidth() == y.latentWidth()
                && x.sequenceLength() == y.sequenceLength()
                && x.classifierFreeGuidance() == y.classifierFreeGuidance()
                && (!a.unet().scalarTimestep() || (float) a.currentTimestep() == (float) b.currentTimestep());
    }

    private void runOneBatch(List<Active> batch) throws OrtException {
        DenoiseRun first = batch.get(0).run;
        UnetModel unet = first.unet();
        DenoiseJob job = first.job();
        int rows = batch.stream().mapToInt(a -> a.run.unetRows()).sum();
        int plane = job.latentHeight() * job.latentWidth();
        int sampleCount = rows * unet.inChannels() * plane;
        int hiddenCount = rows * job.sequenceLength() * unet.crossAttentionDim();
        int timestepCount = unet.scalarTimestep() ? 1 : rows;
        float[] sample = sampleBuffer = atLeast(sampleBuffer, sampleCount);
        float[] hidden = hiddenBuffer = atLeast(hiddenBuffer, hiddenCount);
        float[] timesteps = timestepBuffer = atLeast(timestepBuffer, timestepCount);
        int offset = 0;
        List<Active> prepared = new ArrayList<>();
        for (Active a : batch) {
            try {
                a.run.writeModelInput(sample, offset);
                a.run.writeHiddenStates(hidden, offset);
                if (!unet.scalarTimestep()) {
                    java.util.Arrays.fill(timesteps, offset, offset + a.run.unetRows(), (float) a.run.currentTimestep());
                }
                prepared.add(a);
            } catch (RuntimeException e) {
                fail(a, e);
            }
            offset += a.run.unetRows();
        }
        if (unet.scalarTimestep()) timesteps[0] = (float) first.currentTimestep();

        float[] output;
        OrtSession.RunOptions runOptions = new OrtSession.RunOptions();
        synchronized (runOptionsLock) {
            currentRunOptions = runOptions;
            currentBatch = batch;
        }
        lastBatchRows = rows;
        try {
            output = unet.predict(FloatBuffer.wrap(sample, 0, sampleCount),
                    new long[]{rows, unet.inChannels(), job.latentHeight(), job.latentWidth()},
                    FloatBuffer.wrap(timesteps, 0, timestepCount), FloatBuffer.wrap(hidden, 0, hiddenCount),
                    new long[]{rows, job.sequenceLength(), unet.crossAttentionDim()}, unetBuffers, runOptions);
        } catch (OrtException e) {
            if (batch.stream().allMatch(a -> a.cancelled)) {
                return; // interrupted on purpose; admit() completes them as cancelled
            }
            throw e;
        } finally {
            // Cancellation sets the terminate flag from another thread: the native options must not be freed under it.
            synchronized (runOptionsLock) {
                currentRunOptions = null;
            }
            runOptions.close();
        }
        unetCalls.incrementAndGet();
        offset = 0;
        for (Active a : batch) {
            int rowsOfRun = a.run.unetRows();
            if (prepared.contains(a)) advance(a, output, offset);
            offset += rowsOfRun;
        }
        currentBatch = List.of();
        activeCount = active.size();
    }

    /**
     * The buffer again while it has room for {@code length} values; only the first {@code length} are fed. Every
     * prepared run overwrites all of its rows; rows of a run that failed to write its input keep stale values, but
     * that run's output rows are discarded.
     */
    private static float[] atLeast(float[] buffer, int length) {
        return buffer.length >= length ? buffer : new float[length];
    }

    private void advance(Active a, float[] output, int rowOffset) {
        try {
            a.run.acceptModelOutput(output, rowOffset);
            stepsDone.incrementAndGet();
            a.listener.progress(a.run.completedCalls(), a.run.totalCalls(), a.run.elapsedMillis());
            int every = a.run.job().previewEvery();
            if (every > 0 && a.run.completedCalls() % every == 0 && !a.run.done()) {
                a.listener.preview(a.run.completedCalls(), a.run.latents());
            }
            if (a.run.done()) {
                retire(a);
                a.result.complete(a.run.latents());
            }
        } catch (RuntimeException e) {
            fail(a, e);
        }
    }

    private void fail(Active a, Throwable e) {
        retire(a);
        a.result.completeExceptionally(e);
    }

    /** Takes a run out of the active set; the count is published before its caller is answered, so it sees it gone. */
    private void retire(Active a) {
        active.remove(a);
        activeCount = active.size();
    }

    private void interruptIfAllCancelled() {
        synchronized (runOptionsLock) {
            OrtSession.RunOptions options = currentRunOptions;
            if (options != null && currentBatch.stream().allMatch(a -> a.cancelled)) {
                try {
                    options.setTerminate(true);
                } catch (OrtException e) {
                    LOG.warn("could not interrupt the running UNet call", e);
                }
            }
        }
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
