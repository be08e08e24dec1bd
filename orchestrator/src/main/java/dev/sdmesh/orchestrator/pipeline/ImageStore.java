package dev.sdmesh.orchestrator.pipeline;

/** The object store holding generated PNGs and latents (and init images referenced as {@code s3://} keys). */
public interface ImageStore {
    void put(String key, byte[] data, String contentType);

    /** The object's bytes, or null when there is none. */
    byte[] get(String key);

    boolean exists(String key);

    /** A time-limited GET URL for the key. */
    String presignedUrl(String key);
}
