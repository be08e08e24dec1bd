package dev.sdmesh.orchestrator.pipeline;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Object keys: {@code {yyyy}/{MM}/{dd}/{requestId}/{n}.png} and {@code .npy} for latents, and {@code init.png} /
 * {@code mask.png} for input images a front door received inline, dated in UTC.
 */
public final class StorageKeys {
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC);
    public static final String S3_SCHEME = "s3://";

    private StorageKeys() {
    }

    public static String image(Instant day, String requestId, int index) {
        return prefix(day, requestId) + index + ".png";
    }

    public static String latents(Instant day, String requestId, int index) {
        return prefix(day, requestId) + index + ".npy";
    }

    /** @param field {@code initImage} or {@code mask} */
    public static String input(Instant day, String requestId, String field) {
        return prefix(day, requestId) + ("mask".equals(field) ? "mask" : "init") + ".png";
    }

    /** The {@code s3://bucket/key} reference the request fields take. */
    public static String reference(String bucket, String key) {
        return S3_SCHEME + bucket + "/" + key;
    }

    private static String prefix(Instant day, String requestId) {
        return DAY.format(day) + "/" + requestId + "/";
    }

    /**
     * The key named by an {@code s3://bucket/key} or {@code s3://key} reference inside the configured bucket, or null
     * when the reference is not an s3 one.
     */
    public static String fromReference(String reference, String bucket) {
        if (!reference.startsWith(S3_SCHEME)) return null;
        String rest = reference.substring(S3_SCHEME.length());
        return rest.startsWith(bucket + "/") ? rest.substring(bucket.length() + 1) : rest;
    }
}
