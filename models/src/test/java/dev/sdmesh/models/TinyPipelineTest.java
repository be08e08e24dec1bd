package dev.sdmesh.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.models.PipelineSteps.Input;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static dev.sdmesh.models.PipelineSteps.assertFinite;
import static dev.sdmesh.models.PipelineSteps.floats;
import static dev.sdmesh.models.PipelineSteps.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny preset, generated once per precision and run with ONNX Runtime on the CPU as a txt2img pipeline would
 * (PresetPipelineTest runs encode, two steps and decode for every preset; this adds what only the tiny one can afford).
 */
class TinyPipelineTest {
    private static final int LATENT = 8;
    private static final int WIDTH = Preset.TINY.text().hiddenSize();
    private static final double SCALING_FACTOR = Preset.TINY.vae().scalingFactor();

    @TempDir
    static Path tmp;
    private static Pipeline fp32;
    private static Pipeline fp16;

    /** The four sessions of one generated folder. */
    record Pipeline(Path dir, OnnxModel text, OnnxModel unet, OnnxModel vaeEncoder, OnnxModel vaeDecoder) {
        static Pipeline open(SessionFactory sessions, Path dir) {
            return new Pipeline(dir, sessions.open(onnx(dir, ModelPart.TEXT_ENCODER)), sessions.open(onnx(dir, ModelPart.UNET)),
                    sessions.open(onnx(dir, ModelPart.VAE_ENCODER)), sessions.open(onnx(dir, ModelPart.VAE_DECODER)));
        }

        void close() {
            Stream.of(text, unet, vaeEncoder, vaeDecoder).forEach(OnnxModel::close);
        }
    }

    private static Path onnx(Path dir, ModelPart part) {
        return dir.resolve(part.folder()).resolve(ModelGenerator.MODEL_FILE);
    }

    @BeforeAll
    static void generate() throws IOException {
        SessionFactory sessions = new SessionFactory(new SessionSettings(ExecutionProvider.CPU, 2, 1, "all", null));
        ModelGenerator.generate(Preset.TINY, tmp.resolve("fp32"), 42, false, null);
        ModelGenerator.generate(Preset.TINY, tmp.resolve("fp16"), 42, true, null);
        fp32 = Pipeline.open(sessions, tmp.resolve("fp32"));
        fp16 = Pipeline.open(sessions, tmp.resolve("fp16"));
    }

    @AfterAll
    static void close() {
        fp32.close();
        fp16.close();
    }

    @Test
    void folderIsCompleteSmallAndSelfContained() throws IOException {
        Path dir = fp32.dir();
        for (String file : new String[]{"model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json",
                "text_encoder/config.json", "unet/config.json", "vae_encoder/config.json", "vae_decoder/config.json"}) {
            assertTrue(Files.isRegularFile(dir.resolve(file)), file);
        }
        long bytes;
        try (Stream<Path> files = Files.walk(dir)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            assertFalse(Files.exists(dir.resolve("unet").resolve(ModelGenerator.EXTERNAL_DATA_FILE)));
        }
        assertTrue(bytes < 30L << 20, "tiny folder is " + bytes + " bytes");
    }

    @Test
    void textEncoderPoolsAtEndOfTextAndExposesHiddenStates() throws OrtException {
        long[] ids = promptIds();
        try (OnnxTensor input = fp32.text().longInput("input_ids", ids, new long[]{2, 77});
             OrtSession.Result r = fp32.text().run(Map.of("input_ids", input), null)) {
            float[] last = floats(r, "last_hidden_state");
            float[] pooled = floats(r, "pooler_output");
            assertArrayEquals(new long[]{2, 77, WIDTH}, OnnxModel.shape(r.get("last_hidden_state").get()));
            assertFinite(last, "last_hidden_state");
            for (int b = 0; b < 2; b++) {
                int eos = firstIndexOf(ids, b * 77, eos());
                assertArrayEquals(Arrays.copyOfRange(last, (b * 77 + eos) * WIDTH, (b * 77 + eos + 1) * WIDTH),
                        Arrays.copyOfRange(pooled, b * WIDTH, (b + 1) * WIDTH));
            }
            // hidden_states.0 is the embedding output, hidden_states.2 the last layer before final_layer_norm.
            for (int i = 0; i <= Preset.TINY.text().numHiddenLayers(); i++) {
                assertFinite(floats(r, "hidden_states." + i), "hidden_states." + i);
            }
            assertFalse(Arrays.equals(floats(r, "hidden_states.2"), last));
        }
    }

