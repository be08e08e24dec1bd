package dev.sdmesh.orchestrator.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.pipeline.GenerationIntake;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/**
 * The front doors' requests on the requests topic: the request JSON keyed by requestId with the {@code traceparent}
 * header, exactly as a backend publishes it; and cancels, as records with no value and the header
 * {@code sdmesh-control: cancel} under the same key, so that they follow the request to its partition's consumer.
 */
public final class KafkaRequestLog implements GenerationIntake.RequestLog {
    /** Header marking a control record on the requests topic; the value names the action. */
    static final String CONTROL = "sdmesh-control";
    static final String CANCEL = "cancel";

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final ObjectMapper json;

    public KafkaRequestLog(Producer<String, byte[]> producer, String topic, ObjectMapper json) {
        this.producer = producer;
        this.topic = topic;
        this.json = json;
    }

    @Override
    public void append(String requestId, JsonNode request, String traceparent) {
        send(JsonRecords.keyed(json, topic, requestId, request, traceparent, "request " + requestId), "request " + requestId);
    }

    @Override
    public void appendCancel(String requestId) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, requestId, null);
        record.headers().add(CONTROL, CANCEL.getBytes(StandardCharsets.US_ASCII));
        send(record, "cancel of " + requestId);
    }

    private void send(ProducerRecord<String, byte[]> record, String what) {
        JsonRecords.awaitWritten(producer.send(record), "the " + what + " to " + topic);
    }
}
