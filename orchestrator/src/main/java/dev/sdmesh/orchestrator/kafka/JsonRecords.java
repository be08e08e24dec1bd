package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The orchestrator's records: a JSON value keyed by requestId, carrying the trace's {@code traceparent} header. */
final class JsonRecords {
    private JsonRecords() {
    }

    /** {@code what} names the value in the error when it cannot be serialised. */
    static ProducerRecord<String, byte[]> keyed(ObjectMapper json, String topic, String requestId, Object value,
                                                String traceparent, String what) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + what, e);
        }
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, requestId, bytes);
        if (traceparent != null) record.headers().add(GenerationTracing.TRACEPARENT, traceparent.getBytes(StandardCharsets.US_ASCII));
        return record;
    }

    /** Waits for the broker's acknowledgement of a record, which {@code what} names in the error. */
    static void awaitWritten(Future<RecordMetadata> sent, String what) {
        try {
            sent.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted writing " + what, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot write " + what, e);
        }
    }
}
