package dev.sdmesh.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streamed external-data layout (used for the large presets) loads in ONNX Runtime and holds the same weights. */
class ExternalDataTest {

    @Test
    void externalDataModelComputesTheSameAsInline(@TempDir Path tmp) throws IOException, OrtException {
        int vocab = ModelGenerator.vocabulary(Preset.TINY).size();
        Path inline = Files.createDirectories(tmp.resolve("inline"));
        Path external = Files.createDirectories(tmp.resolve("external"));
        ModelGenerator.writeModel(ModelPart.VAE_DECODER, Preset.TINY, vocab, Precision.FLOAT32, 9, inline, false);
        ModelGenerator.writeModel(ModelPart.VAE_DECODER, Preset.TINY, vocab, Precision.FLOAT32, 9, external, true);

        Path data = external.resolve(ModelGenerator.EXTERNAL_DATA_FILE);
        long paramBytes = ModelGenerator.dryRun(ModelPart.VAE_DECODER, Preset.TINY, vocab, Precision.FLOAT32)
                .parameterCount() * 4;
        assertTrue(Files.size(data) >= paramBytes, "external data holds every parameter");
        assertTrue(Files.size(external.resolve(ModelGenerator.MODEL_FILE)) < paramBytes / 4,
                "model.onnx keeps only the graph");

        SessionFactory sessions = new SessionFactory(new SessionSettings(ExecutionProvider.CPU, 2, 1, "all", null));
        float[] z = new float[4 * 8 * 8];
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) rng.nextGaussian();
        }
        assertArrayEquals(decode(sessions, inline, z), decode(sessions, external, z));
    }

    private static float[] decode(SessionFactory sessions, Path dir, float[] z) throws OrtException {
        try (OnnxModel model = sessions.open(dir.resolve(ModelGenerator.MODEL_FILE));
             OnnxTensor in = model.floatInput("latent_sample", z, new long[]{1, 4, 8, 8});
             OrtSession.Result r = model.run(java.util.Map.of("latent_sample", in), null)) {
            return OnnxModel.floats(r.get("sample").orElseThrow());
        }
    }
}
