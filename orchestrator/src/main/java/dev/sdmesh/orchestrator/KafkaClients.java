package dev.sdmesh.orchestrator;

import dev.sdmesh.orchestrator.kafka.KafkaSettings;

/** The Kafka settings from configuration. */
final class KafkaClients {
    private KafkaClients() {
    }

    static KafkaSettings settings(OrchestratorConfig config) {
        OrchestratorConfig.Kafka k = config.kafka();
        return new KafkaSettings(k.bootstrapServers(), k.groupId(), k.requestsTopic(), k.eventsTopic(), k.dlqTopic(),
                k.partitions(), k.maxInFlight());
    }
}
