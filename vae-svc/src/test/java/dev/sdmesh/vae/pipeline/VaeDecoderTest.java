package dev.sdmesh.vae.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.tensor.Npy;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decoder against diffusers' decode + postprocess on every public case. */
class VaeDecoderTest {
    private static OnnxModel model;
    private static VaeConfig config;

    @BeforeAll
    static void open() {
        ModelFolder folder = new ModelFolder("tiny", ReferenceData.model());
        config = VaeConfig.from(folder.config(ModelPart.VAE_DECODER));
        model = new SessionFactory(SessionSettings.cpuDefaults()).open(folder.onnx(ModelPart.VAE_DECODER));
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    /** The public case ids (the folders under cases/; cases.json holds -Infinity, which ReferenceData.json rejects). */
    static List<String> cases() {
        try (Stream<Path> dirs = Files.list(ReferenceData.publicDir().resolve("cases"))) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String file(String caseId, String name) {
        return "cases/" + caseId + "/" + name + ".npy";
    }

    @ParameterizedTest
    @MethodSource("cases")
    void decodesEveryPublicCaseAsDiffusers(String caseId) {
        Npy.Array input = ReferenceData.npy(file(caseId, "vae_decoder_input"));
        DecodedImages decoded = new VaeDecoder(model, config, null, null)
                .decodeLatentSample(input.toFloats(), input.shape(), true);

        float[] expectedFloat = ReferenceData.npy(file(caseId, "image_float")).toFloats();
        double floatDiff = ReferenceData.maxAbsDiff(expectedFloat, decoded.imageFloat());
        assertTrue(floatDiff <= 1e-5, caseId + ": image_float differs by " + floatDiff);
        byte[] expectedUint8 = ReferenceData.npy(file(caseId, "image_uint8")).toBytes();
        // diffusers' postprocess applied to torch's float image gives torch's uint8 image bit for bit.
        assertArrayEquals(expectedUint8,
                VaeDecoder.postprocess(expectedFloat, decoded.batch(), decoded.height(), decoded.width()), caseId);
        assertUint8MatchesExceptAtRoundingTies(caseId, expectedFloat, expectedUint8, decoded);
    }

    /**
     * ONNX Runtime and torch agree within ~1e-6, so a pixel whose torch value lies that close to a .5 step of
     * {@code x * 255} may round the other way. Every other pixel must be equal, and those may differ by one step only.
     */
    private static void assertUint8MatchesExceptAtRoundingTies(String caseId, float[] expectedFloat, byte[] expected,
                                                              DecodedImages decoded) {
        int plane = decoded.height() * decoded.width(), ties = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == decoded.rgb()[i]) continue;
            int b = i / (plane * 3), p = (i / 3) % plane, c = i % 3;
            double scaled = Math.min(Math.max(expectedFloat[(b * 3 + c) * plane + p] / 2.0 + 0.5, 0), 1) * 255;
            double fromTie = Math.abs(scaled - Math.floor(scaled) - 0.5);
            assertTrue(fromTie < 255 * 1e-5 && Math.abs((expected[i] & 0xff) - (decoded.rgb()[i] & 0xff)) == 1,
                    caseId + ": uint8 pixel " + i + " is " + (decoded.rgb()[i] & 0xff) + ", diffusers " + (expected[i] & 0xff));
            ties++;
        }
        if (ties > 0) System.out.println(caseId + ": " + ties + " uint8 value(s) off by one at a rounding tie");
    }

