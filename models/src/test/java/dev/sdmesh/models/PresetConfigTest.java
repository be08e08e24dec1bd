package dev.sdmesh.models;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The configs the generator writes for the SD presets carry the real models' settings, checked without generating
 * weights (the tiny preset's are compared byte for byte with diffusers' output in ReferenceLayoutTest).
 */
class PresetConfigTest {
    @Test
    void sd21IsThe768PixelVPredictionModelWithOpenClipTokenizer() {
        assertEquals("v_prediction", DiffusersConfigs.scheduler(Preset.SD21).get("prediction_type"));
        Map<String, Object> unet = DiffusersConfigs.unet(Preset.SD21.unet());
        assertEquals(96, unet.get("sample_size"));
        assertEquals(768, DiffusersConfigs.vae(Preset.SD21.vae()).get("sample_size"));
        assertEquals(1024, unet.get("cross_attention_dim"));
        assertEquals(true, unet.get("use_linear_projection"));
        assertEquals(1024, Preset.SD21.text().hiddenSize());
        // OpenCLIP pads with "!", which is token 0, where SD 1.x's CLIP pads with end-of-text.
        assertEquals("!", DiffusersConfigs.tokenizerConfig(Preset.SD21.padToken()).get("pad_token"));
        assertEquals("!", DiffusersConfigs.specialTokensMap(Preset.SD21.padToken()).get("pad_token"));
        assertEquals(0, ModelGenerator.vocabulary(Preset.SD21).encoder().get("!"));
    }

    @Test
    void sd15IsThe512PixelEpsilonModelPaddingWithEndOfText() {
        assertEquals("epsilon", DiffusersConfigs.scheduler(Preset.SD15).get("prediction_type"));
        Map<String, Object> unet = DiffusersConfigs.unet(Preset.SD15.unet());
        assertEquals(64, unet.get("sample_size"));
        assertEquals(512, DiffusersConfigs.vae(Preset.SD15.vae()).get("sample_size"));
        assertEquals(768, unet.get("cross_attention_dim"));
        assertEquals(4, unet.get("in_channels"));
        assertEquals(ClipBpeVocabulary.EOS,
                DiffusersConfigs.tokenizerConfig(Preset.SD15.padToken()).get("pad_token"));
        assertEquals(49407, ModelGenerator.vocabulary(Preset.SD15).encoder().get(ClipBpeVocabulary.EOS));
    }

    @Test
    void sd15InpaintTakesNineChannelsInTheInpaintPipeline() {
        Map<String, Object> unet = DiffusersConfigs.unet(Preset.SD15_INPAINT.unet());
        assertEquals(9, unet.get("in_channels"));
        assertEquals(4, unet.get("out_channels"));
        assertEquals(768, unet.get("cross_attention_dim"));
        assertEquals("StableDiffusionInpaintPipeline",
                DiffusersConfigs.modelIndex(Preset.SD15_INPAINT).get("_class_name"));
        assertEquals("StableDiffusionPipeline", DiffusersConfigs.modelIndex(Preset.SD15).get("_class_name"));
    }
}
