package dev.sdmesh.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
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
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiny preset, generated once per precision and run with ONNX Runtime on the CPU as a txt2img pipeline would. */
class TinyPipelineTest {
    private static final int LATENT = 8;
    private static final float SCALING_FACTOR = 0.18215f;

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
        int vocab = ModelGenerator.vocabulary(Preset.TINY).size();
        long[] ids = promptIds(vocab);
        try (OrtSession.Result r = fp32.text().run(Map.of("input_ids", fp32.text().longInput("input_ids", ids,
                new long[]{2, 77})), null)) {
            float[] last = floats(r, "last_hidden_state");
            float[] pooled = floats(r, "pooler_output");
            assertArrayEquals(new long[]{2, 77, 32}, OnnxModel.shape(r.get("last_hidden_state").get()));
            assertFinite(last, "last_hidden_state");
            for (int b = 0; b < 2; b++) {
                int eos = firstIndexOf(ids, b * 77, vocab - 1);
                assertArrayEquals(Arrays.copyOfRange(last, (b * 77 + eos) * 32, (b * 77 + eos + 1) * 32),
                        Arrays.copyOfRange(pooled, b * 32, (b + 1) * 32));
            }
            // hidden_states.0 is the embedding output, hidden_states.2 the last layer before final_layer_norm.
            for (int i = 0; i <= Preset.TINY.text().numHiddenLayers(); i++) {
                assertFinite(floats(r, "hidden_states." + i), "hidden_states." + i);
            }
            assertFalse(Arrays.equals(floats(r, "hidden_states.2"), last));
        }
    }

    @Test
    void encodeTwoUNetStepsAndDecodeAreFinite() throws OrtException {
        float[] image = gaussian(3 * 64 * 64, 1);
        float[] params = run(fp32.vaeEncoder(), Map.of("sample", new Input(image, new long[]{1, 3, 64, 64})),
                "latent_parameters", new long[]{1, 8, LATENT, LATENT});
        assertFinite(params, "latent_parameters");

        float[] context = textEmbeddings(fp32);
        float[] latents = gaussian(2 * 4 * LATENT * LATENT, 2);
        for (float t : new float[]{981, 961}) {
            float[] eps = unet(fp32, latents, t, context);
            assertFinite(eps, "out_sample at t=" + t);
            latents = Ddim.step(eps, latents, (int) t, (int) t - 20);
        }
        float[] decoded = decode(fp32, Arrays.copyOf(latents, 4 * LATENT * LATENT));
        assertFinite(decoded, "decoded image");
    }

    @Test
    void fiftyDdimStepsWithGuidanceStayFinite() throws OrtException {
        float[] latents = denoise(fp32, 50, 3);
        assertFinite(latents, "latents after 50 steps");
        assertFinite(decode(fp32, Arrays.copyOf(latents, latents.length / 2)), "decoded image");
    }

    @Test
    void twentyStepTxt2ImgRunsInUnderThreeSeconds() throws OrtException {
        denoise(fp32, 2, 4); // warm-up: first runs allocate
        long start = System.nanoTime();
        float[] latents = denoise(fp32, 20, 4);
        decode(fp32, Arrays.copyOf(latents, latents.length / 2));
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
        assertClose(run(fp32.vaeEncoder(), feeds, "latent_parameters", shape),
                run(fp16.vaeEncoder(), feeds, "latent_parameters", shape), "vae encoder");
    }

    // ---- pipeline pieces ----

    /** txt2img at 64x64 with classifier-free guidance 7.5; returns the final latents [uncond; cond] batch. */
    private static float[] denoise(Pipeline p, int steps, int seed) throws OrtException {
        float[] context = textEmbeddings(p);
        int n = 4 * LATENT * LATENT;
        float[] x = gaussian(n, seed);
        int stride = 1000 / steps;
        for (int i = 0; i < steps; i++) {
            int t = (steps - 1 - i) * stride + 1;
            float[] batch = new float[2 * n];
            System.arraycopy(x, 0, batch, 0, n);
            System.arraycopy(x, 0, batch, n, n);
            float[] out = unet(p, batch, t, context);
            float[] eps = new float[n];
            for (int j = 0; j < n; j++) {
                eps[j] = out[j] + 7.5f * (out[n + j] - out[j]);
            }
            x = Ddim.step(eps, x, t, t - stride);
        }
        float[] both = new float[2 * n];
        System.arraycopy(x, 0, both, 0, n);
        System.arraycopy(x, 0, both, n, n);
        return both;
    }

    private static float[] textEmbeddings(Pipeline p) throws OrtException {
        long[] ids = promptIds(ModelGenerator.vocabulary(Preset.TINY).size());
        try (OrtSession.Result r = p.text().run(Map.of("input_ids", p.text().longInput("input_ids", ids,
                new long[]{2, 77})), null)) {
            return floats(r, "last_hidden_state");
        }
    }

    private static float[] unet(Pipeline p, float[] latents, float t, float[] context) throws OrtException {
        Map<String, Input> feeds = new HashMap<>();
        feeds.put("sample", new Input(latents, new long[]{2, 4, LATENT, LATENT}));
        feeds.put("timestep", new Input(new float[]{t}, new long[0]));
        feeds.put("encoder_hidden_states", new Input(context, new long[]{2, 77, 32}));
        return run(p.unet(), feeds, "out_sample", new long[]{2, 4, LATENT, LATENT});
    }

    private static float[] decode(Pipeline p, float[] latents) throws OrtException {
        float[] scaled = latents.clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] /= SCALING_FACTOR;
        }
        return run(p.vaeDecoder(), Map.of("latent_sample", new Input(scaled, new long[]{1, 4, LATENT, LATENT})),
                "sample", new long[]{1, 3, 64, 64});
    }

    record Input(float[] values, long[] shape) {
    }

    private static float[] run(OnnxModel model, Map<String, Input> inputs, String output, long[] expectedShape)
            throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (Map.Entry<String, Input> e : inputs.entrySet()) {
                feeds.put(e.getKey(), model.floatInput(e.getKey(), e.getValue().values(), e.getValue().shape()));
            }
            try (OrtSession.Result r = model.run(feeds, null)) {
                assertArrayEquals(expectedShape, OnnxModel.shape(r.get(output).get()), output);
                return floats(r, output);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(OrtSession.Result r, String name) {
        return OnnxModel.floats(r.get(name).orElseThrow(() -> new AssertionError("no output " + name)));
    }

    /** Row 0: the empty prompt; row 1: a few word tokens. Both padded with end-of-text as SD 1.x does. */
    private static long[] promptIds(int vocab) {
        long[] ids = new long[2 * 77];
        Arrays.fill(ids, vocab - 1);
        ids[0] = vocab - 2;
        ids[77] = vocab - 2;
        for (int i = 1; i <= 5; i++) {
            ids[77 + i] = 512 + 7 * i;
        }
        return ids;
    }

    private static int firstIndexOf(long[] ids, int from, long value) {
        for (int i = 0; i < 77; i++) {
            if (ids[from + i] == value) {
                return i;
            }
        }
        throw new AssertionError("no " + value);
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    private static void assertFinite(float[] v, String what) {
        for (int i = 0; i < v.length; i++) {
            assertTrue(Float.isFinite(v[i]), what + "[" + i + "] = " + v[i]);
        }
        assertTrue(Arrays.stream(toDoubles(v)).anyMatch(d -> d != 0), what + " is all zeros");
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double rel = ReferenceData.relativeL2(expected, actual);
        assertTrue(rel < 1e-2, what + ": fp16 differs from fp32 by " + rel + " (relative L2)");
    }
}
