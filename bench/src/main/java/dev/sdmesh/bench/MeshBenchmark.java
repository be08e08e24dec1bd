package dev.sdmesh.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Drives a running mesh through {@link MeshClient}s: latency one request at a time, and throughput with several
 * clients at once. Every client sends untimed requests first, so that neither the client's connection set-up, a
 * stage's lazy model load nor the JVMs' warm-up is counted.
 */
public final class MeshBenchmark {
    /**
     * Untimed requests before a sequential run, for as long as this budget lasts: a fresh mesh's JVMs need some 20–50
     * requests of JIT compilation before a small model's requests settle (500–900 ms down to 200–300 ms on 2 cores),
     * while one sd15 request already spends the budget.
     */
    private static final long WARM_UP_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(15);
    private static final int MAX_WARM_UPS = 50;

    private final MeshClient.Factory clients;
    private final int maxBatch;
    private final AtomicInteger seeds = new AtomicInteger();

    /** @param maxBatch the unet-svc {@code sdmesh.unet.max-batch} the mesh was started with (recorded, not applied) */
    public MeshBenchmark(MeshClient.Factory clients, int maxBatch) {
        this.clients = clients;
        this.maxBatch = maxBatch;
    }

    /** {@code runs} requests one after another; overhead against {@code floor} when it is not null. */
    public MeshRun sequential(RequestSpec spec, int runs, ModelGeometry geometry, Floor floor) throws Exception {
        List<Double> endToEnd = new ArrayList<>();
        Map<String, List<Double>> stages = new LinkedHashMap<>();
        long pngBytes;
        try (MeshClient client = clients.open()) {
            long warmUpStart = System.nanoTime();
            JsonNode warm = client.generate(next(spec));
            pngBytes = client.firstImageBytes(warm);
            for (int i = 1; i < MAX_WARM_UPS && System.nanoTime() - warmUpStart < WARM_UP_BUDGET_NANOS; i++) {
                client.generate(next(spec));
            }
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                JsonNode completed = client.generate(next(spec));
                endToEnd.add((System.nanoTime() - start) / 1e6);
                completed.path("timingsMs").fields().forEachRemaining(stage ->
                        stages.computeIfAbsent(stage.getKey(), k -> new ArrayList<>()).add(stage.getValue().asDouble()));
            }
        }
        Map<String, Summary> stageSummaries = new LinkedHashMap<>();
        stages.forEach((stage, ms) -> stageSummaries.put(stage, Summary.of(ms)));
        Summary e2e = Summary.of(endToEnd);
        Overhead overhead = floor == null ? null : Overhead.of(floor, spec, e2e);
        return new MeshRun(spec, maxBatch, e2e, stageSummaries, overhead, Transfers.of(geometry, spec, pngBytes));
    }

    /** {@code requests} requests from {@code concurrency} clients, each sending its next as soon as one completes. */
    public ThroughputRun throughput(RequestSpec spec, int concurrency, int requests) throws Exception {
        List<MeshClient> open = new ArrayList<>();
        ExecutorService workers = Executors.newFixedThreadPool(concurrency);
        try {
            for (int i = 0; i < concurrency; i++) open.add(clients.open());
            List<Future<?>> warmUps = new ArrayList<>();
            for (MeshClient client : open) warmUps.add(workers.submit(() -> client.generate(next(spec))));
            for (Future<?> warmUp : warmUps) warmUp.get();

            AtomicInteger left = new AtomicInteger(requests);
            List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            List<Future<?>> running = new ArrayList<>();
            for (MeshClient client : open) {
                running.add(workers.submit(() -> {
                    while (left.getAndDecrement() > 0) {
                        long sent = System.nanoTime();
                        client.generate(next(spec));
                        latencies.add((System.nanoTime() - sent) / 1e6);
                    }
                    return null;
                }));
            }
            for (Future<?> worker : running) worker.get();
            double minutes = (System.nanoTime() - start) / 60e9;
            return new ThroughputRun(spec, maxBatch, concurrency, requests, requests / minutes, Summary.of(latencies));
        } finally {
            workers.shutdownNow();
            for (MeshClient client : open) client.close();
        }
    }

    private ObjectNode next(RequestSpec spec) {
        return spec.toRequest("bench-" + UUID.randomUUID(), 1000L + seeds.getAndIncrement());
    }
}
