package dev.sdmesh.cli;

import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code sdmesh up}: starts Kafka, S3 and the four services on loopback and returns once all are healthy. When the
 * mesh is already running it does nothing; when some of its processes have died it starts exactly those again.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the local mesh (embedded Kafka and S3, text-encoder-svc, unet-svc, vae-svc, orchestrator).")
public final class UpCommand implements Callable<Integer> {
    private static final String OTLP_EXPORT_LOG_LEVEL =
            "quarkus.log.category.\"io.quarkus.opentelemetry.runtime.exporter.otlp.sender\".level";

    @Option(names = "--unet-replicas", defaultValue = "1", description = "unet-svc processes (default ${DEFAULT-VALUE}).")
    int unetReplicas;

    @Option(names = "--device", defaultValue = "${env:SDMESH_UNET_DEVICE:-auto}",
            description = "unet-svc device: cpu, auto or cuda:N (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--timeout", defaultValue = "300", description = "Seconds to wait for health (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        MeshLayout layout = MeshLayout.fromEnvironment();
        var existing = MeshState.load(layout.stateFile());
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        if (existing.isPresent() && existing.get().anyAlive()) {
            MeshState state = existing.get();
            List<MeshState.Service> dead = state.services.stream().filter(s -> !s.alive()).toList();
            if (dead.isEmpty()) {
                System.out.println("sdmesh is already running (state in " + layout.stateFile() + "); nothing to do.");
                return 0;
            }
            restart(layout, state, dead, timeout);
            System.out.println("restarted " + dead.stream().map(MeshState.Service::name).toList());
            StatusCommand.print(state, System.out);
            return 0;
        }
        if (!layout.missingJars().isEmpty()) {
            System.err.println("services are not built: " + layout.missingJars() + "; run ./sdmesh (it builds) or ./mvnw -Pcpu -DskipTests install");
            return 2;
        }
        long started = System.nanoTime();
        ensureDefaultModel(layout);
        MeshState state = start(layout, unetReplicas, device, timeout);
        System.out.printf("sdmesh is up in %.1f s%n", (System.nanoTime() - started) / 1e9);
        StatusCommand.print(state, System.out);
        return 0;
    }

    /** Generates the tiny default model on first run, when the models directory holds none. */
    static void ensureDefaultModel(MeshLayout layout) throws IOException {
        Files.createDirectories(layout.modelsDir());
        try (Stream<Path> entries = Files.list(layout.modelsDir())) {
            if (entries.anyMatch(p -> Files.isRegularFile(p.resolve("model_index.json")))) return;
        }
        Path target = layout.modelsDir().resolve("tiny");
        System.out.println("generating the tiny default model (random weights: images look like noise) into " + target);
        ModelGenerator.generate(Preset.TINY, target, 0L, false, null);
    }

    /** Starts the whole mesh and saves its state; on any failure stops what it started. */
    static MeshState start(MeshLayout layout, int unetReplicas, String device, Duration timeout) throws Exception {
        return start(layout, unetReplicas, device, Map.of(), timeout);
    }

