package dev.sdmesh.textencoder.service;

import ai.onnxruntime.OrtException;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Encoded;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Request;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Merges concurrent encode requests for one model into one text-encoder run (continuous batching): the requests that
 * arrived during a run go together into the next one, which starts as soon as that run ends, as long as their prompts
 * total at most {@code maxBatch}. Only a request that finds the encoder idle may wait, up to {@code batchWaitMillis}
 * (0: not at all), for others to start with it. A request never waits for a run it does not fit in; it starts the next
 * one.
 */
public final class EncodeBatcher implements AutoCloseable {
    /** What the batcher runs: {@code PromptEncoder::encodeAll}, one result per request in order. */
    @FunctionalInterface
    public interface Encoder {
        List<Encoded> encodeAll(List<Request> requests) throws OrtException;
    }

    /** Told after every text-encoder run how many requests it served. */
    @FunctionalInterface
    public interface Listener {
        void ran(int requests);
    }

    private record Pending(Request request, CompletableFuture<Encoded> result) {
        int prompts() {
            return request.prompts().size();
        }
    }

    private final Encoder encoder;
    private final int maxBatch;
    private final long batchWaitNanos;
    private final Listener listener;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final AtomicLong runs = new AtomicLong();
    private final Thread worker;
    /** A request taken from the queue that did not fit the batch being collected; only the worker touches it. */
    private Pending carried;
    private volatile boolean closed;

    public EncodeBatcher(String name, Encoder encoder, int maxBatch, long batchWaitMillis, Listener listener) {
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        this.encoder = encoder;
        this.maxBatch = maxBatch;
        this.batchWaitNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(0, batchWaitMillis));
        this.listener = listener;
        this.worker = new Thread(this::work, "text-encoder-batcher-" + name);
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues a request; the future fails with the encoder's exception (e.g. IllegalArgumentException for bad input). */
    public CompletableFuture<Encoded> submit(Request request) {
        CompletableFuture<Encoded> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(new IllegalStateException("text encoder is shutting down"));
            return result;
        }
        queue.add(new Pending(request, result));
        return result;
    }

    /** Text-encoder runs so far (each serves one or more requests). */
    public long runs() {
        return runs.get();
    }

    private void work() {
        try {
            while (!closed) {
                // Requests that queued up during the last run have waited long enough: they run now, together.
                boolean idle = carried == null && queue.isEmpty();
                Pending first = carried != null ? carried : queue.take();
                carried = null;
                run(collect(first, idle ? batchWaitNanos : 0));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        failWaiting();
    }

    private List<Pending> collect(Pending first, long waitNanos) throws InterruptedException {
        List<Pending> batch = new ArrayList<>();
        batch.add(first);
        int prompts = first.prompts();
        long deadline = System.nanoTime() + waitNanos;
        while (prompts < maxBatch) {
            Pending next = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (next == null) break;
            if (prompts + next.prompts() > maxBatch) {
                carried = next;
                break;
            }
            batch.add(next);
            prompts += next.prompts();
        }
        return batch;
    }

    private void run(List<Pending> batch) {
        try {
            List<Encoded> results = encoder.encodeAll(batch.stream().map(Pending::request).toList());
            ran(batch.size());
            for (int i = 0; i < batch.size(); i++) batch.get(i).result().complete(results.get(i));
        } catch (IllegalArgumentException e) {
            // encodeAll rejects the whole batch for one bad request before running; the others must not fail with it.
            if (batch.size() == 1) {
                batch.get(0).result().completeExceptionally(e);
            } else {
                batch.forEach(p -> run(List.of(p)));
            }
        } catch (OrtException | RuntimeException e) {
            batch.forEach(p -> p.result().completeExceptionally(e));
        }
    }

    private void ran(int requests) {
        runs.incrementAndGet();
        listener.ran(requests);
    }

    private void failWaiting() {
        IllegalStateException stopped = new IllegalStateException("text encoder is shutting down");
        if (carried != null) carried.result().completeExceptionally(stopped);
        for (Pending p; (p = queue.poll()) != null; ) p.result().completeExceptionally(stopped);
    }

    /** Stops the worker after its current run; waiting requests fail. */
    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
