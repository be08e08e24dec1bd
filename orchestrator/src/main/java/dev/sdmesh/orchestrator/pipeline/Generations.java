package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.model.ModelException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.jboss.logging.Logger;

import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the generations this replica consumed from the requests topic (where every entry, Kafka, REST and gRPC, puts
 * them; see {@link GenerationIntake}): idempotency by requestId, a bounded worker pool ordered by priority,
 * cancellation, and the event stream ({@code accepted}, rate-limited {@code progress}, then exactly one terminal
 * event) written to the {@link EventSink} and the {@link StatusStore}.
 */
public final class Generations implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Generations.class);

    /** Bounds of the worker pool and its queue, and the least time between two progress events of one generation. */
    public record Settings(int concurrency, int maxQueued, long progressIntervalMs) {
    }

    private final GenerationPipeline pipeline;
    private final StatusStore statuses;
    private final EventSink sink;
    private final ImageStore store;
    private final GenerationMetrics metrics;
    private final Settings settings;
    private final ThreadPoolExecutor workers;
    private final Map<String, Job> active = new ConcurrentHashMap<>();
    private final AtomicLong sequence = new AtomicLong();

    public Generations(GenerationPipeline pipeline, StatusStore statuses, EventSink sink, ImageStore store,
                       GenerationMetrics metrics, Settings settings) {
        this.pipeline = pipeline;
        this.statuses = statuses;
        this.sink = sink;
        this.store = store;
        this.metrics = metrics;
        this.settings = settings;
        AtomicInteger threads = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(settings.concurrency(), settings.concurrency(), 60, TimeUnit.SECONDS,
                new PriorityBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "generation-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Accepts a request, or joins the one already running under its requestId, or re-emits the terminal event of one
     * already finished (its images still in the store). The future completes once the terminal event is written.
     *
     * @throws InvalidFieldException      when the request cannot run (e.g. unknown model); nothing is published
     * @throws RejectedExecutionException when the queue is full
     */
    public CompletableFuture<GenerationEvent> submit(GenerationRequest request, String traceparent) {
        String id = request.requestId();
        Job running = active.get(id);
        if (running != null) return running.terminal;
        GenerationEvent finished = statuses.terminalEvent(id);
        if (finished != null && (!GenerationEvent.COMPLETED.equals(finished.type()) || imagesExist(finished))) {
            GenerationEvent again = finished.reemitted();
            emit(again, traceparent);
            return CompletableFuture.completedFuture(again);
        }
        if (workers.getQueue().size() >= settings.maxQueued()) {
            throw new RejectedExecutionException("queue full: " + settings.maxQueued() + " generations are waiting");
        }
        ResolvedRequest resolved = resolve(request);
        Job job = new Job(resolved, traceparent, request.priority() == null ? 0 : request.priority(), sequence.incrementAndGet());
        Job raced = active.putIfAbsent(id, job);
        if (raced != null) return raced.terminal;
        emit(GenerationEvent.accepted(id, request.metadata()), traceparent);
        metrics.queued().incrementAndGet();
        workers.execute(job);
        return job.terminal;
    }

    /**
     * Reports a request refused before acceptance (it broke the schema) with a {@code failed} event, so that whoever
     * sent it learns why; a generation running under the same requestId is left alone.
     */
    public void reject(String requestId, GenerationEvent.Error error, String traceparent) {
        if (active.containsKey(requestId)) return;
        emit(GenerationEvent.failed(requestId, error, Map.of()), traceparent);
        metrics.outcome(GenerationEvent.FAILED);
    }

    /** Cancels a queued or running generation; returns its status, or null when unknown. */
    public GenerationStatus cancel(String requestId) {
        Job job = active.get(requestId);
        if (job != null) job.context.cancellation().cancel();
        return statuses.get(requestId);
    }

    public ResolvedRequest resolve(GenerationRequest request) {
        try {
            return pipeline.resolve(request);
        } catch (ModelException e) {
            throw new InvalidFieldException("model", e.getMessage());
        }
    }

    /** Generations accepted here and not yet finished. */
    public int activeCount() {
        return active.size();
    }

    private boolean imagesExist(GenerationEvent completed) {
        return completed.images() != null && completed.images().stream().allMatch(image -> store.exists(image.key()));
    }

    private void emit(GenerationEvent event, String traceparent) {
        sink.publish(event, traceparent);
        statuses.apply(event);
    }

    private final class Job implements Runnable, Comparable<Job> {
        final ResolvedRequest request;
        final StageContext context;
        final int priority;
        final long order;
        final CompletableFuture<GenerationEvent> terminal = new CompletableFuture<>();
        private long lastProgress;
        private int lastStep;
        private int total;

        Job(ResolvedRequest request, String traceparent, int priority, long order) {
            this.request = request;
            this.context = new StageContext(traceparent, new Cancellation());
            this.priority = priority;
            this.order = order;
        }

        /** Higher priority first, then first come first served. */
        @Override
        public int compareTo(Job other) {
            int byPriority = Integer.compare(other.priority, priority);
            return byPriority != 0 ? byPriority : Long.compare(order, other.order);
        }

        @Override
        public void run() {
            metrics.queued().decrementAndGet();
            metrics.running().incrementAndGet();
            GenerationRequest r = request.request();
            GenerationEvent end;
            try {
                context.cancellation().throwIfCancelled();
                end = pipeline.run(request, context, this::update);
            } catch (RuntimeException e) {
                end = terminalFor(r, e, context.cancellation().isCancelled());
            } finally {
                metrics.running().decrementAndGet();
            }
            RuntimeException unpublished = null;
            try {
                emit(end, context.traceparent());
                metrics.outcome(end.type());
            } catch (RuntimeException e) {
                LOG.errorf(e, "could not publish the %s event of %s", end.type(), r.requestId());
                unpublished = e;
            } finally {
                // Leave the active set before completing: whoever the completion wakes must find the terminal status.
                active.remove(r.requestId(), this);
            }
            if (unpublished == null) terminal.complete(end);
            else terminal.completeExceptionally(unpublished);
        }

        /** Progress is rate-limited (the last step always goes out); every preview goes out, on a progress event. */
        private void update(DenoiseEvent event) {
            String preview = null;
            if (event.hasPreview()) {
                preview = Base64.getEncoder().encodeToString(event.getPreview().getPng().toByteArray());
                lastStep = event.getPreview().getStep();
            } else {
                lastStep = event.getProgress().getStep();
                total = event.getProgress().getTotal();
                long now = System.currentTimeMillis();
                if (lastStep < total && now - lastProgress < settings.progressIntervalMs()) return;
                lastProgress = now;
            }
            emit(GenerationEvent.progress(request.request().requestId(), lastStep, total, preview, request.request().metadata()),
                    context.traceparent());
        }
    }

    /** The terminal event for a generation that threw. */
    static GenerationEvent terminalFor(GenerationRequest r, Throwable e, boolean cancelled) {
        if (cancelled || e instanceof CancellationException
                || (e instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.CANCELLED)) {
            return GenerationEvent.cancelled(r.requestId(), r.metadata());
        }
        return GenerationEvent.failed(r.requestId(), errorOf(e), r.metadata());
    }

    static GenerationEvent.Error errorOf(Throwable e) {
        if (e instanceof GenerationFailure f) return f.toError();
        if (e instanceof InvalidFieldException f) return new GenerationEvent.Error("invalid_argument", f.description(), f.field());
        if (e instanceof ModelException m) return new GenerationEvent.Error("model_error", m.getMessage(), "model");
        if (e instanceof StatusRuntimeException s) {
            String message = s.getStatus().getDescription() == null ? s.getStatus().getCode().toString() : s.getStatus().getDescription();
            String field = GrpcErrors.violatedField(s);
            return new GenerationEvent.Error(s.getStatus().getCode().name().toLowerCase(), message, field);
        }
        LOG.error("generation failed unexpectedly", e);
        return new GenerationEvent.Error("internal", e.getClass().getSimpleName() + ": " + e.getMessage(), null);
    }

    @Override
    public void close() {
        active.values().forEach(job -> job.context.cancellation().cancel());
        workers.shutdownNow();
    }
}
