package dev.sdmesh.orchestrator;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The {@code sdmesh.*} settings (see application.properties for the SDMESH_* environment overrides). */
@ConfigMapping(prefix = "sdmesh")
public interface OrchestratorConfig {
    Models models();

    Stages stages();

    Generation generation();

    Kafka kafka();

    Storage storage();

    interface Models {
        /** The shared models directory; read for model ids and default sizes only. */
        @WithDefault("models")
        String dir();

        /** Default model id; unset = the only (else the first) model. */
        @WithName("default")
        Optional<String> defaultModel();
    }

    interface Stages {
        @WithName("text-encoder")
        Stage textEncoder();

        Stage unet();

        Stage vae();

        @WithName("max-inbound-bytes")
        @WithDefault("67108864")
        int maxInboundBytes();
    }

    interface Stage {
        List<String> addresses();

        Duration deadline();
    }

    interface Generation {
        @WithDefault("2")
        int concurrency();

        @WithName("max-queued")
        @WithDefault("1000")
        int maxQueued();

        @WithName("progress-interval")
        @WithDefault("500ms")
        Duration progressInterval();

        @WithName("max-size")
        @WithDefault("1024")
        int maxSize();

        @WithName("default-steps")
        @WithDefault("20")
        int defaultSteps();

        @WithName("default-guidance-scale")
        @WithDefault("7.5")
        double defaultGuidanceScale();

        @WithName("default-batch-size")
        @WithDefault("1")
        int defaultBatchSize();

        @WithName("default-prompt-syntax")
        @WithDefault("a1111")
        String defaultPromptSyntax();

        /** How long the synchronous entries (A1111 endpoints, gRPC Generate) wait for a result. */
        @WithName("sync-timeout")
        @WithDefault("30m")
        Duration syncTimeout();
    }

    interface Kafka {
        @WithDefault("true")
        boolean enabled();

        @WithName("bootstrap-servers")
        String bootstrapServers();

        @WithName("group-id")
        @WithDefault("sdmesh-orchestrator")
        String groupId();

        @WithName("requests-topic")
        @WithDefault("sdmesh.generation.requests")
        String requestsTopic();

        @WithName("events-topic")
        @WithDefault("sdmesh.generation.events")
        String eventsTopic();

        @WithName("dlq-topic")
        @WithDefault("sdmesh.generation.requests.dlq")
        String dlqTopic();

        @WithDefault("3")
        int partitions();

        @WithName("max-in-flight")
        @WithDefault("8")
        int maxInFlight();

        @WithName("replay-timeout")
        @WithDefault("60s")
        Duration replayTimeout();
    }

    interface Storage {
        @WithDefault("sdmesh-images")
        String bucket();

        @WithName("url-expiry")
        @WithDefault("1h")
        Duration urlExpiry();
    }
}
