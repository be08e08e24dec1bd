package dev.sdmesh.runtime.model;

/** A model id or model folder that cannot be used; {@link Kind} tells callers which status to answer with. */
public class ModelException extends RuntimeException {
    public enum Kind {
        /** No model with that id. */
        NOT_FOUND,
        /** The id itself is not acceptable (not a plain folder name). */
        INVALID_ID,
        /** The folder exists but a part is missing or unreadable. */
        BROKEN
    }

    private final Kind kind;

    public ModelException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ModelException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
