package dev.sdmesh.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the local mesh keeps things and which ports it uses: the state directory ({@code SDMESH_STATE_DIR}, default
 * {@code ./.sdmesh}), the models directory ({@code SDMESH_MODELS_DIR}, default {@code <state>/models}), and ports
 * from {@code SDMESH_*_PORT} variables.
 */
public record MeshLayout(Path home, Path stateDir, Path modelsDir, int kafkaPort, int s3Port, int textEncoderPort,
                         int unetPort, int vaePort, int orchestratorPort) {

    public static final String BUCKET = "sdmesh-images";
    public static final String S3_ACCESS_KEY = "sdmesh";
    public static final String S3_SECRET_KEY = "sdmesh-secret";

    public static MeshLayout fromEnvironment() {
        Path home = Path.of(System.getProperty("sdmesh.home", ".")).toAbsolutePath().normalize();
        Path state = Path.of(env("SDMESH_STATE_DIR", home.resolve(".sdmesh").toString())).toAbsolutePath().normalize();
        Path models = Path.of(env("SDMESH_MODELS_DIR", state.resolve("models").toString())).toAbsolutePath().normalize();
        return new MeshLayout(home, state, models,
                port("SDMESH_KAFKA_PORT", 9092), port("SDMESH_S3_PORT", 9000),
                port("SDMESH_TEXT_ENCODER_PORT", 9101), port("SDMESH_UNET_PORT", 9102),
                port("SDMESH_VAE_PORT", 9103), port("SDMESH_ORCHESTRATOR_PORT", 8080));
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    private static int port(String name, int fallback) {
        return Integer.parseInt(env(name, Integer.toString(fallback)));
    }

    /** Replica {@code i} of unet-svc listens on the base port + 10·i. */
    public int unetReplicaPort(int replica) {
        return unetPort + 10 * replica;
    }

    public Path stateFile() {
        return stateDir.resolve("mesh.json");
    }

    public Path logsDir() {
        return stateDir.resolve("logs");
    }

    public Path serviceJar(String module) {
        return home.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
    }

    /** The classpath this CLI runs with, reused for the embedded Kafka and S3 child JVMs. */
    public static String ownClasspath() {
        return System.getProperty("java.class.path");
    }

    public List<Path> missingJars() {
        List<Path> missing = new ArrayList<>();
        for (String module : List.of("text-encoder-svc", "unet-svc", "vae-svc", "orchestrator")) {
            if (!Files.isRegularFile(serviceJar(module))) missing.add(serviceJar(module));
        }
        return missing;
    }
}
