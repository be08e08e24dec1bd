package dev.sdmesh.orchestrator.pipeline;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * W3C trace context {@code traceparent} values. The orchestrator propagates the header itself (Kafka record headers,
 * HTTP headers, gRPC metadata) rather than through an OpenTelemetry SDK; a request without one starts a new trace.
 */
public final class Traceparent {
    private static final Pattern VALID = Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
    private static final String INVALID_TRACE = "0".repeat(32);

    private Traceparent() {
    }

    /** The incoming value when it is a valid traceparent, else a new sampled root. */
    public static String continueOrStart(String incoming) {
        if (incoming != null) {
            String v = incoming.trim().toLowerCase();
            if (VALID.matcher(v).matches() && !v.substring(3, 35).equals(INVALID_TRACE)) return v;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        byte[] trace = new byte[16];
        byte[] span = new byte[8];
        random.nextBytes(trace);
        random.nextBytes(span);
        trace[0] |= 1; // never the all-zero invalid id
        return "00-" + HexFormat.of().formatHex(trace) + "-" + HexFormat.of().formatHex(span) + "-01";
    }
}
