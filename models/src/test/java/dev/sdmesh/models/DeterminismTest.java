package dev.sdmesh.models;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeterminismTest {

    @ParameterizedTest(name = "fp16={0}")
    @ValueSource(booleans = {false, true})
    void sameSeedGivesByteIdenticalFolders(boolean fp16, @TempDir Path tmp) throws IOException {
        ModelGenerator.generate(Preset.TINY, tmp.resolve("a"), 123, fp16, null);
        ModelGenerator.generate(Preset.TINY, tmp.resolve("b"), 123, fp16, null);
        ModelGenerator.generate(Preset.TINY, tmp.resolve("c"), 124, fp16, null);

        List<Path> files = files(tmp.resolve("a"));
        assertEquals(files, files(tmp.resolve("b")));
        assertTrue(files.size() >= 14, "files: " + files);
        for (Path f : files) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("a").resolve(f)), Files.readAllBytes(tmp.resolve("b").resolve(f)),
                    f + " differs between two runs with the same seed");
        }
        for (String part : new String[]{"text_encoder", "unet", "vae_encoder", "vae_decoder"}) {
            Path model = Path.of(part, ModelGenerator.MODEL_FILE);
            assertFalse(sameBytes(tmp.resolve("a").resolve(model), tmp.resolve("c").resolve(model)),
                    model + " ignores the seed");
        }
        Path vocab = Path.of("tokenizer", "vocab.json");
        assertTrue(sameBytes(tmp.resolve("a").resolve(vocab), tmp.resolve("c").resolve(vocab)));
    }

    private static boolean sameBytes(Path a, Path b) throws IOException {
        return Files.mismatch(a, b) == -1;
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).map(dir::relativize).sorted().toList();
        }
    }
}
