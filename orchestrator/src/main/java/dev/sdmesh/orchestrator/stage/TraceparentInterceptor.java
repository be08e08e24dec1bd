package dev.sdmesh.orchestrator.stage;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

/**
 * Puts the generation's W3C {@code traceparent} into each stage call's metadata, so the stages' spans join the trace
 * the request came with (Kafka header, HTTP header or gRPC metadata). The value travels in the call options.
 */
public final class TraceparentInterceptor implements ClientInterceptor {
    public static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
    public static final CallOptions.Key<String> OPTION = CallOptions.Key.create("traceparent");

    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        String traceparent = options.getOption(OPTION);
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<A> listener, Metadata headers) {
                if (traceparent != null) headers.put(TRACEPARENT, traceparent);
                super.start(listener, headers);
            }
        };
    }
}
