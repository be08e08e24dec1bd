package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/**
 * One generation as {@code GET /v1/generations} lists it: its state, when it was first seen and when it ended, and for a
 * completed one its images (served by this orchestrator, so the URLs do not expire) and infotext.
 *
 * @param created  time of the generation's first event
 * @param finished time of its terminal event; null while it runs
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record GenerationSummary(
        String requestId,
        String status,
        Instant created,
        Instant finished,
        List<Image> images,
        String infotext,
        GenerationEvent.Error error) {

    /**
     * @param url  the orchestrator's own path for the PNG
     * @param seed unsigned decimal, as in the events
     */
    public record Image(int index, String key, String url, String seed) {
    }

    /** @param terminal the generation's terminal event, or null while it runs */
    public static GenerationSummary of(GenerationStatus status, long createdMillis, GenerationEvent terminal) {
        List<Image> images = status.images() == null ? List.of() : status.images().stream()
                .map(i -> new Image(i.index(), i.key(), imagePath(status.requestId(), i.index()), i.seed()))
                .toList();
        return new GenerationSummary(status.requestId(), status.status(), Instant.ofEpochMilli(createdMillis),
                terminal == null ? null : Instant.ofEpochMilli(terminal.time()), images, status.infotext(), status.error());
    }

    /** Where {@code GET /v1/generations/{id}/images/{n}} serves the PNG; requestIds are URL-safe by their pattern. */
    public static String imagePath(String requestId, int index) {
        return "/v1/generations/" + requestId + "/images/" + index;
    }
}
