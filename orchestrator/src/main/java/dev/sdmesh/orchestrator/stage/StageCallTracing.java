package dev.sdmesh.orchestrator.stage;

import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;

/**
 * A client span per stage call, a child of the generation's trace, whose context goes to the stage in the call's
 * metadata ({@code traceparent}), where the stage service's own server span continues it. The generation's
 * {@code traceparent} travels in the call options, because the stage calls run on the generation's worker thread
 * with no tracing context of their own.
 */
final class StageCallTracing implements ClientInterceptor {
    static final CallOptions.Key<String> GENERATION_TRACEPARENT = CallOptions.Key.create("sdmesh-generation-traceparent");

    private final GenerationTracing tracing;

    StageCallTracing(GenerationTracing tracing) {
        this.tracing = tracing;
    }

    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        String generation = options.getOption(GENERATION_TRACEPARENT);
        if (generation == null) return next.newCall(method, options);
        Span span = tracing.startClientCall(method.getFullMethodName(), generation);
        span.setAttribute("rpc.system", "grpc");
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<A> listener, Metadata headers) {
                tracing.inject(span, (key, value) -> headers.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value));
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        span.setAttribute("rpc.grpc.status_code", status.getCode().value());
                        if (!status.isOk()) span.setStatus(StatusCode.ERROR, status.getCode().name());
                        span.end();
                        super.onClose(status, trailers);
                    }
                }, headers);
            }
        };
    }
}
