package dev.sdmesh.orchestrator.kafka;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.orchestrator.pipeline.Generations;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import io.opentelemetry.api.trace.Span;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * The requests topic's consumer loop (plain kafka-clients, one thread). Each record is validated and handed to
 * {@link Generations}; its offset is committed only after its terminal event is written (out-of-order completions are
 * tracked by {@link OffsetTracker}). While {@code maxInFlight} records are unfinished all partitions are paused, so a
 * deep backlog stays in Kafka, not in memory. A record that is not valid JSON or breaks the schema is copied to the DLQ
 * with the reason in headers, reported with a {@code failed} event when its requestId can be read, and committed:
 * a poison record never blocks its partition. A record with the header {@code sdmesh-control: cancel} cancels the
 * generation named by its key when it runs here (see {@link KafkaRequestLog}).
 */
public final class RequestConsumer implements Runnable, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RequestConsumer.class);

    /** Header names as SmallRye's dead-letter-queue strategy writes them, so existing DLQ tooling reads them. */
    static final String DLQ_REASON = "dead-letter-reason";
    static final String DLQ_FIELD = "dead-letter-field";
    static final String DLQ_TOPIC = "dead-letter-topic";
    static final String DLQ_PARTITION = "dead-letter-partition";
    static final String DLQ_OFFSET = "dead-letter-offset";

    private record Done(TopicPartition partition, long offset) {
    }

    private final Consumer<String, byte[]> consumer;
    private final Producer<String, byte[]> producer;
    private final Generations generations;
    private final RequestParser parser;
    private final GenerationTracing tracing;
    private final KafkaSettings settings;
    private final OffsetTracker offsets = new OffsetTracker();
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;
    /** The tracker's count as of the last loop turn, for the metrics thread (the tracker is the loop's alone). */
    private volatile int inFlight;

    public RequestConsumer(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer, Generations generations,
                           RequestParser parser, KafkaSettings settings, GenerationTracing tracing) {
        this.consumer = consumer;
        this.producer = producer;
        this.generations = generations;
        this.parser = parser;
        this.settings = settings;
        this.tracing = tracing;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(settings.requestsTopic()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    commitFinished();
                    offsets.revoked(partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                }
            });
            while (running) {
                commitFinished();
                inFlight = offsets.inFlight();
                if (inFlight >= settings.maxInFlight()) {
                    consumer.pause(consumer.assignment());
                } else if (!consumer.paused().isEmpty()) {
                    consumer.resume(consumer.paused());
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    handle(record);
                }
            }
        } catch (WakeupException e) {
            if (running) throw e;
        } catch (RuntimeException e) {
            LOG.error("request consumer stopped", e);
        } finally {
            try {
                commitFinished();
            } catch (RuntimeException e) {
                LOG.warn("final commit failed", e);
            }
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Records consumed and not yet finished. */
    public int inFlight() {
        return inFlight;
    }

    private void handle(ConsumerRecord<String, byte[]> record) {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        offsets.started(partition, record.offset());
        Runnable finished = () -> done.add(new Done(partition, record.offset()));
        if (KafkaRequestLog.CANCEL.equals(header(record, KafkaRequestLog.CONTROL))) {
            // A control record, not a request: the schema and the DLQ do not apply to it.
            if (record.key() != null) generations.cancel(record.key());
            finished.run();
            return;
        }
        String text = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
        Span span = tracing.startGeneration(record.headers(), record.topic(), record.key());
        String traceparent = tracing.traceparent(span);
        try {
            GenerationRequest request = parser.parse(text);
            generations.submit(request, traceparent).whenComplete((event, error) -> {
                GenerationTracing.end(span, error == null ? event.type() : "unwritten", error);
                // A terminal event that could not be written leaves the offset uncommitted: redelivered after a restart.
                if (error == null) finished.run();
            });
        } catch (InvalidFieldException e) {
            reject(record, e, traceparent);
            GenerationTracing.end(span, "failed", e);
            finished.run();
        } catch (RuntimeException e) {
            LOG.errorf(e, "request at %s offset %d not accepted", partition, record.offset());
            reject(record, new InvalidFieldException("", e.getMessage()), traceparent);
            GenerationTracing.end(span, "failed", e);
            finished.run();
        }
    }

    private void reject(ConsumerRecord<String, byte[]> record, InvalidFieldException error, String traceparent) {
        String text = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
        String requestId = parser.requestIdOf(text);
        String field = error.field().isEmpty() ? null : error.field();
        if (requestId != null) {
            generations.reject(requestId, new GenerationEvent.Error("invalid_request", error.description(), field), traceparent);
        }
        ProducerRecord<String, byte[]> dead = new ProducerRecord<>(settings.dlqTopic(), null, record.key(), record.value(),
                record.headers());
        String reason = field == null ? error.description() : error.getMessage();
        dead.headers().add(DLQ_REASON, utf8(reason));
        if (field != null) dead.headers().add(DLQ_FIELD, utf8(field));
        dead.headers().add(DLQ_TOPIC, utf8(record.topic()));
        dead.headers().add(DLQ_PARTITION, utf8(Integer.toString(record.partition())));
        dead.headers().add(DLQ_OFFSET, utf8(Long.toString(record.offset())));
        try {
            producer.send(dead).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write to the DLQ " + settings.dlqTopic(), e);
        }
        LOG.infof("request at %s-%d offset %d sent to %s: %s", record.topic(), record.partition(), record.offset(),
                settings.dlqTopic(), reason);
    }

    private void commitFinished() {
        for (Done d = done.poll(); d != null; d = done.poll()) offsets.finished(d.partition(), d.offset());
        Map<TopicPartition, OffsetAndMetadata> commit = offsets.committable();
        commit.keySet().retainAll(consumer.assignment());
        if (commit.isEmpty()) return;
        consumer.commitSync(commit);
        offsets.committed(commit);
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.US_ASCII);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
    }
}
