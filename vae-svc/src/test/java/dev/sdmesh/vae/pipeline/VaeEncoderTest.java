package dev.sdmesh.vae.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.vae.image.ImageInput;
import dev.sdmesh.vae.image.Pixels;
import dev.sdmesh.vae.service.VaeReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The encoder and the img2img / inpaint preprocessing against diffusers on every img2img and inpaint case of
 * cases.json, with each case's seed, sizes and files read from its entry.
 */
class VaeEncoderTest {
    private static OnnxModel model;
    private static VaeConfig config;
    private static VaeEncoder encoder;

    @BeforeAll
    static void open() {
        ModelFolder folder = new ModelFolder("tiny", ReferenceData.model());
        model = new SessionFactory(SessionSettings.cpuDefaults()).open(folder.onnx(ModelPart.VAE_ENCODER));
        config = VaeConfig.from(folder.config(ModelPart.VAE_ENCODER));
        encoder = new VaeEncoder(model, config);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    static List<Named<JsonNode>> encodeCases() {
        return casesOf("img2img", "inpaint");
    }

    static List<Named<JsonNode>> inpaintCases() {
        return casesOf("inpaint");
    }

    private static List<Named<JsonNode>> casesOf(String... pipelines) {
        List<Named<JsonNode>> cases = VaeReference.cases().stream()
                .filter(c -> Arrays.asList(pipelines).contains(c.path("pipeline").asText()))
                .map(c -> Named.of(c.path("id").asText(), c)).toList();
        assertFalse(cases.isEmpty(), "no public " + String.join("/", pipelines) + " case in cases.json");
        return cases;
    }

    /** The file a case entry lists under {@code key}, relative to public/. */
    private static String file(JsonNode testCase, String key) {
        JsonNode entry = testCase.path("files").path(key);
        assertTrue(entry.has("file"), testCase.path("id").asText() + " lists no file '" + key + "'");
        return entry.path("file").asText();
    }

    private static float[] floats(JsonNode testCase, String key) {
        return ReferenceData.npy(file(testCase, key)).toFloats();
    }

    private static long[] shape(JsonNode testCase, String key) {
        return ReferenceData.npy(file(testCase, key)).shape();
    }

    private static byte[] bytes(JsonNode testCase, String key) {
        try {
            return Files.readAllBytes(ReferenceData.publicDir().resolve(file(testCase, key)));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static float[] initImage(JsonNode testCase) {
        Pixels image = new ImageInput(ImageInput.Limits.defaults()).decodeRgb(bytes(testCase, "init_image_png"));
        return VaeEncoder.preprocess(image.data(), 1, image.height(), image.width());
    }

    private static InpaintMask mask(JsonNode testCase) {
        Pixels mask = new ImageInput(ImageInput.Limits.defaults()).decodeGray(bytes(testCase, "mask_image_png"));
        return InpaintMask.binarize(mask.data(), 1, mask.height(), mask.width());
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        double diff = ReferenceData.maxAbsDiff(expected, actual);
        assertTrue(diff <= tolerance, what + " differs by " + diff);
    }

    /** {@code expected} is {@code actual} repeated along the batch (diffusers repeats one encoded image per prompt). */
    private static void assertRepeats(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(0, expected.length % actual.length, what + ": " + expected.length + " values for " + actual.length);
        for (int from = 0; from < expected.length; from += actual.length) {
            assertClose(Arrays.copyOfRange(expected, from, from + actual.length), actual, tolerance, what + " @" + from);
        }
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void preprocessesThePngAsDiffusers(JsonNode testCase) {
        float[] image = initImage(testCase);
        assertArrayEquals(floats(testCase, "init_image_tensor"), image);
        assertArrayEquals(floats(testCase, "vae_encoder_input"), image);
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void encodesToDiffusersLatentParameters(JsonNode testCase) {
        LatentDistribution dist = encoder.encode(initImage(testCase), shape(testCase, "vae_encoder_input"));
        assertParameters(floats(testCase, "vae_latent_parameters"), dist, "vae_latent_parameters");
        // init_latents = scaling_factor * (mean + std * eps), eps being the first draw, made by the VAE's sample.
        JsonNode firstDraw = testCase.path("randn_draws_in_order").path(0);
        assertTrue(firstDraw.path("caller").asText().startsWith("vae.py"), "first draw: " + firstDraw);
        float[] eps = ReferenceData.npy(firstDraw.path("file").asText()).toFloats();
        assertRepeats(floats(testCase, "init_latents"), encoder.scale(dist.sample(eps)), 1e-5, "init_latents");
    }

    @ParameterizedTest
    @MethodSource("inpaintCases")
    void inpaintMaskAndMaskedImageAsDiffusers(JsonNode testCase) {
        InpaintMask binary = mask(testCase);
        assertArrayEquals(floats(testCase, "mask_tensor"), binary.values());
        float[] masked = binary.maskedImage(initImage(testCase));
        assertArrayEquals(floats(testCase, "vae_encoder_input_masked"), masked);
        // mask_latents holds the mask once per (CFG-duplicated) batch row.
        assertRepeats(floats(testCase, "mask_latents"), binary.latentMask(config.scaleFactor()), 0, "mask_latents");
        assertParameters(floats(testCase, "vae_latent_parameters_masked"),
                encoder.encode(masked, shape(testCase, "vae_encoder_input_masked")), "masked image");
    }

    /**
     * With RNG parity the case's seed alone gives init_latents, and every draw diffusers recorded (the VAE's samples,
     * add_noise's noise, any scheduler noise) comes out of one generator in diffusers' order. The VAE's draws are
     * the init image's sample, then (inpaint) the masked image's, which skipSample may replace.
     */
    @ParameterizedTest
    @MethodSource("encodeCases")
    void everyDrawFromTheSeedInDiffusersOrder(JsonNode testCase) {
        TorchGenerator generator = new TorchGenerator(testCase.path("seed").asLong());
        float[] image = initImage(testCase);
        Deque<float[]> toEncode = new ArrayDeque<>(List.of(image));
        if (testCase.path("pipeline").asText().equals("inpaint")) toEncode.add(mask(testCase).maskedImage(image));
        long[] imageShape = shape(testCase, "vae_encoder_input");
        boolean first = true;
        for (JsonNode draw : testCase.path("randn_draws_in_order")) {
            String what = "draw " + draw.path("index").asInt() + " (" + draw.path("caller").asText() + ")";
            float[] recorded = ReferenceData.npy(draw.path("file").asText()).toFloats();
            if (!draw.path("caller").asText().startsWith("vae.py")) {
                assertArrayEquals(recorded, generator.randn(recorded.length), what);
                continue;
            }
            assertFalse(toEncode.isEmpty(), what + ": no image left to encode");
            TorchGenerator skipping = TorchGenerator.fromProto(generator.toProto());
            VaeEncoder.skipSample(skipping, shapeOf(draw));
            float[] latents = encoder.encodeLatents(toEncode.poll(), imageShape, generator);
            if (first) assertRepeats(floats(testCase, "init_latents"), latents, 1e-5, "init_latents from the seed");
            assertEquals(skipping.toProto(), generator.toProto(), what + ": skipSample advances as the sample does");
            first = false;
        }
        assertFalse(first, "no VAE sample among the recorded draws");
    }

    private static long[] shapeOf(JsonNode draw) {
        return StreamSupport.stream(draw.path("shape").spliterator(), false).mapToLong(JsonNode::asLong).toArray();
    }

    /**
     * A legacy export's {@code latent_sample} is already a sample: the latents are that output times scaling_factor
     * whatever the seed, with no noise of ours added. The generator still advances by one latent-sized draw, as
     * diffusers' sample would, so the add_noise and scheduler draws after it stay in diffusers' places.
     */
    @Test
    void legacyLatentSampleExportIsItsOutputTimesTheScalingFactor(@TempDir Path dir) {
        JsonNode testCase = encodeCases().get(0).getPayload();
        float[] image = initImage(testCase);
        long[] shape = shape(testCase, "vae_encoder_input");
        int pixelsHigh = (int) shape[2], pixelsWide = (int) shape[3], height = pixelsHigh / 8, width = pixelsWide / 8;
        float[] expected = new float[config.latentChannels() * height * width];
        for (int c = 0; c < config.latentChannels(); c++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    double sum = 0;
                    for (int dy = 0; dy < 8; dy++) {
                        for (int dx = 0; dx < 8; dx++) {
                            sum += image[((c % 3) * pixelsHigh + y * 8 + dy) * pixelsWide + x * 8 + dx];
                        }
                    }
                    expected[(c * height + y) * width + x] = (float) (config.scalingFactor() * sum / 64);
                }
            }
        }
        try (OnnxModel legacyModel = new SessionFactory(SessionSettings.cpuDefaults())
                .open(TinyOnnxGraphs.legacySampleEncoder(dir))) {
            VaeEncoder legacy = new VaeEncoder(legacyModel, config);
            assertTrue(legacy.isLegacySampleExport());
            TorchGenerator generator = new TorchGenerator(7);
            float[] latents = legacy.encodeLatents(image, shape, generator);
            assertClose(expected, latents, 1e-6, "legacy latents");
            assertArrayEquals(latents, legacy.encodeLatents(image, shape, new TorchGenerator(8)), "no noise is added");
            assertArrayEquals(latents, legacy.scale(legacy.encode(image, shape).mode()), "the mean is the sample");

            TorchGenerator diffusers = new TorchGenerator(7);
            diffusers.randn(expected.length);
            assertArrayEquals(diffusers.randn(16), generator.randn(16), "the generator continues where diffusers' does");
        }
    }

    /** The encoder side of a shifted VAE (SD3 / Flux) inverts the decoder's {@code z / scaling_factor + shift}. */
    @Test
    void scaleUndoesTheDecodersUnscaleWithAShiftFactor() {
        VaeConfig shifted = new VaeConfig(1.5305f, 0.0609f, config.latentChannels(), config.scaleFactor());
        float[] latents = new TorchGenerator(3).randn(256);
        float[] roundTrip = new VaeEncoder(model, shifted).scale(VaeDecoder.unscale(latents, shifted));
        assertClose(latents, roundTrip, 1e-6, "scale(unscale(latents))");
        assertTrue(ReferenceData.maxAbsDiff(latents, encoder.scale(VaeDecoder.unscale(latents, shifted))) > 0.01,
                "a config without the shift does not invert it");
    }

    @Test
    void rejectsWrongImageShapes() {
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new float[4 * 64 * 64], new long[]{1, 4, 64, 64}));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new float[3 * 60 * 64], new long[]{1, 3, 60, 64}));
        assertThrows(IllegalArgumentException.class, () -> VaeEncoder.preprocess(new byte[64 * 64 * 4], 1, 64, 64));
    }

    /** mean = parameters[:, :c] and std = exp(0.5 * clamp(parameters[:, c:], -30, 20)), per batch row, within 1e-5. */
    private static void assertParameters(float[] parameters, LatentDistribution dist, String what) {
        int batch = (int) dist.shape()[0], plane = dist.size() / batch;
        assertEquals(2 * dist.size(), parameters.length, what + " size");
        float[] mean = new float[dist.size()], std = new float[dist.size()];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(parameters, 2 * b * plane, mean, b * plane, plane);
            for (int i = 0; i < plane; i++) {
                std[b * plane + i] = (float) Math.exp(0.5 * Math.min(Math.max(parameters[(2 * b + 1) * plane + i], -30), 20));
            }
        }
        assertClose(mean, dist.mode(), 1e-5, what + " mean");
        assertClose(std, dist.std(), 1e-5, what + " std");
    }
}
