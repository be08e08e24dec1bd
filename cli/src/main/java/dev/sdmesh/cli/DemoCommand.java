package dev.sdmesh.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sdmesh demo "prompt"}: up, one generation through Kafka, print the image path, down. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start the mesh, generate one image through Kafka on the default model, print its path, stop the mesh.")
public final class DemoCommand implements Callable<Integer> {

    @Parameters(index = "0", defaultValue = "a lighthouse at dusk", description = "The prompt.")
    String prompt;

    @Option(names = "--out", defaultValue = "sdmesh-output", description = "Folder for the PNG (default ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        MeshLayout layout = MeshLayout.fromEnvironment();
        var existing = MeshState.load(layout.stateFile());
        boolean startedHere = existing.isEmpty() || !existing.get().anyAlive();
        MeshState state;
        if (startedHere) {
            long t0 = System.nanoTime();
            UpCommand.ensureDefaultModel(layout);
            state = UpCommand.start(layout, 1, "auto", Duration.ofSeconds(300));
            System.out.printf("mesh up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        } else {
            state = existing.get();
        }
        try {
            GenerateCommand request = new GenerateCommand();
            request.prompt = prompt;
            request.steps = 20;
            request.size = "64x64";
            long t0 = System.nanoTime();
            List<Path> images = GenerateCommand.generate(state, request.request(), "kafka", out, 600);
            System.out.printf("generated in %.2f s (64x64, 20 steps, via Kafka)%n", (System.nanoTime() - t0) / 1e9);
            images.forEach(p -> System.out.println(p.toAbsolutePath()));
            return images.isEmpty() ? 1 : 0;
        } finally {
            if (startedHere) {
                DownCommand.stop(state);
                java.nio.file.Files.deleteIfExists(layout.stateFile());
                System.out.println("mesh stopped.");
            }
        }
    }
}
