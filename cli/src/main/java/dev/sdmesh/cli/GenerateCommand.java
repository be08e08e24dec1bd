package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * {@code sdmesh generate "prompt"}: sends one request to the running mesh (by default through Kafka), follows its
 * events with a progress bar, downloads the PNGs and prints their paths.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate images through the running mesh.")
public final class GenerateCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", description = "The prompt (AUTOMATIC1111 syntax).")
    String prompt;

    @Option(names = "--negative", description = "Negative prompt.")
    String negative;

    @Option(names = "--seed", description = "Seed (unsigned 64-bit; default random).")
    String seed;

    @Option(names = "--steps", description = "Denoising steps.")
    Integer steps;

    @Option(names = "--scheduler", description = "diffusers class name or A1111 sampler name (e.g. 'Euler a').")
    String scheduler;

    @Option(names = "--size", description = "WxH, e.g. 64x64.")
    String size;

    @Option(names = "--model", description = "Model id (default: the mesh's default model).")
    String model;

    @Option(names = "--guidance", description = "CFG scale.")
    Float guidance;

    @Option(names = "--batch", description = "Images per request.")
    Integer batch;

    @Option(names = "--via", defaultValue = "kafka", description = "kafka, grpc or rest (default ${DEFAULT-VALUE}).")
    String via;

    @Option(names = "--out", defaultValue = "sdmesh-output", description = "Folder for the PNGs (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--timeout", defaultValue = "600", description = "Seconds to wait (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        MeshLayout layout = MeshLayout.fromEnvironment();
        MeshState state = MeshState.load(layout.stateFile()).filter(MeshState::anyAlive).orElse(null);
        if (state == null) {
            System.err.println("sdmesh is not running; start it with ./sdmesh up");
            return 2;
        }
        List<Path> images = generate(state, request(), via, out, timeoutSeconds);
        images.forEach(p -> System.out.println(p.toAbsolutePath()));
        return images.isEmpty() ? 1 : 0;
    }

    ObjectNode request() {
        ObjectNode request = JSON.createObjectNode();
        request.put("requestId", UUID.randomUUID().toString());
        request.put("prompt", prompt);
        if (negative != null) request.put("negativePrompt", negative);
        if (seed != null) request.put("seed", new java.math.BigInteger(seed));
        if (steps != null) request.put("steps", steps);
        if (scheduler != null) request.put("scheduler", scheduler);
        if (model != null) request.put("model", model);
        if (guidance != null) request.put("guidanceScale", guidance);
        if (batch != null) request.put("batchSize", batch);
        if (size != null) {
            String[] wh = size.toLowerCase().split("x");
            if (wh.length != 2) throw new IllegalArgumentException("--size must be WxH, e.g. 64x64");
            request.put("width", Integer.parseInt(wh[0].trim()));
            request.put("height", Integer.parseInt(wh[1].trim()));
        }
        return request;
    }

    /** Runs one request through the chosen front door; returns the PNG files written. */
    static List<Path> generate(MeshState state, ObjectNode request, String via, Path out, int timeoutSeconds)
            throws Exception {
        Files.createDirectories(out);
        GenerationClient client = switch (via) {
            case "kafka" -> new KafkaGenerationClient(state.kafka);
            case "grpc" -> new GrpcGenerationClient(state.grpc);
            case "rest" -> new RestGenerationClient(state.rest);
            default -> throw new IllegalArgumentException("--via must be kafka, grpc or rest");
        };
        ProgressBar progress = new ProgressBar(System.err);
        JsonNode completed;
        try (client) {
            completed = client.run(request, progress, java.time.Duration.ofSeconds(timeoutSeconds));
        }
        progress.finish();
        List<Path> files = new ArrayList<>();
        String requestId = request.path("requestId").asText();
        int n = 0;
        for (JsonNode image : completed.path("images")) {
            byte[] png = client.download(state, requestId, image);
            Path file = out.resolve(requestId + "-" + image.path("index").asInt(n) + ".png");
            Files.write(file, png);
            files.add(file);
            n++;
        }
        return files;
    }
}
