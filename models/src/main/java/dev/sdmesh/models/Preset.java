package dev.sdmesh.models;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Model geometries the generator knows. The SD presets copy the real architectures exactly. */
public enum Preset {
    /** Small and fast, the geometry of the reference tiny pipeline; the default embedded model. */
    TINY("tiny",
            new ModelConfigs.ClipText(32, 2, 4, 64, 77, "quick_gelu", 32),
            new ModelConfigs.UNet(4, 4, List.of(32, 64), 1, List.of(8, 8), true, 8, 32, false, false, 8),
            new ModelConfigs.Vae(List.of(8, 16, 16, 16), 1, 4, 4, 64, 0.18215),
            0, "<|endoftext|>", "epsilon", "StableDiffusionPipeline"),
    SD15("sd15", Geometry.SD15_TEXT, Geometry.sd15UNet(4), Geometry.vae(512),
            Geometry.CLIP_VOCAB, "<|endoftext|>", "epsilon", "StableDiffusionPipeline"),
    /** SD 2.1 (768-v): OpenCLIP ViT-H text tower without its last layer, linear projections, v-prediction. */
    SD21("sd21",
            new ModelConfigs.ClipText(1024, 23, 16, 4096, 77, "gelu", 512),
            new ModelConfigs.UNet(4, 4, Geometry.SD_CHANNELS, 2, List.of(5, 10, 20, 20), false, 32, 1024, true, true, 96),
            Geometry.vae(768),
            Geometry.CLIP_VOCAB, "!", "v_prediction", "StableDiffusionPipeline"),
    /** SD 1.5 inpainting: the UNet also takes the masked-image latents and the mask (4 + 4 + 1 channels). */
    SD15_INPAINT("sd15-inpaint", Geometry.SD15_TEXT, Geometry.sd15UNet(9), Geometry.vae(512),
            Geometry.CLIP_VOCAB, "<|endoftext|>", "epsilon", "StableDiffusionInpaintPipeline");

    private final String id;
    private final ModelConfigs.ClipText text;
    private final ModelConfigs.UNet unet;
    private final ModelConfigs.Vae vae;
    private final int vocabSize;
    private final String padToken;
    private final String predictionType;
    private final String pipelineClass;

    Preset(String id, ModelConfigs.ClipText text, ModelConfigs.UNet unet, ModelConfigs.Vae vae, int vocabSize,
           String padToken, String predictionType, String pipelineClass) {
        this.id = id;
        this.text = text;
        this.unet = unet;
        this.vae = vae;
        this.vocabSize = vocabSize;
        this.padToken = padToken;
        this.predictionType = predictionType;
        this.pipelineClass = pipelineClass;
    }

    /** Accepts "tiny", "sd15", "sd21", "sd15-inpaint" (case-insensitive). */
    public static Preset parse(String id) {
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(p -> p.id.equals(wanted)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown preset '" + id + "', expected one of "
                        + Arrays.stream(values()).map(Preset::id).toList()));
    }

    public String id() {
        return id;
    }

    public ModelConfigs.ClipText text() {
        return text;
    }

    public ModelConfigs.UNet unet() {
        return unet;
    }

    public ModelConfigs.Vae vae() {
        return vae;
    }

    /** Size of the generated vocabulary: CLIP's 49408 for real geometries, learned merges only (0) for tiny. */
    int generatedVocabSize() {
        return vocabSize;
    }

    String padToken() {
        return padToken;
    }

    String predictionType() {
        return predictionType;
    }

    String pipelineClass() {
        return pipelineClass;
    }

    @Override
    public String toString() {
        return id;
    }

    /** Shared SD geometry constants (an enum cannot reference its own static fields in constructors). */
    private static final class Geometry {
        static final int CLIP_VOCAB = 49408;
        static final List<Integer> SD_CHANNELS = List.of(320, 640, 1280, 1280);
        static final ModelConfigs.ClipText SD15_TEXT = new ModelConfigs.ClipText(768, 12, 12, 3072, 77, "quick_gelu", 768);

        static ModelConfigs.UNet sd15UNet(int inChannels) {
            return new ModelConfigs.UNet(inChannels, 4, SD_CHANNELS, 2, List.of(8, 8, 8, 8), true, 32, 768, false, false, 64);
        }

        static ModelConfigs.Vae vae(int sampleSize) {
            return new ModelConfigs.Vae(List.of(128, 256, 512, 512), 2, 32, 4, sampleSize, 0.18215);
        }
    }
}
