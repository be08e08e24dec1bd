package dev.sdmesh.models;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON documents diffusers 0.25.1 / transformers write next to the weights, with their exact keys. */
final class DiffusersConfigs {
    static final String DIFFUSERS_VERSION = "0.25.1";
    private static final String TRANSFORMERS_VERSION = "4.33.0";

    private DiffusersConfigs() {
    }

    static Map<String, Object> modelIndex(Preset preset) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", preset.pipelineClass());
        m.put("_diffusers_version", DIFFUSERS_VERSION);
        m.put("feature_extractor", nulls());
        m.put("image_encoder", nulls());
        m.put("requires_safety_checker", false);
        m.put("safety_checker", nulls());
        m.put("scheduler", List.of("diffusers", "PNDMScheduler"));
        m.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        m.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        m.put("unet", List.of("diffusers", "UNet2DConditionModel"));
        m.put("vae", List.of("diffusers", "AutoencoderKL"));
        return m;
    }

    private static List<Object> nulls() {
        return Collections.nCopies(2, null);
    }

    /** SD 1.5's PNDM scheduler config; SD 2.1 differs only in prediction_type. */
    static Map<String, Object> scheduler(Preset preset) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "PNDMScheduler");
        m.put("_diffusers_version", DIFFUSERS_VERSION);
        m.put("beta_end", 0.012);
        m.put("beta_schedule", "scaled_linear");
        m.put("beta_start", 0.00085);
        m.put("clip_sample", false);
        m.put("num_train_timesteps", 1000);
        m.put("prediction_type", preset.predictionType());
        m.put("set_alpha_to_one", false);
        m.put("skip_prk_steps", true);
        m.put("steps_offset", 1);
        m.put("timestep_spacing", "leading");
        m.put("trained_betas", null);
        return m;
    }

    static Map<String, Object> textEncoder(ModelConfigs.ClipText c, int vocabSize, Precision precision) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("CLIPTextModel"));
        m.put("attention_dropout", 0.0);
        // The legacy SD 1.x ids: pooling takes argmax(input_ids), which is the end-of-text token.
        m.put("bos_token_id", 0);
        m.put("dropout", 0.0);
        m.put("eos_token_id", 2);
        m.put("hidden_act", c.hiddenAct());
        m.put("hidden_size", c.hiddenSize());
        m.put("initializer_factor", 1.0);
        m.put("initializer_range", 0.02);
        m.put("intermediate_size", c.intermediateSize());
        m.put("layer_norm_eps", 1e-05);
        m.put("max_position_embeddings", c.maxPositionEmbeddings());
        m.put("model_type", "clip_text_model");
        m.put("num_attention_heads", c.numAttentionHeads());
        m.put("num_hidden_layers", c.numHiddenLayers());
        m.put("pad_token_id", 1);
        m.put("projection_dim", c.projectionDim());
        m.put("torch_dtype", precision == Precision.FLOAT16 ? "float16" : "float32");
        m.put("transformers_version", TRANSFORMERS_VERSION);
        m.put("vocab_size", vocabSize);
        return m;
    }

    static Map<String, Object> unet(ModelConfigs.UNet c) {
        int blocks = c.blockOutChannels().size();
        List<String> down = new ArrayList<>(Collections.nCopies(blocks - 1, "CrossAttnDownBlock2D"));
        down.add("DownBlock2D");
        List<String> up = new ArrayList<>(List.of("UpBlock2D"));
        up.addAll(Collections.nCopies(blocks - 1, "CrossAttnUpBlock2D"));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "UNet2DConditionModel");
        m.put("_diffusers_version", DIFFUSERS_VERSION);
        m.put("act_fn", "silu");
        m.put("addition_embed_type", null);
        m.put("addition_embed_type_num_heads", 64);
        m.put("addition_time_embed_dim", null);
        m.put("attention_head_dim", c.scalarHeadDim() ? c.attentionHeads().get(0) : c.attentionHeads());
        m.put("attention_type", "default");
        m.put("block_out_channels", c.blockOutChannels());
        m.put("center_input_sample", false);
        m.put("class_embed_type", null);
        m.put("class_embeddings_concat", false);
        m.put("conv_in_kernel", 3);
        m.put("conv_out_kernel", 3);
        m.put("cross_attention_dim", c.crossAttentionDim());
        m.put("cross_attention_norm", null);
        m.put("down_block_types", down);
        m.put("downsample_padding", 1);
        m.put("dropout", 0.0);
        m.put("dual_cross_attention", false);
        m.put("encoder_hid_dim", null);
        m.put("encoder_hid_dim_type", null);
        m.put("flip_sin_to_cos", true);
        m.put("freq_shift", 0);
        m.put("in_channels", c.inChannels());
        m.put("layers_per_block", c.layersPerBlock());
        m.put("mid_block_only_cross_attention", null);
        m.put("mid_block_scale_factor", 1);
        m.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        m.put("norm_eps", 1e-05);
        m.put("norm_num_groups", c.normNumGroups());
        m.put("num_attention_heads", null);
        m.put("num_class_embeds", null);
        m.put("only_cross_attention", false);
        m.put("out_channels", c.outChannels());
        m.put("projection_class_embeddings_input_dim", null);
        m.put("resnet_out_scale_factor", 1.0);
        m.put("resnet_skip_time_act", false);
        m.put("resnet_time_scale_shift", "default");
        m.put("reverse_transformer_layers_per_block", null);
        m.put("sample_size", c.sampleSize());
        m.put("time_cond_proj_dim", null);
        m.put("time_embedding_act_fn", null);
        m.put("time_embedding_dim", null);
        m.put("time_embedding_type", "positional");
        m.put("timestep_post_act", null);
        m.put("transformer_layers_per_block", 1);
        m.put("up_block_types", up);
        m.put("upcast_attention", c.upcastAttention());
        m.put("use_linear_projection", c.useLinearProjection());
        return m;
    }

    static Map<String, Object> vae(ModelConfigs.Vae c) {
        int blocks = c.blockOutChannels().size();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "AutoencoderKL");
        m.put("_diffusers_version", DIFFUSERS_VERSION);
        m.put("act_fn", "silu");
        m.put("block_out_channels", c.blockOutChannels());
        m.put("down_block_types", Collections.nCopies(blocks, "DownEncoderBlock2D"));
        m.put("force_upcast", true);
        m.put("in_channels", 3);
        m.put("latent_channels", c.latentChannels());
        m.put("layers_per_block", c.layersPerBlock());
        m.put("norm_num_groups", c.normNumGroups());
        m.put("out_channels", 3);
        m.put("sample_size", c.sampleSize());
        m.put("scaling_factor", c.scalingFactor());
        m.put("up_block_types", Collections.nCopies(blocks, "UpDecoderBlock2D"));
        return m;
    }

    static Map<String, Object> tokenizerConfig(String padToken) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token", addedToken(ClipBpeVocabulary.BOS, true));
        m.put("clean_up_tokenization_spaces", true);
        m.put("eos_token", addedToken(ClipBpeVocabulary.EOS, true));
        m.put("errors", "replace");
        m.put("model_max_length", 77);
        m.put("pad_token", padToken);
        m.put("tokenizer_class", "CLIPTokenizer");
        m.put("unk_token", addedToken(ClipBpeVocabulary.EOS, true));
        return m;
    }

    static Map<String, Object> specialTokensMap(String padToken) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token", addedToken(ClipBpeVocabulary.BOS, false));
        m.put("eos_token", addedToken(ClipBpeVocabulary.EOS, false));
        m.put("pad_token", padToken);
        m.put("unk_token", addedToken(ClipBpeVocabulary.EOS, false));
        return m;
    }

    private static Map<String, Object> addedToken(String content, boolean typed) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (typed) {
            m.put("__type", "AddedToken");
        }
        m.put("content", content);
        m.put("lstrip", false);
        m.put("normalized", true);
        m.put("rstrip", false);
        m.put("single_word", false);
        return m;
    }
}
