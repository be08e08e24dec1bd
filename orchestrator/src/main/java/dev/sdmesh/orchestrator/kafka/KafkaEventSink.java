package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.pipeline.EventSink;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/** Writes events to the events topic keyed by requestId, with the trace's {@code traceparent} header. */
public final class KafkaEventSink implements EventSink {
    private static final Logger LOG = Logger.getLogger(KafkaEventSink.class);

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
        ProducerRecord<String, byte[]> record = JsonRecords.keyed(json, topic, event.requestId(), event, traceparent, "event");
        var sent = producer.send(record, (metadata, error) -> {
            if (error != null) LOG.warnf("%s event of %s not written: %s", event.type(), event.requestId(), error.toString());
        });
        // Progress is best effort; accepted and terminal events are waited for, the request's offset commit follows them.
        if (GenerationEvent.PROGRESS.equals(event.type())) return;
        JsonRecords.awaitWritten(sent, "the " + event.type() + " event of " + event.requestId());
    }
}