    @ParameterizedTest
    @MethodSource("cases")
    void unscalesFinalLatentsAsTorch(String caseId) {
        float[] finalLatents = ReferenceData.npy(file(caseId, "final_latents")).toFloats();
        float[] expected = ReferenceData.npy(file(caseId, "vae_decoder_input")).toFloats();
        float[] actual = VaeDecoder.unscale(finalLatents, config);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= Math.ulp(expected[i]),
                    caseId + "[" + i + "]: " + actual[i] + " vs " + expected[i]);
        }
    }

    @Test
    void batchDecodeEqualsSingleDecodes() {
        List<String> ids = cases().stream()
                .filter(id -> ReferenceData.npy(file(id, "vae_decoder_input")).shape()[3] == 8).limit(2).toList();
        float[] a = ReferenceData.npy(file(ids.get(0), "vae_decoder_input")).toFloats();
        float[] b = ReferenceData.npy(file(ids.get(1), "vae_decoder_input")).toFloats();
        float[] both = new float[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        DecodedImages batch = new VaeDecoder(model, config, null, null).decodeLatentSample(both, new long[]{2, 4, 8, 8}, false);
        assertEquals(2, batch.batch());
        VaeDecoder single = new VaeDecoder(model, config, null, null);
        assertArrayEquals(single.decodeLatentSample(a, new long[]{1, 4, 8, 8}, false).rgb(), batch.rgb(0));
        assertArrayEquals(single.decodeLatentSample(b, new long[]{1, 4, 8, 8}, false).rgb(), batch.rgb(1));
    }

    /**
     * Tiled decoding is an approximation: GroupNorm statistics and the mid-block attention (global over the latents)
     * see one tile, not the image, so the difference is spread over every tile, not only the seams. Measured on this
     * test's input (seed 0): mean |diff| 0.99/255 with full, evenly spread tiles; diffusers' placement (stride 384 px,
     * narrow remainder tiles at the right and bottom) gave 1.27/255, and 512 px tiles without overlap 2.53/255 (seams).
     * Decoding unit-variance noise directly as latent_sample (5.5x smaller than these latents / scaling_factor) gives
     * about 2.2/255 even with even tiles, this random VAE's tile statistics then differing more.
     */
    @Test
    void tiledDecodeOf1024NoiseStaysCloseToFullDecode() {
        int latentSize = 128;
        long[] shape = {1, config.latentChannels(), latentSize, latentSize};
        float[] latents = new TorchGenerator(0).randn(config.latentChannels() * latentSize * latentSize);
        Tiling tiling = ConfiguredTiling.read().always();
        DecodedImages full = new VaeDecoder(model, config, null, null).decode(latents, shape, false);
        DecodedImages tiled = new VaeDecoder(model, config, tiling, null).decode(latents, shape, false);
        assertEquals(1024, tiled.height());
        assertEquals(1024, tiled.width());
        double sum = 0;
        for (int i = 0; i < full.rgb().length; i++) sum += Math.abs((full.rgb()[i] & 0xff) - (tiled.rgb()[i] & 0xff));
        double meanDiff = sum / full.rgb().length;
        System.out.printf("tiled vs full decode (1024x1024, tile %d, overlap >= %d): mean |diff| = %.3f/255%n",
                tiling.tileSize(), tiling.overlap(), meanDiff);
        assertTrue(meanDiff < 2.0, "tiled decode differs from the full decode by " + meanDiff + "/255 on average");
    }

    @ParameterizedTest
    @CsvSource({"128, 64, 16", "128, 64, 32", "100, 64, 16", "130, 64, 60", "64, 64, 16", "40, 64, 16", "200, 64, 0"})
    void tilesAreFullSizeEvenlySpreadAndOverlapAtLeastAsConfigured(int latents, int tileLatents, int leastOverlap) {
        int scale = config.scaleFactor();
        Tiling tiling = new Tiling(1, tileLatents * scale, leastOverlap * scale);
        int[] starts = tiling.tileStarts(latents, scale);
        int length = Math.min(tileLatents, latents);
        assertEquals(0, starts[0]);
        assertEquals(latents, starts[starts.length - 1] + length, "the last tile ends at the edge");
        for (int k = 1; k < starts.length; k++) {
            int step = starts[k] - starts[k - 1];
            assertTrue(step > 0 && length - step >= leastOverlap, "tiles " + (k - 1) + " and " + k + " overlap by "
                    + (length - step) + " latents, configured at least " + leastOverlap);
        }
        assertTrue((starts.length - 2L) * (length - leastOverlap) < latents - length,
                "one tile fewer would reach the edge: " + starts.length + " tiles are too many");

        float[][] weights = VaeDecoder.blendWeights(starts, length, latents, scale);
        double[] coverage = new double[latents * scale];
        for (int k = 0; k < starts.length; k++) {
            for (int p = 0; p < length * scale; p++) {
                assertTrue(weights[k][p] > 0 && weights[k][p] <= 1, "weight " + weights[k][p]);
                coverage[starts[k] * scale + p] += weights[k][p];
            }
        }
        for (int p = 0; p < coverage.length; p++) assertEquals(1.0, coverage[p], 1e-6, "pixel " + p);
    }

    @Test
    void oneTileCoveringTheImageIsTheFullDecode() {
        float[] small = ReferenceData.npy(file(cases().get(0), "vae_decoder_input")).toFloats();
        float[] latents = repeat(small, 4, 8, 16);
        long[] shape = {1, 4, 16, 16};
        DecodedImages full = new VaeDecoder(model, config, null, null).decodeLatentSample(latents, shape, true);
        // Threshold below the image, tile as large as it and no overlap: tiling runs, with exactly one tile.
        DecodedImages tiled = new VaeDecoder(model, config, new Tiling(64, 128, 0), null)
                .decodeLatentSample(latents, shape, true);
        assertArrayEquals(full.imageFloat(), tiled.imageFloat());
    }

    @Test
    void tilingBelowThresholdIsTheFullDecode() {
        Npy.Array input = ReferenceData.npy(file(cases().get(0), "vae_decoder_input"));
        DecodedImages tiled = new VaeDecoder(model, config, new Tiling(64, 32, 8), null)
                .decodeLatentSample(input.toFloats(), input.shape(), false);
        DecodedImages full = new VaeDecoder(model, config, null, null)
                .decodeLatentSample(input.toFloats(), input.shape(), false);
        assertArrayEquals(full.rgb(), tiled.rgb());
    }

    /** SD3 / Flux-style configs: diffusers decodes {@code latents / scaling_factor + shift_factor}. */
    @Test
    void decodeAddsTheShiftFactorAfterUnscaling() throws IOException {
        float scaling = 1.5305f, shift = 0.0609f;
        ObjectMapper json = new ObjectMapper();
        VaeConfig shifted = VaeConfig.from(json.readTree("{\"scaling_factor\": " + scaling + ", \"shift_factor\": " + shift
                + ", \"latent_channels\": 4, \"block_out_channels\": [8, 16, 16, 16]}"));
        assertEquals(shift, shifted.shiftFactor());
        assertEquals(0f, VaeConfig.from(json.readTree("{\"shift_factor\": null}")).shiftFactor());

        Npy.Array finalLatents = ReferenceData.npy(file(cases().get(0), "final_latents"));
        float[] latents = finalLatents.toFloats();
        float[] latentSample = new float[latents.length];
        for (int i = 0; i < latents.length; i++) latentSample[i] = latents[i] / scaling + shift;
        VaeDecoder decoder = new VaeDecoder(model, shifted, null, null);
        float[] decoded = decoder.decode(latents, finalLatents.shape(), true).imageFloat();
        assertArrayEquals(decoder.decodeLatentSample(latentSample, finalLatents.shape(), true).imageFloat(), decoded);
        VaeConfig unshifted = new VaeConfig(scaling, 0f, shifted.latentChannels(), shifted.scaleFactor());
        assertTrue(ReferenceData.maxAbsDiff(decoded, new VaeDecoder(model, unshifted, null, null)
                .decode(latents, finalLatents.shape(), true).imageFloat()) > 1e-3, "the shift changes the image");
    }

    @Test
    void float16OverflowRetriesOnTheFloat32Fallback(@TempDir Path dir) {
        String caseId = cases().get(0);
        Npy.Array input = ReferenceData.npy(file(caseId, "vae_decoder_input"));
        SessionFactory factory = new SessionFactory(SessionSettings.cpuDefaults());
        try (OnnxModel fp16 = factory.open(TinyOnnxGraphs.float16OverflowDecoder(dir.resolve("fp16_decoder.onnx")))) {
            assertTrue(fp16.isFloat16(VaeDecoder.INPUT));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> new VaeDecoder(fp16, config, null, null)
                    .decodeLatentSample(input.toFloats(), input.shape(), false));
            assertTrue(e.getMessage().contains("float16"), e.getMessage());

            int[] opened = {0};
            VaeDecoder withFallback = new VaeDecoder(fp16, config, null, () -> {
                opened[0]++;
                return model;
            });
            DecodedImages decoded = withFallback.decodeLatentSample(input.toFloats(), input.shape(), true);
            assertTrue(ReferenceData.maxAbsDiff(ReferenceData.npy(file(caseId, "image_float")).toFloats(),
                    decoded.imageFloat()) <= 1e-5);
            withFallback.decodeLatentSample(input.toFloats(), input.shape(), false);
            assertEquals(1, opened[0], "the fallback session is opened once and reused");
        }
    }

    @Test
    void rejectsBadLatents() {
        VaeDecoder decoder = new VaeDecoder(model, config, null, null);
        assertThrows(IllegalArgumentException.class,
                () -> decoder.decodeLatentSample(new float[3 * 64], new long[]{1, 3, 8, 8}, false));
        assertThrows(IllegalArgumentException.class,
                () -> decoder.decodeLatentSample(new float[4 * 63], new long[]{1, 4, 8, 8}, false));
        float[] nan = new float[4 * 64];
        nan[5] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> decoder.decodeLatentSample(nan, new long[]{1, 4, 8, 8}, false));
        assertThrows(IllegalArgumentException.class, () -> new Tiling(64, 32, 32));
        assertThrows(IllegalArgumentException.class, () -> new VaeDecoder(model, config, new Tiling(64, 36, 8), null));
    }

    /** [channels, n, n] repeated periodically to [channels, size, size]. */
    private static float[] repeat(float[] src, int channels, int n, int size) {
        float[] out = new float[channels * size * size];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) out[(c * size + y) * size + x] = src[(c * n + y % n) * n + x % n];
            }
        }
        return out;
    }
}
