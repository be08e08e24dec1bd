package dev.sdmesh.orchestrator.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The three stage services as child JVMs from their packaged jars ({@code <module>/target/quarkus-app/quarkus-run.jar}),
 * each with HTTP + gRPC on one free loopback port, on a models directory, on the CPU. {@link #start} returns once every
 * one answers {@code /q/health/ready}; {@link #close} stops them. Logs go to {@code target/stage-logs/}.
 */
public final class StageProcesses implements AutoCloseable {
    /** Stage module → its config prefix (port and device keys). */
    private static final Map<String, String> MODULES = new LinkedHashMap<>();
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);

    static {
        MODULES.put("text-encoder-svc", "text-encoder");
        MODULES.put("unet-svc", "unet");
        MODULES.put("vae-svc", "vae");
    }

    private final List<Process> processes = new ArrayList<>();
    private final Map<String, String> addresses = new LinkedHashMap<>();

    private StageProcesses() {
    }

    /** The checkout root by default; {@code -Dsdmesh.test.stage-root=DIR} runs services built elsewhere. */
    static Path jar(String module) {
        String root = System.getProperty("sdmesh.test.stage-root", "..");
        return Path.of(root, module, "target", "quarkus-app", "quarkus-run.jar").toAbsolutePath().normalize();
    }

    /** Whether every stage jar is built. */
    public static boolean available() {
        return MODULES.keySet().stream().allMatch(m -> Files.isRegularFile(jar(m)));
    }

    /** Why {@link #available()} is false, for the skip message. */
    public static String missing() {
        return "stage services not packaged (missing " + MODULES.keySet().stream().map(StageProcesses::jar)
                .filter(j -> !Files.isRegularFile(j)).toList() + "); package text-encoder-svc, unet-svc and vae-svc first";
    }

    /** {@code systemProperties} go to every stage, e.g. where to export spans. */
    public static StageProcesses start(Path modelsDir, String defaultModel, Map<String, String> systemProperties) {
        StageProcesses stages = new StageProcesses();
        try {
            Path logs = Files.createDirectories(Path.of("target", "stage-logs"));
            for (Map.Entry<String, String> m : MODULES.entrySet()) {
                int port = freePort();
                String prefix = "sdmesh." + m.getValue();
                List<String> command = new ArrayList<>(List.of(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx1g",
                        "-Dquarkus.http.port=" + port,
                        "-Dquarkus.http.host=127.0.0.1",
                        "-D" + prefix + ".port=" + port,
                        "-Dsdmesh.models.dir=" + modelsDir.toAbsolutePath(),
                        "-Dsdmesh.models.default=" + defaultModel,
                        "-D" + prefix + ".device=cpu"));
                systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
                command.addAll(List.of("-jar", jar(m.getKey()).toString()));
                Process p = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(logs.resolve(m.getKey() + ".log").toFile())
                        .start();
                stages.processes.add(p);
                stages.addresses.put(m.getValue(), "127.0.0.1:" + port);
            }
            for (String address : stages.addresses.values()) awaitReady(address);
            return stages;
        } catch (IOException | RuntimeException e) {
            stages.close();
            throw new IllegalStateException("cannot start the stage services: " + e.getMessage(), e);
        }
    }

    /** {@code host:port} of a stage: "text-encoder", "unet" or "vae". */
    public String address(String stage) {
        return addresses.get(stage);
    }

    private static void awaitReady(String address) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://" + address + "/q/health/ready"))
                .timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return;
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for " + address, e);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for " + address, e);
            }
        }
        throw new IllegalStateException(address + " not ready within " + READY_TIMEOUT + " (see target/stage-logs)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @Override
    public void close() {
        processes.forEach(Process::destroy);
        for (Process p : processes) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        processes.clear();
    }
}
