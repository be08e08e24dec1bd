package dev.sdmesh.testkit;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * A Kafka broker for {@code @QuarkusTest}s: a Testcontainers broker where Docker is available,
 * the in-process {@link EmbeddedKafka} otherwise, so the tests run (and never skip) on machines without Docker.
 * Both are real brokers at the kafka-clients version the Quarkus BOM pins.
 */
public class KafkaTestResource implements QuarkusTestResourceLifecycleManager {

    static final String IMAGE = "apache/kafka:4.1.1";

    private AutoCloseable broker;

    @Override
    public Map<String, String> start() {
        String bootstrapServers;
        if (DockerClientFactory.instance().isDockerAvailable()) {
            KafkaContainer container = new KafkaContainer(IMAGE);
            container.start();
            broker = container::stop;
            bootstrapServers = container.getBootstrapServers();
        } else {
            EmbeddedKafka kafka = EmbeddedKafka.start(null);
            broker = kafka;
            bootstrapServers = kafka.bootstrapServers();
        }
        return Map.of(
                "kafka.bootstrap.servers", bootstrapServers,
                "mp.messaging.connector.smallrye-kafka.bootstrap.servers", bootstrapServers);
    }

    @Override
    public void stop() {
        if (broker == null) {
            return;
        }
        try {
            broker.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the test Kafka broker", e);
        } finally {
            broker = null;
        }
    }
}
