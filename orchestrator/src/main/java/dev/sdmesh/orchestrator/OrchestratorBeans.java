package dev.sdmesh.orchestrator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.orchestrator.api.RequestLimits;
import dev.sdmesh.orchestrator.api.RequestParser;
import dev.sdmesh.orchestrator.kafka.KafkaEventSink;
import dev.sdmesh.orchestrator.kafka.KafkaRequestLog;
import dev.sdmesh.orchestrator.pipeline.EventSink;
import dev.sdmesh.orchestrator.pipeline.FolderModelCatalog;
import dev.sdmesh.orchestrator.pipeline.GenerationDefaults;
import dev.sdmesh.orchestrator.pipeline.GenerationIntake;
import dev.sdmesh.orchestrator.pipeline.GenerationMetrics;
import dev.sdmesh.orchestrator.pipeline.GenerationPipeline;
import dev.sdmesh.orchestrator.pipeline.Generations;
import dev.sdmesh.orchestrator.pipeline.ModelCatalog;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.orchestrator.stage.GrpcStages;
import dev.sdmesh.orchestrator.storage.MinioImageStore;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.runtime.model.ModelRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.minio.MinioClient;
import io.opentelemetry.api.OpenTelemetry;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.time.Duration;

/** Wires the plain-Java pipeline to its Quarkus-managed clients and configuration. */
public class OrchestratorBeans {
    private static final Logger LOG = Logger.getLogger(OrchestratorBeans.class);

    @Produces
    @Singleton
    GrpcStages stages(OrchestratorConfig config, GenerationTracing tracing) {
        OrchestratorConfig.Stages s = config.stages();
        return new GrpcStages(settings(s.textEncoder()), settings(s.unet()), settings(s.vae()), s.maxInboundBytes(),
                tracing);
    }

    void closeStages(@Disposes GrpcStages stages) {
        stages.close();
    }

    @Produces
    @Singleton
    GenerationTracing tracing(OpenTelemetry openTelemetry) {
        return new GenerationTracing(openTelemetry);
    }

    private static GrpcStages.StageSettings settings(OrchestratorConfig.Stage stage) {
        return new GrpcStages.StageSettings(stage.addresses().stream().map(String::trim).filter(a -> !a.isEmpty()).toList(),
                stage.deadline());
    }

    @Produces
    @Singleton
    MinioImageStore imageStore(MinioClient client, OrchestratorConfig config) {
        return new MinioImageStore(client, config.storage().bucket(), config.storage().urlExpiry());
    }

    @Produces
    @Singleton
    StatusStore statusStore() {
        return new StatusStore();
    }

    @Produces
    @Singleton
    GenerationMetrics metrics(MeterRegistry registry) {
        return new GenerationMetrics(registry);
    }

    @Produces
    @Singleton
    ModelCatalog models(OrchestratorConfig config) {
        return new FolderModelCatalog(new ModelRegistry(Path.of(config.models().dir()),
                config.models().defaultModel().orElse(null)));
    }

    @Produces
    @Singleton
    RequestParser parser(ObjectMapper json, OrchestratorConfig config) {
        return new RequestParser(json, new RequestLimits(config.generation().maxSize()));
    }

    @Produces
    @Singleton
    Producer<String, byte[]> producer(OrchestratorConfig config) {
        return new KafkaProducer<>(KafkaClients.settings(config).producer());
    }

    void closeProducer(@Disposes Producer<String, byte[]> producer) {
        producer.close(Duration.ofSeconds(5));
    }

    @Produces
    @Singleton
    EventSink events(OrchestratorConfig config, Instance<Producer<String, byte[]>> producer, ObjectMapper json) {
        if (config.kafka().enabled()) return new KafkaEventSink(producer.get(), config.kafka().eventsTopic(), json);
        // REST/gRPC-only deployments: events reach the status store and streams, and the log.
        return (event, traceparent) -> LOG.debugf("%s %s", event.type(), event.requestId());
    }

    @Produces
    @Singleton
    Generations generations(GrpcStages stages, MinioImageStore store, ModelCatalog models, StatusStore statuses,
                            EventSink events, GenerationMetrics metrics, OrchestratorConfig config) {
        OrchestratorConfig.Generation g = config.generation();
        GenerationPipeline pipeline = new GenerationPipeline(stages, store, store.bucket(), models,
                new GenerationDefaults(g.defaultSteps(), g.defaultGuidanceScale(), g.defaultBatchSize(), g.defaultPromptSyntax()),
                metrics);
        return new Generations(pipeline, statuses, events, store, metrics,
                new Generations.Settings(g.concurrency(), g.maxQueued(), g.progressInterval().toMillis()));
    }

    @Produces
    @Singleton
    GenerationIntake intake(RequestParser parser, Generations generations, StatusStore statuses, MinioImageStore store,
                            OrchestratorConfig config, Instance<Producer<String, byte[]>> producer, ObjectMapper json) {
        // Without Kafka there is no durable log to append to: requests run on the replica that took them.
        GenerationIntake.RequestLog log = config.kafka().enabled()
                ? new KafkaRequestLog(producer.get(), config.kafka().requestsTopic(), json) : null;
        return new GenerationIntake(parser, generations, statuses, store, store.bucket(), log, config.generation().maxQueued());
    }

    void closeGenerations(@Disposes Generations generations) {
        generations.close();
    }
}
