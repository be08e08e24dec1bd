package dev.sdmesh.testkit;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * A real Kafka broker in KRaft combined mode (one node that is both controller and broker), running
 * in this JVM on a loopback port.
 *
 * <p>With a data directory the log survives {@link #close()}: the next {@link #start(Path)} on the
 * same directory reuses the formatted storage, so topics and records are still there. The controller
 * quorum is static ({@code controller.quorum.voters}), which keeps the controller port out of the
 * stored metadata and lets every restart pick a fresh one.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final KafkaRaftServer server;
    private final DataDirectory dataDir;
    private final String bootstrapServers;

    private EmbeddedKafka(KafkaRaftServer server, DataDirectory dataDir, String bootstrapServers) {
        this.server = server;
        this.dataDir = dataDir;
        this.bootstrapServers = bootstrapServers;
    }

    /** Starts a broker on a free port; {@code dataDirOrNull} null means a temporary log deleted on close. */
    public static EmbeddedKafka start(Path dataDirOrNull) {
        return start(dataDirOrNull, 0);
    }

    /** Starts a broker on {@code port}, or on a free port when it is 0. */
    public static EmbeddedKafka start(Path dataDirOrNull, int port) {
        DataDirectory dataDir = DataDirectory.of(dataDirOrNull, "embedded-kafka");
        int brokerPort = port == 0 ? LoopbackPorts.free() : port;
        int controllerPort = LoopbackPorts.free();
        String bootstrap = "127.0.0.1:" + brokerPort;
        KafkaConfig config = new KafkaConfig(brokerProperties(dataDir.path(), brokerPort, controllerPort), false);
        KafkaRaftServer server = null;
        try {
            formatStorageOnce(dataDir.path());
            server = new KafkaRaftServer(config, Time.SYSTEM);
            server.startup();
            EmbeddedKafka kafka = new EmbeddedKafka(server, dataDir, bootstrap);
            kafka.awaitBrokerRegistered();
            return kafka;
        } catch (Exception e) {
            if (server != null) {
                server.shutdown();
                server.awaitShutdown();
            }
            dataDir.release();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("embedded Kafka did not start on " + bootstrap, e);
        }
    }

    private static Properties brokerProperties(Path logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + "," + CONTROLLER_LISTENER + "://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        // A single node cannot hold the default three replicas of the internal topics.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        // Consumers in tests join alone; waiting for more members only adds latency.
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "true");
        p.put("num.partitions", "1");
        return p;
    }

    /** What {@code kafka-storage.sh format} does, skipped when the directory already holds a formatted log. */
    private static void formatStorageOnce(Path logDir) throws Exception {
        if (Files.exists(logDir.resolve("meta.properties"))) {
            return;
        }
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(NODE_ID)
                .setClusterId(Uuid.randomUuid().toString())
                .addDirectory(logDir.toString())
                .setMetadataLogDirectory(logDir.toString())
                .setControllerListenerName(CONTROLLER_LISTENER)
                .run();
    }

    /** {@code startup()} returns before the broker has registered with its controller and opened for clients. */
    private void awaitBrokerRegistered() throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Exception lastFailure = null;
        try (Admin admin = admin()) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (TimeoutException | ExecutionException e) {
                    lastFailure = e;
                }
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("broker not ready after " + READY_TIMEOUT, lastFailure);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Creates a topic with replication factor 1; an existing topic is left as it is. */
    public void createTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create topic " + name, e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topic " + name, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("timed out creating topic " + name, e);
        }
    }

    private Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
        dataDir.release();
    }

    /** {@code java -cp ... dev.sdmesh.testkit.EmbeddedKafka [--port 9092] [--dir DIR]}: prints {@code READY <bootstrap>}. */
    public static void main(String[] args) throws InterruptedException {
        ChildProcessMain.Options options = ChildProcessMain.Options.parse(args);
        EmbeddedKafka kafka = start(options.dir(), options.port());
        ChildProcessMain.serveUntilStopped(kafka, kafka.bootstrapServers());
    }
}
