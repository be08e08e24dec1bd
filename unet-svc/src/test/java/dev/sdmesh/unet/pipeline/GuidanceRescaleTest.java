package dev.sdmesh.unet.pipeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * diffusers' {@code rescale_noise_cfg}: {@code std} is taken per image over all non-batch dimensions (channels and
 * pixels together), and {@code guidance_rescale} mixes the rescaled prediction with the unscaled one.
 */
class GuidanceRescaleTest {

    @Test
    void scalesEachImageToTheStdOfItsTextPredictionOverAllChannels() {
        // Two images of [C=2, H=1, W=2].
        // Image 0 is zero-mean, and its channels have different ratios (2 and 1), so a per-channel std would give
        // another result: over the whole image std(cfg) / std(text) = sqrt(sum(cfg^2) / sum(text^2)).
        // Image 1's guided prediction is 3 * text + 5: an offset that only a mean-subtracted std ignores.
        float[] text = {1, -1, 10, -10, 3, -1, -1, -1};
        float[] cfg = {2, -2, 10, -10, 14, 2, 2, 2};
        double[] textToCfgStd = {Math.sqrt((1 + 1 + 100 + 100) / (4.0 + 4 + 100 + 100)), 1.0 / 3};
        float rescale = 0.7f;

        // The text prediction is read in place from the UNet output, behind the unconditional rows.
        float[] unetOutput = new float[3 + text.length];
        java.util.Arrays.fill(unetOutput, 0, 3, 1000f);
        System.arraycopy(text, 0, unetOutput, 3, text.length);

        float[] out = cfg.clone();
        DenoiseRun.rescaleNoiseCfg(out, unetOutput, 3, rescale, 2);

        for (int i = 0; i < cfg.length; i++) {
            double ratio = textToCfgStd[i / 4];
            double expected = rescale * (cfg[i] * ratio) + (1 - rescale) * cfg[i];
            assertEquals(expected, out[i], 1e-5 * Math.abs(expected), "element " + i);
        }
    }
}
