package dev.sdmesh.models;

import dev.sdmesh.runtime.model.ModelPart;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parameter counts from dry runs (graphs built, no weight generated) against the published sizes of the real
 * models: SD 1.5 UNet 859.5M, CLIP ViT-L text 123.1M, AutoencoderKL 83.7M; SD 2.1 UNet 865.9M, OpenCLIP-H text
 * (23 layers) 340.4M.
 */
class ParameterCountTest {

    private static void assertWithin(double expected, long actual, String what) {
        double rel = Math.abs(actual - expected) / expected;
        assertTrue(rel <= 0.005, what + ": " + actual + " parameters, expected " + expected + " within 0.5% (off by "
                + String.format("%.3f%%", rel * 100) + ")");
    }

    private static long vae(Map<ModelPart, Long> counts) {
        return counts.get(ModelPart.VAE_ENCODER) + counts.get(ModelPart.VAE_DECODER);
    }

    @Test
    void sd15MatchesStableDiffusion15() {
        Map<ModelPart, Long> counts = ModelGenerator.parameterCounts(Preset.SD15);
        assertWithin(859.52e6, counts.get(ModelPart.UNET), "sd15 unet");
        assertWithin(123.06e6, counts.get(ModelPart.TEXT_ENCODER), "sd15 text encoder");
        assertWithin(83.65e6, vae(counts), "sd15 vae");
    }

    @Test
    void sd15InpaintOnlyWidensConvIn() {
        Map<ModelPart, Long> inpaint = ModelGenerator.parameterCounts(Preset.SD15_INPAINT);
        Map<ModelPart, Long> base = ModelGenerator.parameterCounts(Preset.SD15);
        assertWithin(859.54e6, inpaint.get(ModelPart.UNET), "sd15-inpaint unet");
        // conv_in gains 5 input channels x 320 outputs x 3x3.
        assertEquals(base.get(ModelPart.UNET) + 5 * 320 * 9, inpaint.get(ModelPart.UNET));
        assertEquals(base.get(ModelPart.TEXT_ENCODER), inpaint.get(ModelPart.TEXT_ENCODER));
        assertEquals(vae(base), vae(inpaint));
    }

    @Test
    void sd21MatchesStableDiffusion21() {
        Map<ModelPart, Long> counts = ModelGenerator.parameterCounts(Preset.SD21);
        assertWithin(865.91e6, counts.get(ModelPart.UNET), "sd21 unet");
        assertWithin(340.39e6, counts.get(ModelPart.TEXT_ENCODER), "sd21 text encoder");
        assertWithin(83.65e6, vae(counts), "sd21 vae");
    }

    @Test
    void tinyStaysSmall() {
        Map<ModelPart, Long> counts = ModelGenerator.parameterCounts(Preset.TINY);
        long total = counts.values().stream().mapToLong(Long::longValue).sum();
        // The embedded default must stay under 30 MB on disk in float32.
        assertTrue(total * 4 < 30L << 20, "tiny has " + total + " parameters");
        counts.forEach((part, n) -> assertTrue(n > 0, part + " has no parameters"));
    }
}
