package dev.sdmesh.textencoder.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The CLIP text model's {@code final_layer_norm}, read from the text encoder's ONNX initializers, for clip skip:
 * diffusers ({@code final_layer_norm(hidden_states[-(clip_skip + 1)])}) and AUTOMATIC1111
 * ({@code CLIP_stop_at_last_layers}) both pass the chosen earlier layer through it, while the export applies it only
 * to {@code last_hidden_state}.
 */
public final class FinalLayerNorm {
    /** transformers' CLIPTextModel names them {@code text_model.final_layer_norm.weight} / {@code .bias}. */
    static final String WEIGHT_SUFFIX = "final_layer_norm.weight";
    static final String BIAS_SUFFIX = "final_layer_norm.bias";
    /** CLIPTextConfig's default {@code layer_norm_eps}. */
    public static final double DEFAULT_EPS = 1e-5;

    private final float[] weight;
    private final float[] bias;
    private final double eps;

    FinalLayerNorm(float[] weight, float[] bias, double eps) {
        if (weight.length != bias.length) {
            throw new IllegalArgumentException("final LayerNorm weight has " + weight.length + " values, bias " + bias.length);
        }
        if (!(eps > 0)) throw new IllegalArgumentException("layer_norm_eps must be > 0, got " + eps);
        this.weight = weight.clone();
        this.bias = bias.clone();
        this.eps = eps;
    }

    /**
     * The final LayerNorm of an ONNX text encoder, or empty when it has no initializers named
     * {@code *final_layer_norm.weight} and {@code *final_layer_norm.bias}.
     *
     * @param eps the text encoder config's {@code layer_norm_eps}
     * @throws IllegalArgumentException when the initializers exist but are not 1-D float32 vectors of one width
     */
    public static Optional<FinalLayerNorm> read(Path textEncoderOnnx, double eps) throws IOException {
        Map<String, OnnxInitializers.FloatTensor> found =
                OnnxInitializers.findBySuffix(textEncoderOnnx, List.of(WEIGHT_SUFFIX, BIAS_SUFFIX));
        OnnxInitializers.FloatTensor weight = found.get(WEIGHT_SUFFIX);
        OnnxInitializers.FloatTensor bias = found.get(BIAS_SUFFIX);
        if (weight == null || bias == null) return Optional.empty();
        for (OnnxInitializers.FloatTensor t : List.of(weight, bias)) {
            if (t.dims().length != 1) {
                throw new IllegalArgumentException(textEncoderOnnx + ": " + t.name() + " has shape " + Arrays.toString(t.dims())
                        + ", expected [hidden]");
            }
        }
        return Optional.of(new FinalLayerNorm(weight.values(), bias.values(), eps));
    }

    /** The hidden size it normalises. */
    public int width() {
        return weight.length;
    }

    /**
     * {@code torch.nn.LayerNorm} over the last axis, in place: every consecutive {@link #width()} values of
     * {@code tokens} (one token's hidden state) become {@code (x - mean) / sqrt(var + eps) * weight + bias}, with the
     * biased variance.
     */
    public void applyInPlace(float[] tokens) {
        int width = weight.length;
        if (tokens.length % width != 0) {
            throw new IllegalArgumentException(tokens.length + " values are not whole hidden states of width " + width);
        }
        for (int start = 0; start < tokens.length; start += width) {
            double sum = 0;
            for (int h = 0; h < width; h++) sum += tokens[start + h];
            double mean = sum / width;
            double squares = 0;
            for (int h = 0; h < width; h++) {
                double d = tokens[start + h] - mean;
                squares += d * d;
            }
            double inverseStd = 1 / Math.sqrt(squares / width + eps);
            for (int h = 0; h < width; h++) {
                tokens[start + h] = (float) ((tokens[start + h] - mean) * inverseStd * weight[h] + bias[h]);
            }
        }
    }
}
