package dev.sdmesh.bench;

import java.util.Map;

/**
 * One configuration sent through the mesh one request at a time.
 *
 * @param endToEndMs request published → {@code completed} event received, as the client sees it
 * @param stagesMs   the orchestrator's per-stage times from the completed events ({@code timingsMs})
 * @param overhead   against the floor of the same model and size; null when no floor was measured
 */
public record MeshRun(RequestSpec request, int maxBatch, Summary endToEndMs, Map<String, Summary> stagesMs,
                      Overhead overhead, Transfers transfers) {
}
