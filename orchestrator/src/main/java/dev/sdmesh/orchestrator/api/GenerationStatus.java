package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;
import java.util.Map;

/**
 * What {@code GET /v1/generations/{id}} answers: the state folded from the generation's events.
 *
 * @param status queued | running | succeeded | failed | cancelled
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record GenerationStatus(
        String requestId,
        String status,
        Integer step,
        Integer total,
        List<GenerationEvent.ImageRef> images,
        GenerationEvent.Error error,
        String infotext,
        Map<String, Long> timingsMs,
        Map<String, String> metadata) {

    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    public boolean terminal() {
        return SUCCEEDED.equals(status) || FAILED.equals(status) || CANCELLED.equals(status);
    }

    /** The status after {@code event}; {@code previous} may be null (first event seen). */
    public static GenerationStatus fold(GenerationStatus previous, GenerationEvent event) {
        Map<String, String> metadata = event.metadata() != null && !event.metadata().isEmpty() ? event.metadata()
                : previous == null ? Map.of() : previous.metadata();
        return switch (event.type()) {
            case GenerationEvent.ACCEPTED -> new GenerationStatus(event.requestId(), QUEUED, null, null, null, null, null, null, metadata);
            case GenerationEvent.PROGRESS -> new GenerationStatus(event.requestId(), RUNNING, event.step(), event.total(),
                    null, null, null, null, metadata);
            case GenerationEvent.COMPLETED -> new GenerationStatus(event.requestId(), SUCCEEDED,
                    previous == null ? null : previous.total(), previous == null ? null : previous.total(),
                    event.images(), null, event.infotext(), event.timingsMs(), metadata);
            case GenerationEvent.FAILED -> new GenerationStatus(event.requestId(), FAILED, null, null, null, event.error(),
                    null, null, metadata);
            case GenerationEvent.CANCELLED -> new GenerationStatus(event.requestId(), CANCELLED,
                    previous == null ? null : previous.step(), previous == null ? null : previous.total(), null, null, null, null, metadata);
            default -> previous;
        };
    }
}
