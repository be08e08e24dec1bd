package dev.sdmesh.orchestrator.api;

import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.util.List;

/** What {@code GET /v1/generations?limit=N} answers: the most recent generations, newest first. */
public record GenerationList(List<GenerationSummary> generations) {
    public static final int DEFAULT_LIMIT = 20;
    public static final int MAX_LIMIT = 100;

    /** The {@code limit} query parameter; absent means {@link #DEFAULT_LIMIT}. */
    public static int limit(String text) {
        if (text == null || text.isBlank()) return DEFAULT_LIMIT;
        int limit;
        try {
            limit = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw outOfRange("\"" + text + "\"");
        }
        if (limit < 1 || limit > MAX_LIMIT) throw outOfRange(String.valueOf(limit));
        return limit;
    }

    private static InvalidFieldException outOfRange(String given) {
        return new InvalidFieldException("limit", "must be an integer in [1, " + MAX_LIMIT + "], was " + given);
    }
}
