package dev.sdmesh.orchestrator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.orchestrator.kafka.KafkaSettings;
import dev.sdmesh.orchestrator.kafka.RequestConsumer;
import dev.sdmesh.orchestrator.kafka.StatusFeed;
import dev.sdmesh.orchestrator.pipeline.Generations;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.orchestrator.storage.MinioImageStore;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Start order: the bucket, the topics, the status replay from the events topic (then followed for as long as the
 * process runs), then the request consumer, so that a redelivered request already finds its earlier outcome. Storage
 * or Kafka being down at start is logged and left to the readiness check rather than failing the process.
 */
@ApplicationScoped
public class OrchestratorLifecycle {
    private static final Logger LOG = Logger.getLogger(OrchestratorLifecycle.class);

    @Inject
    OrchestratorConfig config;
    @Inject
    MinioImageStore store;
    @Inject
    StatusStore statuses;
    @Inject
    Generations generations;
    @Inject
    RequestParser parser;
    @Inject
    GenerationTracing tracing;
    @Inject
    ObjectMapper json;
    @Inject
    Instance<Producer<String, byte[]>> producer;
    @Inject
    MeterRegistry meters;

    private StatusFeed feed;
    private RequestConsumer consumer;

    void start(@Observes StartupEvent event) {
        try {
            store.ensureBucket();
        } catch (RuntimeException e) {
            LOG.errorf("storage not ready at start: %s", e.getMessage());
        }
        if (!config.kafka().enabled()) return;
        KafkaSettings kafka = KafkaClients.settings(config);
        createTopics(kafka);
        feed = new StatusFeed(new KafkaConsumer<>(kafka.replayConsumer()), kafka.eventsTopic(), statuses, json,
                config.kafka().replayTimeout());
        try {
            int n = feed.replay();
            LOG.infof("status rebuilt from %d events (%d generations)", n, statuses.size());
        } catch (RuntimeException e) {
            LOG.errorf("status replay from %s failed: %s", kafka.eventsTopic(), e.getMessage());
        }
        start(feed, "generation-status");
        consumer = new RequestConsumer(new KafkaConsumer<>(kafka.requestConsumer()), producer.get(), generations, parser, kafka,
                tracing);
        meters.gauge("sdmesh.kafka.requests.in.flight", consumer, RequestConsumer::inFlight);
        start(consumer, "generation-requests");
    }

    private static void start(Runnable loop, String name) {
        Thread thread = new Thread(loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) {
        if (consumer != null) consumer.close();
        if (feed != null) feed.close();
    }

    private void createTopics(KafkaSettings kafka) {
        try (Admin admin = Admin.create(kafka.common())) {
            List<NewTopic> topics = List.of(kafka.requestsTopic(), kafka.eventsTopic(), kafka.dlqTopic()).stream()
                    .map(name -> new NewTopic(name, Optional.of(kafka.partitions()), Optional.empty()))
                    .toList();
            admin.createTopics(topics).values().forEach((name, created) -> {
                try {
                    created.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) LOG.warnf("topic %s: %s", name, e.getCause().getMessage());
                } catch (Exception e) {
                    LOG.warnf("topic %s: %s", name, e.getMessage());
                }
            });
        }
    }
}
