package dev.sdmesh.orchestrator.pipeline;

/**
 * What every stage call of one generation carries: the W3C {@code traceparent} propagated as gRPC metadata, and the
 * generation's cancel switch.
 */
public record StageContext(String traceparent, Cancellation cancellation) {
}
