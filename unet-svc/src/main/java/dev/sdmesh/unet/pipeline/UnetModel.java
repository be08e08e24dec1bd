package dev.sdmesh.unet.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.TensorBuffers;

import java.nio.FloatBuffer;
import java.util.Map;

/**
 * The UNet graph of one model with what the loop needs to know about it: latent channels (4, or 9 for inpainting
 * UNets), the cross-attention width, and whether the timestep is one scalar for the whole batch (current Optimum
 * exports) or one value per batch element.
 */
public final class UnetModel implements AutoCloseable {
    static final String SAMPLE = "sample";
    static final String TIMESTEP = "timestep";
    static final String ENCODER_HIDDEN_STATES = "encoder_hidden_states";

    private final String modelId;
    private final OnnxModel onnx;
    private final int inChannels;
    private final int latentChannels;
    private final int crossAttentionDim;
    private final int numUpsamplers;
    private final String outputName;

    public UnetModel(String modelId, OnnxModel onnx, JsonNode unetConfig) {
        this.modelId = modelId;
        this.onnx = onnx;
        for (String input : new String[]{SAMPLE, TIMESTEP, ENCODER_HIDDEN_STATES}) {
            if (!onnx.hasInput(input)) {
                throw new IllegalArgumentException("UNet " + onnx.file() + " lacks input '" + input + "'; has " + onnx.inputNames());
            }
        }
        long declaredChannels = onnx.inputShape(SAMPLE)[1];
        this.inChannels = declaredChannels > 0 ? (int) declaredChannels : unetConfig.path("in_channels").asInt(4);
        this.latentChannels = unetConfig.path("out_channels").asInt(4);
        long declaredWidth = onnx.inputShape(ENCODER_HIDDEN_STATES)[2];
        this.crossAttentionDim = declaredWidth > 0 ? (int) declaredWidth : unetConfig.path("cross_attention_dim").asInt();
        this.numUpsamplers = Math.max(0, unetConfig.path("block_out_channels").size() - 1);
        this.outputName = onnx.outputNames().iterator().next();
    }

    public String modelId() {
        return modelId;
    }

    public OnnxModel onnx() {
        return onnx;
    }

    public int inChannels() {
        return inChannels;
    }

    public int latentChannels() {
        return latentChannels;
    }

    public boolean isInpaintingUnet() {
        return inChannels == 2 * latentChannels + 1;
    }

    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    /**
     * Latent sizes must be multiples of this (2^upsamplers); otherwise diffusers takes a different upsampling path
     * that the exported graph does not have.
     */
    public int latentSizeMultiple() {
        return 1 << numUpsamplers;
    }

    /** Whether one timestep is fed for the whole batch, so only requests at the same timestep can share a call. */
    public boolean scalarTimestep() {
        long[] shape = onnx.inputShape(TIMESTEP);
        return shape.length == 0 || shape[0] == 1;
    }

    /**
     * One UNet call, through the caller's {@code buffers}: the returned array belongs to them, holds at least the
     * output's {@code n * latentChannels * h * w} values and is overwritten by the next call with the same buffers.
     *
     * @param sample       [n, inChannels, h, w], from position to limit
     * @param timesteps    one value (scalar graphs) or n values
     * @param hiddenStates [n, seq, crossAttentionDim]
     */
    public float[] predict(FloatBuffer sample, long[] sampleShape, FloatBuffer timesteps, FloatBuffer hiddenStates,
                           long[] hiddenShape, TensorBuffers buffers, OrtSession.RunOptions runOptions)
            throws OrtException {
        int timestepCount = timesteps.remaining();
        long[] timestepShape = timestepCount == 1 && scalarTimestep() ? new long[0] : new long[]{timestepCount};
        long[] outputShape = {sampleShape[0], latentChannels, sampleShape[2], sampleShape[3]};
        try (OnnxTensor x = onnx.floatInput(SAMPLE, sample, sampleShape, buffers);
             OnnxTensor t = onnx.floatInput(TIMESTEP, timesteps, timestepShape, buffers);
             OnnxTensor h = onnx.floatInput(ENCODER_HIDDEN_STATES, hiddenStates, hiddenShape, buffers)) {
            return onnx.runInto(Map.of(SAMPLE, x, TIMESTEP, t, ENCODER_HIDDEN_STATES, h), outputName, outputShape,
                    buffers, runOptions);
        }
    }

    @Override
    public void close() {
        onnx.close();
    }
}
