package dev.sdmesh.orchestrator.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;

/**
 * The way in for the REST, A1111 and gRPC front doors. A request is validated first, so a bad one (or one beyond a
 * full queue) is answered at once and goes nowhere. A good one is made durable before it runs: its inline images are
 * written to the store and replaced by their {@code s3://} keys (a Kafka record stays small), and the request is
 * appended to the requests topic, from which the replica owning its partition runs it exactly as a request published
 * by a backend, so a crash of the replica that took it loses nothing. Without a {@link RequestLog} (Kafka disabled)
 * the request runs here.
 */
public final class GenerationIntake {
    private static final String[] IMAGE_FIELDS = {"initImage", "mask"};

    /** The requests topic as the front doors write to it. */
    public interface RequestLog {
        /** Appends the request keyed by its requestId; returns once it is durably written. */
        void append(String requestId, JsonNode request, String traceparent);

        /** Appends a cancel under the generation's key, so that it reaches whichever replica consumed the request. */
        void appendCancel(String requestId);
    }

    /**
     * A valid request not yet sent.
     *
     * @param body   the request JSON as it will be sent
     * @param inline the decoded bytes of image fields given inline, by field name
     */
    public record Admitted(ObjectNode body, ResolvedRequest request, Map<String, byte[]> inline) {
        public String requestId() {
            return request.request().requestId();
        }
    }

    private final RequestParser parser;
    private final Generations generations;
    private final StatusStore statuses;
    private final ImageStore store;
    private final String bucket;
    private final RequestLog log;
    private final int maxQueued;

    /** @param log the requests topic, or null to run requests here */
    public GenerationIntake(RequestParser parser, Generations generations, StatusStore statuses, ImageStore store,
                            String bucket, RequestLog log, int maxQueued) {
        this.parser = parser;
        this.generations = generations;
        this.statuses = statuses;
        this.store = store;
        this.bucket = bucket;
        this.log = log;
        this.maxQueued = maxQueued;
    }

    /**
     * Validates a request JSON as the Kafka consumer would, and resolves its model.
     *
     * @throws InvalidFieldException      naming the field at fault
     * @throws RejectedExecutionException when {@code maxQueued} generations are unfinished
     */
    public Admitted admit(JsonNode body) {
        GenerationRequest request = parser.parse(body);
        ResolvedRequest resolved = generations.resolve(request);
        Map<String, byte[]> inline = new LinkedHashMap<>();
        for (String field : IMAGE_FIELDS) {
            String value = body.path(field).asText("");
            if (!value.isEmpty() && StorageKeys.fromReference(value, bucket) == null) {
                inline.put(field, GenerationPipeline.decodeInline(value, field));
            }
        }
        int unfinished = statuses.unfinishedCount();
        if (unfinished >= maxQueued) {
            throw new RejectedExecutionException("queue full: " + unfinished + " generations are queued or running (max-queued "
                    + maxQueued + ")");
        }
        return new Admitted(((ObjectNode) body).deepCopy(), resolved, Map.copyOf(inline));
    }

    /** Sends an admitted request on its way; its status is {@code queued} here when this returns. */
    public void send(Admitted admitted, String traceparent) {
        GenerationRequest request = admitted.request().request();
        if (log == null) {
            generations.submit(request, traceparent);
            return;
        }
        ObjectNode body = admitted.body();
        Instant now = Instant.now();
        admitted.inline().forEach((field, bytes) -> {
            String key = StorageKeys.input(now, request.requestId(), field);
            store.put(key, bytes, "image/png");
            body.put(field, StorageKeys.reference(bucket, key));
        });
        log.append(request.requestId(), body, traceparent);
        statuses.submitted(request.requestId(), request.metadata());
    }

    /**
     * Cancels the generation here if it runs here, and through the requests topic wherever else it runs. Returns its
     * status, or null when unknown.
     */
    public GenerationStatus cancel(String requestId) {
        GenerationStatus status = generations.cancel(requestId);
        if (log != null && status != null && !status.terminal()) log.appendCancel(requestId);
        return status;
    }
}
