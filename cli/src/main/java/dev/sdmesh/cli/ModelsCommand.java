package dev.sdmesh.cli;

import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code sdmesh models generate}: writes a synthetic SD-architecture model folder with seeded random weights. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Model folders.",
        subcommands = ModelsCommand.Generate.class)
public final class ModelsCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Generate a diffusers-layout ONNX model with seeded random weights (its images look like noise).")
    static final class Generate implements Callable<Integer> {
        @Option(names = "--preset", required = true, description = "tiny, sd15, sd21 or sd15-inpaint.")
        String preset;

        @Option(names = "--out", required = true, description = "Output folder (becomes the model id's folder).")
        Path out;

        @Option(names = "--seed", defaultValue = "0", description = "Weight seed (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--fp16", description = "Write float16 weights and inputs.")
        boolean fp16;

        @Option(names = "--tokenizer", description = "Copy this tokenizer folder instead of generating a small vocabulary.")
        Path tokenizer;

        @Override
        public Integer call() throws Exception {
            long started = System.nanoTime();
            ModelGenerator.generate(Preset.parse(preset), out, seed, fp16, tokenizer);
            System.out.printf("wrote %s model to %s in %.1f s%n", preset, out, (System.nanoTime() - started) / 1e9);
            return 0;
        }
    }
}
