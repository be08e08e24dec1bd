package dev.sdmesh.orchestrator.pipeline;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Prometheus meters: requests by outcome, queue depth, per-stage latency and images written (its rate is images/s).
 */
public final class GenerationMetrics {
    private final MeterRegistry registry;
    private final AtomicInteger queued;
    private final AtomicInteger running;
    private final Counter images;

    public GenerationMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.queued = registry.gauge("sdmesh.generation.queue.depth", new AtomicInteger());
        this.running = registry.gauge("sdmesh.generation.running", new AtomicInteger());
        this.images = Counter.builder("sdmesh.generation.images").description("Images generated").register(registry);
    }

    public void outcome(String type) {
        registry.counter("sdmesh.generation.requests", "outcome", type).increment();
    }

    public void stageLatency(String stage, Duration duration) {
        Timer.builder("sdmesh.stage.latency").tag("stage", stage).publishPercentileHistogram(false)
                .register(registry).record(duration);
    }

    public void imagesWritten(int count) {
        images.increment(count);
    }

    public AtomicInteger queued() {
        return queued;
    }

    public AtomicInteger running() {
        return running;
    }
}
