package dev.sdmesh.orchestrator.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import dev.sdmesh.orchestrator.stage.TraceparentInterceptor;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Carries the caller's W3C {@code traceparent} metadata into the call's gRPC {@link Context}, where the front door
 * reads it (generated service methods see only the request message).
 */
@ApplicationScoped
@GlobalInterceptor
public class CallerTraceparent implements ServerInterceptor {
    private static final Context.Key<String> CALLER = Context.key("sdmesh-caller-traceparent");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String traceparent = headers.get(TraceparentInterceptor.TRACEPARENT);
        if (traceparent == null) return next.startCall(call, headers);
        return Contexts.interceptCall(Context.current().withValue(CALLER, traceparent), call, headers, next);
    }

    /** The current call's {@code traceparent} metadata, or null when the caller sent none. */
    static String current() {
        return CALLER.get();
    }
}
