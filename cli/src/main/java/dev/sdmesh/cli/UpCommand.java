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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code sdmesh up}: starts Kafka, S3 and the four services on loopback and returns once all are healthy. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the local mesh (embedded Kafka and S3, text-encoder-svc, unet-svc, vae-svc, orchestrator).")
public final class UpCommand implements Callable<Integer> {

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
        if (existing.isPresent() && existing.get().anyAlive()) {
            System.out.println("sdmesh is already running (state in " + layout.stateFile() + "); nothing to do.");
            return 0;
        }
        if (!layout.missingJars().isEmpty()) {
            System.err.println("services are not built: " + layout.missingJars() + "; run ./sdmesh (it builds) or ./mvnw -Pcpu -DskipTests install");
            return 2;
        }
        long started = System.nanoTime();
        ensureDefaultModel(layout);
        MeshState state = start(layout, unetReplicas, device, Duration.ofSeconds(timeoutSeconds));
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

    static MeshState start(MeshLayout layout, int unetReplicas, String device, Duration timeout) throws Exception {
        ProcessLauncher launcher = new ProcessLauncher(layout.logsDir());
        MeshState state = new MeshState();
        List<Process> started = new ArrayList<>();
        try {
            String classpath = MeshLayout.ownClasspath();
            Process kafka = launcher.start("kafka", List.of("-Xmx512m"), classpath, "dev.sdmesh.testkit.EmbeddedKafka",
                    List.of("--port", Integer.toString(layout.kafkaPort()), "--dir", layout.stateDir().resolve("kafka").toString()),
                    Map.of());
            started.add(kafka);
            Process s3 = launcher.start("s3", List.of("-Xmx256m"), classpath, "dev.sdmesh.testkit.EmbeddedS3",
                    List.of("--port", Integer.toString(layout.s3Port()), "--dir", layout.stateDir().resolve("s3").toString()),
                    Map.of());
            started.add(s3);
            state.kafka = launcher.awaitReadyLine("kafka", kafka, timeout);
            state.s3 = launcher.awaitReadyLine("s3", s3, timeout);
            state.services.add(new MeshState.Service("kafka", kafka.pid(), layout.kafkaPort(),
                    launcher.logFile("kafka").toString(), null));
            state.services.add(new MeshState.Service("s3", s3.pid(), layout.s3Port(), launcher.logFile("s3").toString(), null));

            Map<String, Integer> stages = new java.util.LinkedHashMap<>();
            stages.put("text-encoder-svc", layout.textEncoderPort());
            for (int i = 0; i < unetReplicas; i++) stages.put(unetName(i), layout.unetReplicaPort(i));
            stages.put("vae-svc", layout.vaePort());
            Map<String, Process> processes = new java.util.LinkedHashMap<>();
            for (var stage : stages.entrySet()) {
                String module = stage.getKey().startsWith("unet-svc") ? "unet-svc" : stage.getKey();
                Process p = launcher.start(stage.getKey(), serviceJvmArgs(layout, module, stage.getValue(), device),
                        layout.serviceJar(module).toString(), null, List.of(), Map.of());
                started.add(p);
                processes.put(stage.getKey(), p);
            }
            List<String> unetAddresses = new ArrayList<>();
            for (int i = 0; i < unetReplicas; i++) unetAddresses.add("127.0.0.1:" + layout.unetReplicaPort(i));
            List<String> orchestratorArgs = new ArrayList<>(serviceJvmArgs(layout, "orchestrator", layout.orchestratorPort(), device));
            orchestratorArgs.addAll(List.of(
                    "-Dkafka.bootstrap.servers=" + state.kafka,
                    "-Dquarkus.minio.host=http://127.0.0.1",
                    "-Dquarkus.minio.port=" + layout.s3Port(),
                    "-Dquarkus.minio.secure=false",
                    "-Dquarkus.minio.access-key=" + MeshLayout.S3_ACCESS_KEY,
                    "-Dquarkus.minio.secret-key=" + MeshLayout.S3_SECRET_KEY,
                    "-Dsdmesh.stages.text-encoder.addresses=127.0.0.1:" + layout.textEncoderPort(),
                    "-Dsdmesh.stages.unet.addresses=" + String.join(",", unetAddresses),
                    "-Dsdmesh.stages.vae.addresses=127.0.0.1:" + layout.vaePort()));
            Process orchestrator = launcher.start("orchestrator", orchestratorArgs,
                    layout.serviceJar("orchestrator").toString(), null, List.of(), Map.of());
            started.add(orchestrator);
            processes.put("orchestrator", orchestrator);
            stages.put("orchestrator", layout.orchestratorPort());

            for (var entry : processes.entrySet()) {
                int port = stages.get(entry.getKey());
                launcher.awaitHealthy(entry.getKey(), entry.getValue(), port, timeout);
                state.services.add(new MeshState.Service(entry.getKey(), entry.getValue().pid(), port,
                        launcher.logFile(entry.getKey()).toString(), "http://127.0.0.1:" + port + "/q/health"));
            }
            state.rest = "http://127.0.0.1:" + layout.orchestratorPort();
            state.grpc = "127.0.0.1:" + layout.orchestratorPort();
            state.save(layout.stateFile());
            return state;
        } catch (Exception e) {
            started.forEach(p -> ProcessLauncher.stop(p.pid(), Duration.ofSeconds(5)));
            throw e;
        }
    }

    static String unetName(int replica) {
        return replica == 0 ? "unet-svc" : "unet-svc-" + replica;
    }

    private static List<String> serviceJvmArgs(MeshLayout layout, String module, int port, String device) {
        Map<String, String> properties = new HashMap<>();
        properties.put("quarkus.http.port", Integer.toString(port));
        properties.put("sdmesh.models.dir", layout.modelsDir().toString());
        properties.put("sdmesh.unet.device", device);
        List<String> args = new ArrayList<>();
        args.add(module.equals("unet-svc") ? "-Xmx3g" : "-Xmx1g");
        properties.forEach((k, v) -> args.add("-D" + k + "=" + v));
        return args;
    }
}
