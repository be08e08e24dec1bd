package dev.sdmesh.runtime.grpc;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import dev.sdmesh.runtime.model.ModelException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Maps the domain's exceptions to gRPC statuses, with {@code google.rpc.BadRequest} field details for invalid
 * fields, so that every service answers bad input the same way and never dies of it.
 */
public final class GrpcErrors {
    private GrpcErrors() {
    }

    public static StatusRuntimeException toStatus(Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof StatusRuntimeException status) return status;
        if (e instanceof InvalidFieldException invalid) return invalidArgument(invalid.field(), invalid.description());
        if (e instanceof ModelException model) {
            return switch (model.kind()) {
                case NOT_FOUND -> Status.NOT_FOUND.withDescription(model.getMessage()).asRuntimeException();
                case INVALID_ID -> invalidArgument("model", model.getMessage());
                case BROKEN -> Status.FAILED_PRECONDITION.withDescription(model.getMessage()).asRuntimeException();
            };
        }
        if (e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
        if (e instanceof CancellationException) {
            return Status.CANCELLED.withDescription(e.getMessage()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(e.getClass().getSimpleName() + ": " + e.getMessage()).withCause(e)
                .asRuntimeException();
    }

    /** INVALID_ARGUMENT whose description and BadRequest detail both name the field. */
    public static StatusRuntimeException invalidArgument(String field, String description) {
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(Code.INVALID_ARGUMENT_VALUE)
                .setMessage(field + ": " + description)
                .addDetails(Any.pack(BadRequest.newBuilder()
                        .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(description))
                        .build()))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }

    /** The field named by a status's BadRequest detail, or null. */
    public static String violatedField(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) return null;
        for (Any detail : status.getDetailsList()) {
            if (detail.is(BadRequest.class)) {
                try {
                    BadRequest bad = detail.unpack(BadRequest.class);
                    if (bad.getFieldViolationsCount() > 0) return bad.getFieldViolations(0).getField();
                } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
                    return null;
                }
            }
        }
        return null;
    }

    private static Throwable unwrap(Throwable e) {
        Throwable current = e;
        while ((current instanceof CompletionException || current instanceof ExecutionException) && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }
}
