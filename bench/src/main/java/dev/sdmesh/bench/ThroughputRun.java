package dev.sdmesh.bench;

/**
 * {@code requests} requests sent by {@code concurrency} clients at once, each sending its next when the previous one
 * completes.
 *
 * @param maxBatch        unet-svc's {@code sdmesh.unet.max-batch} (1 = continuous batching off)
 * @param imagesPerMinute completed images ÷ wall time from the first publish to the last completion
 */
public record ThroughputRun(RequestSpec request, int maxBatch, int concurrency, int requests, double imagesPerMinute,
                            Summary latencyMs) {
}
