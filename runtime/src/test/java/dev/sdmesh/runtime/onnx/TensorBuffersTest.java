package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.tensor.Npy;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Reused native memory for repeated runs of the reference UNet: inputs of a size already seen share their memory, a
 * larger one grows it, and runs through reused buffers give exactly what a run with fresh memory gives, also for a
 * smaller batch after a larger one.
 */
class TensorBuffersTest {
    private static final String CASE = "cases/t2i_ddim_s20_g7.5_neg/";
    private static OnnxModel unet;
    /** One step's UNet input: [2, 4, h, w] (unconditional and conditional rows) and its timestep. */
    private static float[] sample;
    private static long[] sampleShape;
    private static float timestep;
    private static float[] uncondEmbeds;
    private static float[] condEmbeds;

    @BeforeAll
    static void load() {
        var modelDir = ReferenceData.model();
        var model = new ModelRegistry(modelDir.getParent(), null).get("model");
        unet = new SessionFactory(SessionSettings.cpuDefaults()).open(model.onnx(ModelPart.UNET));
        Npy.Array samples = ReferenceData.npy(CASE + "unet_sample.npy");
        sampleShape = Arrays.copyOfRange(samples.shape(), 1, samples.shape().length);
        sample = Arrays.copyOf(samples.toFloats(), Math.toIntExact(Arrays.stream(sampleShape).reduce(1, Math::multiplyExact)));
        timestep = (float) ReferenceData.npy(CASE + "unet_timestep.npy").toDoubles()[0];
        uncondEmbeds = ReferenceData.npy(CASE + "uncond_embeds.npy").toFloats();
        condEmbeds = ReferenceData.npy(CASE + "cond_embeds.npy").toFloats();
    }

    @AfterAll
    static void close() {
        if (unet != null) unet.close();
    }

    @Test
    void sameSizedInputsShareMemoryAndALargerOneGrowsIt() throws Exception {
        TensorBuffers buffers = new TensorBuffers();
        float[] first = ramp(sample.length, 1);
        float[] second = ramp(sample.length, -3);
        float[] larger = ramp(2 * sample.length, 7);
        float[] smaller = ramp(sample.length, 11);
        long[] largerShape = sampleShape.clone();
        largerShape[0] *= 2;
        try (OnnxTensor a = unet.floatInput("sample", FloatBuffer.wrap(first), sampleShape, buffers);
             OnnxTensor b = unet.floatInput("sample", FloatBuffer.wrap(second), sampleShape, buffers)) {
            // Both tensors see the second values: they are one piece of memory.
            assertArrayEquals(second, values(a));
            assertArrayEquals(second, values(b));
            try (OnnxTensor grown = unet.floatInput("sample", FloatBuffer.wrap(larger), largerShape, buffers)) {
                assertArrayEquals(larger, values(grown));
                assertArrayEquals(second, values(a), "the larger input got memory of its own");
                try (OnnxTensor again = unet.floatInput("sample", FloatBuffer.wrap(smaller), sampleShape, buffers)) {
                    assertArrayEquals(smaller, values(again));
                    assertArrayEquals(smaller, Arrays.copyOf(values(grown), smaller.length),
                            "a smaller input after a larger one reuses the grown memory");
                }
            }
        }
    }

    @Test
    void runsThroughReusedBuffersMatchFreshRunsForAnyOrderOfBatchSizes() throws Exception {
        TensorBuffers buffers = new TensorBuffers();
        float[] twoRows = runInto(buffers, 2);
        float[] expectedTwo = freshRun(2);
        assertArrayEquals(expectedTwo, Arrays.copyOf(twoRows, expectedTwo.length));

        float[] oneRow = runInto(buffers, 1);
        assertSame(twoRows, oneRow, "the output array of the larger batch is reused");
        float[] expectedOne = freshRun(1);
        assertArrayEquals(expectedOne, Arrays.copyOf(oneRow, expectedOne.length));

        assertArrayEquals(expectedTwo, Arrays.copyOf(runInto(buffers, 2), expectedTwo.length));
    }

    /** The first {@code rows} rows of the step: the unconditional row alone when one row is asked for. */
    private static float[] runInto(TensorBuffers buffers, int rows) throws Exception {
        try (OnnxTensor x = unet.floatInput("sample", FloatBuffer.wrap(sample, 0, rowsOf(sample, rows)), shape(rows),
                buffers);
             OnnxTensor t = unet.floatInput("timestep", FloatBuffer.wrap(new float[]{timestep}), new long[0], buffers);
             OnnxTensor h = unet.floatInput("encoder_hidden_states", FloatBuffer.wrap(embeddings(rows)),
                     new long[]{rows, 77, 32}, buffers)) {
            return unet.runInto(Map.of("sample", x, "timestep", t, "encoder_hidden_states", h), "out_sample",
                    shape(rows), buffers, null);
        }
    }

    private static float[] freshRun(int rows) throws Exception {
        try (OnnxTensor x = unet.floatInput("sample", Arrays.copyOf(sample, rowsOf(sample, rows)), shape(rows));
             OnnxTensor t = unet.floatInput("timestep", new float[]{timestep}, new long[0]);
             OnnxTensor h = unet.floatInput("encoder_hidden_states", embeddings(rows), new long[]{rows, 77, 32});
             OrtSession.Result r = unet.run(Map.of("sample", x, "timestep", t, "encoder_hidden_states", h), null)) {
            return OnnxModel.floats(r.get("out_sample").orElseThrow());
        }
    }

    private static float[] embeddings(int rows) {
        if (rows == 1) return uncondEmbeds;
        float[] both = Arrays.copyOf(uncondEmbeds, uncondEmbeds.length + condEmbeds.length);
        System.arraycopy(condEmbeds, 0, both, uncondEmbeds.length, condEmbeds.length);
        return both;
    }

    private static long[] shape(int rows) {
        long[] shape = sampleShape.clone();
        shape[0] = rows;
        return shape;
    }

    private static int rowsOf(float[] values, int rows) {
        return values.length / (int) sampleShape[0] * rows;
    }

    private static float[] values(OnnxTensor tensor) {
        FloatBuffer buffer = tensor.getFloatBuffer();
        float[] out = new float[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    private static float[] ramp(int length, float start) {
        float[] out = new float[length];
        for (int i = 0; i < length; i++) out[i] = start + 0.25f * i;
        return out;
    }
}
