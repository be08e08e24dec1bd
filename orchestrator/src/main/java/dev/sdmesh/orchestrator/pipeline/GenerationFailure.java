package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;

/** A generation that cannot complete, with the code, message and field its {@code failed} event reports. */
public class GenerationFailure extends RuntimeException {
    private final String code;
    private final String field;

    public GenerationFailure(String code, String message, String field, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.field = field;
    }

    public String code() {
        return code;
    }

    public String field() {
        return field;
    }

    public GenerationEvent.Error toError() {
        return new GenerationEvent.Error(code, getMessage(), field);
    }
}