    /**
     * @param unetProperties extra system properties for every unet-svc process (e.g. {@code sdmesh.unet.max-batch})
     */
    static MeshState start(MeshLayout layout, int unetReplicas, String device, Map<String, String> unetProperties,
                           Duration timeout) throws Exception {
        ProcessLauncher launcher = new ProcessLauncher(layout.logsDir());
        MeshState state = new MeshState();
        List<ProcessLauncher.Launched> started = new ArrayList<>();
        try {
            String classpath = MeshLayout.ownClasspath();
            var kafka = launcher.start("kafka", ProcessLauncher.javaCommand(List.of("-Xmx512m"), classpath,
                    "dev.sdmesh.testkit.EmbeddedKafka", List.of("--port", Integer.toString(layout.kafkaPort()),
                            "--dir", layout.stateDir().resolve("kafka").toString())));
            started.add(kafka);
            var s3 = launcher.start("s3", ProcessLauncher.javaCommand(List.of("-Xmx256m"), classpath,
                    "dev.sdmesh.testkit.EmbeddedS3", List.of("--port", Integer.toString(layout.s3Port()),
                            "--dir", layout.stateDir().resolve("s3").toString())));
            started.add(s3);
            state.kafka = launcher.awaitReadyLine(kafka, timeout);
            state.s3 = launcher.awaitReadyLine(s3, timeout);
            record(state, launcher, kafka, layout.kafkaPort(), null);
            record(state, launcher, s3, layout.s3Port(), null);

            Map<String, Integer> ports = new LinkedHashMap<>();
            ports.put("text-encoder-svc", layout.textEncoderPort());
            for (int i = 0; i < unetReplicas; i++) ports.put(unetName(i), layout.unetReplicaPort(i));
            ports.put("vae-svc", layout.vaePort());
            ports.put("orchestrator", layout.orchestratorPort());
            List<String> unetAddresses = new ArrayList<>();
            for (int i = 0; i < unetReplicas; i++) unetAddresses.add("127.0.0.1:" + layout.unetReplicaPort(i));

            List<ProcessLauncher.Launched> services = new ArrayList<>();
            for (var entry : ports.entrySet()) {
                String module = entry.getKey().startsWith("unet-svc") ? "unet-svc" : entry.getKey();
                Map<String, String> properties = new LinkedHashMap<>();
                properties.put("quarkus.http.port", Integer.toString(entry.getValue()));
                properties.put("sdmesh.models.dir", layout.modelsDir().toString());
                properties.put("sdmesh.unet.device", device);
                // The local mesh has no trace collector unless one is named: drop its spans without a warning each.
                String collector = System.getenv("SDMESH_OTEL_ENDPOINT");
                if (collector == null || collector.isBlank()) properties.put(OTLP_EXPORT_LOG_LEVEL, "ERROR");
                if (module.equals("unet-svc")) properties.putAll(unetProperties);
                if (module.equals("orchestrator")) {
                    properties.put("kafka.bootstrap.servers", state.kafka);
                    properties.put("quarkus.minio.host", "http://127.0.0.1");
                    properties.put("quarkus.minio.port", Integer.toString(layout.s3Port()));
                    properties.put("quarkus.minio.secure", "false");
                    properties.put("quarkus.minio.access-key", MeshLayout.S3_ACCESS_KEY);
                    properties.put("quarkus.minio.secret-key", MeshLayout.S3_SECRET_KEY);
                    properties.put("sdmesh.stages.text-encoder.addresses", "127.0.0.1:" + layout.textEncoderPort());
                    properties.put("sdmesh.stages.unet.addresses", String.join(",", unetAddresses));
                    properties.put("sdmesh.stages.vae.addresses", "127.0.0.1:" + layout.vaePort());
                }
                List<String> jvmArgs = new ArrayList<>();
                jvmArgs.add(module.equals("unet-svc") ? "-Xmx3g" : "-Xmx1g");
                properties.forEach((k, v) -> jvmArgs.add("-D" + k + "=" + v));
                var launched = launcher.start(entry.getKey(),
                        ProcessLauncher.javaCommand(jvmArgs, layout.serviceJar(module).toString(), null, List.of()));
                started.add(launched);
                services.add(launched);
            }
            for (var launched : services) {
                int port = ports.get(launched.name());
                launcher.awaitHealthy(launched.name(), launched.process(), port, timeout);
                record(state, launcher, launched, port, "http://127.0.0.1:" + port + "/q/health");
            }
            state.rest = "http://127.0.0.1:" + layout.orchestratorPort();
            state.grpc = "127.0.0.1:" + layout.orchestratorPort();
            state.save(layout.stateFile());
            return state;
        } catch (Exception e) {
            started.forEach(l -> ProcessLauncher.stop(l.process().pid(), Duration.ofSeconds(5)));
            throw e;
        }
    }

    private static void record(MeshState state, ProcessLauncher launcher, ProcessLauncher.Launched launched, int port,
                               String health) {
        state.services.add(new MeshState.Service(launched.name(), launched.process().pid(), port,
                launcher.logFile(launched.name()).toString(), health, launched.command()));
    }

    /** Starts dead processes again with their original command lines and waits until each is ready. */
    static void restart(MeshLayout layout, MeshState state, List<MeshState.Service> dead, Duration timeout) throws Exception {
        ProcessLauncher launcher = new ProcessLauncher(layout.logsDir());
        for (MeshState.Service service : dead) {
            var launched = launcher.start(service.name(), service.command());
            if (service.health() == null) {
                launcher.awaitReadyLine(launched, timeout);
            } else {
                launcher.awaitHealthy(service.name(), launched.process(), service.port(), timeout);
            }
            state.withPid(service, launched.process().pid());
            state.save(layout.stateFile());
        }
    }

    static String unetName(int replica) {
        return replica == 0 ? "unet-svc" : "unet-svc-" + replica;
    }
}
