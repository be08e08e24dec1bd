package dev.sdmesh.runtime.grpc;

/** A request field outside its limits; the message names the limit, {@link #field()} the field. */
public class InvalidFieldException extends IllegalArgumentException {
    private final String field;

    public InvalidFieldException(String field, String description) {
        super(field + ": " + description);
        this.field = field;
    }

    public String field() {
        return field;
    }

    public String description() {
        return getMessage().substring(field.length() + 2);
    }
}
