package dev.sdmesh.vae.pipeline;

import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.tensor.Npy;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
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
     * diffusers' tiled decode is an approximation: GroupNorm statistics and the mid-block attention see one tile, not
     * the image. On a stationary latent (a public case's latents repeated) only the tile borders differ; measured here
     * on 256x256 with 192 px tiles overlapping 64 px (diffusers' 25%). On smooth non-repeating content this random
     * tiny VAE differs far more (about 20/255 with 128 px tiles), since its tile statistics then differ.
     */
    @Test
    void tiledDecodeStaysCloseToFullDecode() {
        float[] small = ReferenceData.npy(file(cases().get(0), "vae_decoder_input")).toFloats();
        int size = 32;
        float[] latents = repeat(small, 4, 8, size);
        long[] shape = {1, 4, size, size};
        DecodedImages full = new VaeDecoder(model, config, null, null).decodeLatentSample(latents, shape, true);
        DecodedImages tiled = new VaeDecoder(model, config, new Tiling(128, 192, 64), null)
                .decodeLatentSample(latents, shape, true);
        assertEquals(256, tiled.height());
        assertEquals(256, tiled.width());
        double sum = 0;
        for (int i = 0; i < full.rgb().length; i++) sum += Math.abs((full.rgb()[i] & 0xff) - (tiled.rgb()[i] & 0xff));
        double meanDiff = sum / full.rgb().length;
        System.out.printf("tiled vs full decode (256x256, tile 192, overlap 64): mean |diff| = %.3f/255%n", meanDiff);
        assertTrue(meanDiff < 2.0, "tiled decode differs from the full decode by " + meanDiff + "/255 on average");
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

    @Test
    void float16OverflowRetriesOnTheFloat32Fallback(@TempDir Path dir) {
        String caseId = cases().get(0);
        Npy.Array input = ReferenceData.npy(file(caseId, "vae_decoder_input"));
        SessionFactory factory = new SessionFactory(SessionSettings.cpuDefaults());
        try (OnnxModel fp16 = factory.open(Float16OverflowGraph.write(dir))) {
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
