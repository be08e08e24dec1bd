package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.pipeline.EventSink;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Writes events to the events topic keyed by requestId, with the trace's {@code traceparent} header. */
public final class KafkaEventSink implements EventSink {
    private static final Logger LOG = Logger.getLogger(KafkaEventSink.class);
    static final String TRACEPARENT = "traceparent";

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final ObjectMapper json;

    public KafkaEventSink(Producer<String, byte[]> producer, String topic, ObjectMapper json) {
        this.producer = producer;
        this.topic = topic;
        this.json = json;
    }

    @Override
    public void publish(GenerationEvent event, String traceparent) {
        byte[] value;
        try {
            value = json.writeValueAsBytes(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise event", e);
        }
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, event.requestId(), value);
        if (traceparent != null) record.headers().add(TRACEPARENT, traceparent.getBytes(StandardCharsets.US_ASCII));
        var sent = producer.send(record, (metadata, error) -> {
            if (error != null) LOG.warnf("%s event of %s not written: %s", event.type(), event.requestId(), error.toString());
        });
        // Progress is best effort; accepted and terminal events are waited for, the request's offset commit follows them.
        if (GenerationEvent.PROGRESS.equals(event.type())) return;
        awaitWritten(sent, "the " + event.type() + " event of " + event.requestId());
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
