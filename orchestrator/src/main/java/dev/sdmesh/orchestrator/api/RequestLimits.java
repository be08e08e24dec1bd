package dev.sdmesh.orchestrator.api;

/**
 * The stages' limits, checked up front so that a bad request fails with the field named before any stage runs.
 *
 * @param maxSize largest width/height accepted (configured, default 1024; never above {@link #HARD_MAX_SIZE})
 */
public record RequestLimits(int maxSize) {
    public static final int HARD_MAX_SIZE = 2048;
    public static final int SIZE_MULTIPLE = 8;
    public static final int MAX_STEPS = 150;
    public static final double MAX_GUIDANCE = 50;
    public static final int MAX_BATCH = 8;
    public static final int MAX_PROMPT_CHARS = 4096;
    public static final int MAX_CLIP_SKIP = 12;
    public static final int MAX_REQUEST_ID_CHARS = 128;
    public static final int MAX_METADATA_ENTRIES = 64;

    public static final RequestLimits DEFAULT = new RequestLimits(1024);

    public RequestLimits {
        if (maxSize < SIZE_MULTIPLE || maxSize > HARD_MAX_SIZE || maxSize % SIZE_MULTIPLE != 0) {
            throw new IllegalArgumentException("max size must be a multiple of 8 in [8, " + HARD_MAX_SIZE + "]: " + maxSize);
        }
    }
}
