package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.runtime.image.PngWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher as a user types it: each command is a fresh JVM running {@code dev.sdmesh.cli.Main} with the
 * arguments and {@code SDMESH_*} environment a shell would pass (what {@code ./sdmesh} execs once the project is
 * built), so picocli parsing, the printed output, the state file shared between invocations and process clean-up
 * are all exercised.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LauncherCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path stateDir;
    private static Map<String, String> environment;

    @BeforeAll
    static void freshStateAndPorts() throws IOException {
        stateDir = Files.createTempDirectory("sdmesh-launcher");
        MeshLayout ports = TestMesh.layout(stateDir);
        environment = new HashMap<>();
        environment.put("SDMESH_STATE_DIR", stateDir.toString());
        environment.put("SDMESH_KAFKA_PORT", Integer.toString(ports.kafkaPort()));
        environment.put("SDMESH_S3_PORT", Integer.toString(ports.s3Port()));
        environment.put("SDMESH_TEXT_ENCODER_PORT", Integer.toString(ports.textEncoderPort()));
        environment.put("SDMESH_UNET_PORT", Integer.toString(ports.unetPort()));
        environment.put("SDMESH_VAE_PORT", Integer.toString(ports.vaePort()));
        environment.put("SDMESH_ORCHESTRATOR_PORT", Integer.toString(ports.orchestratorPort()));
        environment.put("SDMESH_UNET_DEVICE", "cpu");
    }

    @AfterAll
    static void stopWhateverIsLeft() throws Exception {
        if (Files.exists(stateDir.resolve("mesh.json"))) sdmesh("down");
        TestMesh.deleteQuietly(stateDir);
    }

    @Test
    @Order(1)
    void upStatusGenerateLogsAndDownPurge() throws Exception {
        Result up = sdmesh("up");
        assertEquals(0, up.exit, up.output);
        assertTrue(up.output.contains("sdmesh is up"), up.output);

        Result again = sdmesh("up");
        assertEquals(0, again.exit, again.output);
        assertTrue(again.output.contains("already running"), again.output);

        Result status = sdmesh("status", "--json");
        assertEquals(0, status.exit, status.output);
        JsonNode json = JSON.readTree(status.output);
        assertEquals("127.0.0.1:" + environment.get("SDMESH_KAFKA_PORT"), json.path("kafka").asText());
        assertTrue(json.path("s3").asText().endsWith(":" + environment.get("SDMESH_S3_PORT")), json.toString());
        assertTrue(json.path("rest").asText().endsWith(":" + environment.get("SDMESH_ORCHESTRATOR_PORT")), json.toString());
        assertTrue(json.path("grpc").asText().endsWith(":" + environment.get("SDMESH_ORCHESTRATOR_PORT")), json.toString());
        List<Long> pids = new ArrayList<>();
        json.path("services").forEach(s -> pids.add(s.path("pid").asLong()));
        assertFalse(pids.isEmpty(), json.toString());

        Path out = stateDir.resolve("out");
        Result generate = sdmesh("generate", "a (red:1.2) barn", "--negative", "blurry", "--seed", "11", "--steps", "4",
                "--scheduler", "Euler a", "--size", "64x64", "--via", "rest", "--out", out.toString());
        assertEquals(0, generate.exit, generate.output);
        Path png = printedPng(generate.output);
        assertTrue(png.startsWith(out) && Files.isRegularFile(png), generate.output);
        String infotext = PngWriter.readText(Files.readAllBytes(png)).get("parameters");
        assertTrue(infotext.startsWith("a (red:1.2) barn\nNegative prompt: blurry\n") && infotext.contains("Sampler: Euler a")
                && infotext.contains("Seed: 11"), infotext);

        Result logs = sdmesh("logs", "orchestrator");
        assertEquals(0, logs.exit, logs.output);
        assertFalse(logs.output.isBlank(), "the orchestrator's log is empty");

        Result down = sdmesh("down", "--purge");
        assertEquals(0, down.exit, down.output);
        assertTrue(down.output.contains("sdmesh stopped."), down.output);
        assertFalse(Files.exists(stateDir), "--purge keeps " + stateDir);
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid + " survived down");
        }
        assertTrue(sdmesh("status").output.contains("not running"));
    }

    @Test
    @Order(2)
    void demoGeneratesThroughKafkaPrintsThePathAndStopsEverything() throws Exception {
        Path out = Files.createDirectories(stateDir.resolve("demo-out"));
        Result demo = sdmesh("demo", "a lighthouse at dusk", "--out", out.toString());
        assertEquals(0, demo.exit, demo.output);
        assertTrue(demo.output.contains("via Kafka") && demo.output.contains("mesh stopped."), demo.output);
        Path png = printedPng(demo.output);
        String infotext = PngWriter.readText(Files.readAllBytes(png)).get("parameters");
        assertTrue(infotext.startsWith("a lighthouse at dusk") && infotext.contains("Steps: 20"), infotext);
        assertFalse(Files.exists(stateDir.resolve("mesh.json")), "demo left its mesh state behind");
        for (String port : List.of("SDMESH_KAFKA_PORT", "SDMESH_ORCHESTRATOR_PORT", "SDMESH_UNET_PORT")) {
            assertTrue(portFree(Integer.parseInt(environment.get(port))), port + " still bound after demo");
        }
    }

    private static boolean portFree(int port) {
        try (var socket = new java.net.ServerSocket(port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The image path a command prints on a line of its own. */
    private static Path printedPng(String output) {
        return Path.of(output.lines().map(String::trim).filter(l -> l.startsWith("/") && l.endsWith(".png")).findFirst()
                .orElseThrow(() -> new AssertionError("no PNG path printed: " + output)));
    }

    private record Result(int exit, String output) {
    }

    /** One {@code sdmesh ARGS} invocation in its own JVM; stdout and stderr together. */
    private static Result sdmesh(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                "-Dsdmesh.home=" + TestMesh.home(),
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Path log = Files.createTempFile("sdmesh-cli", ".log");
        try {
            Process process = builder.redirectOutput(log.toFile()).start();
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new AssertionError("sdmesh " + String.join(" ", args) + " did not finish: " + Files.readString(log));
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            System.out.printf("[launcher] sdmesh %s -> %d%n", String.join(" ", args), process.exitValue());
            return new Result(process.exitValue(), output);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
