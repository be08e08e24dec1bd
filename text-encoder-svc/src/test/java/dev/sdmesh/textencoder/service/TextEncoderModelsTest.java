package dev.sdmesh.textencoder.service;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.embedding.SafeTensorsFiles;
import dev.sdmesh.textencoder.pipeline.FinalLayerNorm;
import dev.sdmesh.textencoder.pipeline.PromptEncoder;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Encoded;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Request;
import dev.sdmesh.textencoder.pipeline.TokenEmbeddingPatch;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextEncoderModelsTest {

    private static TextEncoderModels models(Path embeddingsDir) {
        ModelRegistry registry = new ModelRegistry(ReferenceData.model().getParent(), "model");
        return new TextEncoderModels(registry, new SessionFactory(SessionSettings.cpuDefaults()), embeddingsDir, 16, 0, n -> { });
    }

    private static Encoded encode(TextEncoderModels.Loaded model, String prompt) throws Exception {
        return model.batcher().submit(new Request(List.of(prompt), null, true, Mode.A1111, 1)).get(1, TimeUnit.MINUTES);
    }

    @Test
    void modelsAreLoadedOnceAndUnknownOnesAreNotFound(@TempDir Path noEmbeddings) {
        try (TextEncoderModels models = models(noEmbeddings.resolve("missing"))) {
            assertSame(models.get("model"), models.get(""), "blank is the default model, loaded once");
            ModelException e = assertThrows(ModelException.class, () -> models.get("no-such-model"));
            assertEquals(ModelException.Kind.NOT_FOUND, e.kind());
        }
    }

    @Test
    void clipSkipUsesTheFinalLayerNormOfTheModelsExport(@TempDir Path root) throws Exception {
        ModelGenerator.generate(Preset.TINY, root.resolve("generated"), 3, false, null);
        Path onnx = root.resolve("generated/text_encoder/model.onnx");
        String prompt = "a red sports car";
        Request skip2 = new Request(List.of(prompt), null, true, Mode.A1111, 2);
        try (TextEncoderModels models = new TextEncoderModels(new ModelRegistry(root, "generated"),
                new SessionFactory(SessionSettings.cpuDefaults()), root.resolve("no-embeddings"), 16, 0, n -> { });
             OrtSession session = OrtEnvironment.getEnvironment().createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            Encoded viaModels = models.get("generated").batcher().submit(skip2).get(1, TimeUnit.MINUTES);
            PromptEncoder direct = new PromptEncoder(session, ClipTokenizer.load(root.resolve("generated/tokenizer")), null, null,
                    FinalLayerNorm.read(onnx, FinalLayerNorm.DEFAULT_EPS).orElseThrow());

            assertEquals(List.of(), viaModels.warnings());
            assertTrue(ReferenceData.maxAbsDiff(direct.encode(skip2).cond(), viaModels.cond()) <= 1e-6);
        }
    }

    @Test
    void embeddingsFromTheFolderReachTheEncoderThroughThePatchedSession(@TempDir Path dir) throws Exception {
        Path onnx = ReferenceData.model().resolve("text_encoder/model.onnx");
        TokenEmbeddingPatch.Table table = TokenEmbeddingPatch.readTable(onnx);
        ClipTokenizer tokenizer = ClipTokenizer.load(ReferenceData.model().resolve("tokenizer"));
        // Vectors equal to the rows of "cat" and "dog": the embedding must encode exactly like those two words.
        float[] vectors = new float[2 * table.hidden()];
        System.arraycopy(table.row(tokenizer.encode("cat")[0]), 0, vectors, 0, table.hidden());
        System.arraycopy(table.row(tokenizer.encode("dog")[0]), 0, vectors, table.hidden(), table.hidden());
        SafeTensorsFiles.write(dir.resolve("shiny-style.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{2, table.hidden()}, vectors))));
        try (TextEncoderModels models = models(dir)) {
            TextEncoderModels.Loaded model = models.get("model");
            Encoded viaTi = encode(model, "a photo of (shiny-style:1.3), outdoors");
            Encoded viaWords = encode(model, "a photo of (cat dog:1.3), outdoors");
            assertEquals(List.of(), viaTi.warnings());
            assertTrue(ReferenceData.maxAbsDiff(viaWords.cond(), viaTi.cond()) <= 1e-6);
            assertEquals(2, model.batcher().runs());
        }
    }
}
