package dev.sdmesh.orchestrator.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.StreamSupport;

/**
 * The orchestrator's OpenTelemetry spans and the W3C trace context that joins them to the caller and the stages.
 * <p>
 * Inside the pipeline a generation's trace context travels as its W3C {@code traceparent} string, so the domain code
 * needs no tracing types; this class turns it into spans and back. A consumed request gets a span that lasts until its
 * terminal event, a child of the context in the record's headers, and every stage call a client span below that.
 */
public final class GenerationTracing {
    public static final String TRACEPARENT = "traceparent";

    private static final TextMapGetter<Headers> KAFKA_HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            return StreamSupport.stream(headers.spliterator(), false).map(Header::key).toList();
        }

        @Override
        public String get(Headers headers, String key) {
            Header header = headers == null ? null : headers.lastHeader(key);
            return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
        }
    };

    private static final TextMapGetter<Map<String, String>> MAP = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final TextMapPropagator propagator;
    private final Tracer tracer;

    public GenerationTracing(OpenTelemetry openTelemetry) {
        this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
        this.tracer = openTelemetry.getTracer("dev.sdmesh.orchestrator");
    }

    /** No spans and no propagation: for code run without an OpenTelemetry SDK. */
    public static GenerationTracing disabled() {
        return new GenerationTracing(OpenTelemetry.noop());
    }

    /** Starts the span of a request consumed from {@code topic}, continuing the trace in the record's headers. */
    public Span startGeneration(Headers headers, String topic, String requestId) {
        Context parent = propagator.extract(Context.root(), headers, KAFKA_HEADERS);
        var span = tracer.spanBuilder(topic + " process").setParent(parent).setSpanKind(SpanKind.CONSUMER)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.destination.name", topic);
        if (requestId != null) span.setAttribute("sdmesh.request_id", requestId);
        return span.startSpan();
    }

    /** Ends a generation's span with its outcome: the terminal event's type, or the reason none was written. */
    public static void end(Span span, String outcome, Throwable error) {
        span.setAttribute("sdmesh.outcome", outcome);
        if (error != null) span.recordException(error);
        if (error != null || "failed".equals(outcome)) span.setStatus(StatusCode.ERROR, outcome);
        span.end();
    }

    /** Starts a client span of a call named {@code name} below the generation whose {@code traceparent} is given. */
    public Span startClientCall(String name, String traceparent) {
        return tracer.spanBuilder(name).setParent(parse(traceparent)).setSpanKind(SpanKind.CLIENT).startSpan();
    }

    /** The W3C {@code traceparent} of a span, or null when it carries no valid trace (tracing off). */
    public String traceparent(Span span) {
        Map<String, String> carrier = new HashMap<>();
        inject(span, carrier::put);
        return carrier.get(TRACEPARENT);
    }

    /** The {@code traceparent} of the span current on this thread: the front doors' server span of the call. */
    public String currentTraceparent() {
        return traceparent(Span.current());
    }

    /** The W3C headers (traceparent, tracestate) of a span, to put on an outgoing call. */
    public void inject(Span span, BiConsumer<String, String> header) {
        propagator.inject(Context.root().with(span), header, (h, k, v) -> h.accept(k, v));
    }

    private Context parse(String traceparent) {
        if (traceparent == null) return Context.root();
        return propagator.extract(Context.root(), Map.of(TRACEPARENT, traceparent), MAP);
    }
}