    @Test
    void fiftyDdimStepsWithGuidanceStayFinite() throws OrtException {
        float[] latents = denoise(fp32, 50, 3);
        assertFinite(latents, "latents after 50 steps");
        assertFinite(decode(fp32, latents), "decoded image");
    }

    @Test
    void twentyStepTxt2ImgRunsInUnderThreeSeconds() throws OrtException {
        denoise(fp32, 2, 4); // warm-up: first runs allocate
        long start = System.nanoTime();
        decode(fp32, denoise(fp32, 20, 4));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 3, "20-step 64x64 txt2img took " + seconds + " s");
    }

    @Test
    void float16MatchesFloat32WithinOnePercent() throws OrtException {
        float[] context = textEmbeddings(fp32);
        assertClose(context, textEmbeddings(fp16), "text encoder");
        float[] latents = gaussian(2 * 4 * LATENT * LATENT, 5);
        assertClose(unet(fp32, latents, 500.5f, context), unet(fp16, latents, 500.5f, context), "unet");
        float[] z = Arrays.copyOf(latents, 4 * LATENT * LATENT);
        assertClose(decode(fp32, z), decode(fp16, z), "vae decoder");
        float[] image = gaussian(3 * 64 * 64, 6);
        Map<String, Input> feeds = Map.of("sample", new Input(image, new long[]{1, 3, 64, 64}));
        long[] shape = {1, 8, LATENT, LATENT};
        assertClose(PipelineSteps.run(fp32.vaeEncoder(), feeds, "latent_parameters", shape),
                PipelineSteps.run(fp16.vaeEncoder(), feeds, "latent_parameters", shape), "vae encoder");
    }

    // ---- the shared pipeline steps at the tiny geometry ----

    /** txt2img at 64x64 with classifier-free guidance; returns the final latents. */
    private static float[] denoise(Pipeline p, int steps, int seed) throws OrtException {
        return PipelineSteps.denoise(p.unet(), gaussian(4 * LATENT * LATENT, seed), new float[0], LATENT,
                textEmbeddings(p), WIDTH, steps, "epsilon");
    }

    private static float[] textEmbeddings(Pipeline p) throws OrtException {
        return PipelineSteps.textEmbeddings(p.text(), promptIds(), WIDTH);
    }

    private static float[] unet(Pipeline p, float[] latents, float t, float[] context) throws OrtException {
        return PipelineSteps.unet(p.unet(), latents, 4, LATENT, t, context, WIDTH);
    }

    private static float[] decode(Pipeline p, float[] latents) throws OrtException {
        return PipelineSteps.decode(p.vaeDecoder(), latents, LATENT, SCALING_FACTOR);
    }

    /** The generated vocabulary ends with start-of-text and end-of-text; SD 1.x pads with end-of-text. */
    private static long[] promptIds() {
        return PipelineSteps.promptIds(eos() - 1, eos(), eos());
    }

    private static int eos() {
        return ModelGenerator.vocabulary(Preset.TINY).size() - 1;
    }

    private static int firstIndexOf(long[] ids, int from, long value) {
        for (int i = 0; i < 77; i++) {
            if (ids[from + i] == value) {
                return i;
            }
        }
        throw new AssertionError("no " + value);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double rel = ReferenceData.relativeL2(expected, actual);
        assertTrue(rel < 1e-2, what + ": fp16 differs from fp32 by " + rel + " (relative L2)");
    }
}
