package dev.sdmesh.runtime.tensor;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import dev.sdmesh.proto.v1.DataType;
import dev.sdmesh.proto.v1.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorCodecTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    static Stream<long[]> shapes() {
        return Stream.of(new long[0], new long[]{1}, new long[]{7}, new long[]{3, 5}, new long[]{2, 3, 1, 7},
                new long[]{1, 4, 13, 9}, new long[]{0, 4});
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void float32RoundTripsThroughWireAndOnnx(long[] shape) throws Exception {
        float[] values = randomFloats(shape, 1);
        Tensor wire = TensorCodec.floats(values, shape);
        assertEquals(values.length * 4L, wire.getData().size());
        assertArrayEquals(values, TensorCodec.toFloats(wire, "t"));
        try (OnnxTensor onnx = TensorCodec.toOnnx(ENV, wire, "t")) {
            assertArrayEquals(shape, onnx.getInfo().getShape());
            assertEquals(wire, TensorCodec.fromOnnx(onnx));
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void float16KeepsHalfPrecision(long[] shape) throws Exception {
        float[] values = randomFloats(shape, 2);
        Tensor wire = TensorCodec.halfs(values, shape);
        assertEquals(DataType.FLOAT16, wire.getDtype());
        assertEquals(values.length * 2L, wire.getData().size());
        float[] back = TensorCodec.toFloats(wire, "t");
        for (int i = 0; i < values.length; i++) {
            assertEquals(values[i], back[i], Math.abs(values[i]) * 1e-3 + 1e-4, "element " + i);
        }
        try (OnnxTensor onnx = TensorCodec.toOnnx(ENV, wire, "t")) {
            assertEquals(wire, TensorCodec.fromOnnx(onnx));
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void integerAndByteTypesRoundTrip(long[] shape) throws Exception {
        int n = Math.toIntExact(TensorCodec.numel(shape));
        Random random = new Random(n);
        int[] ints = random.ints(n).toArray();
        long[] longs = random.longs(n).toArray();
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        assertArrayEquals(ints, TensorCodec.toInts(TensorCodec.ints(ints, shape), "t"));
        assertArrayEquals(longs, TensorCodec.toLongs(TensorCodec.longs(longs, shape), "t"));
        assertArrayEquals(bytes, TensorCodec.toBytes(TensorCodec.bytes(bytes, shape), "t"));
        for (Tensor wire : new Tensor[]{TensorCodec.ints(ints, shape), TensorCodec.longs(longs, shape),
                TensorCodec.bytes(bytes, shape)}) {
            try (OnnxTensor onnx = TensorCodec.toOnnx(ENV, wire, "t")) {
                assertEquals(wire, TensorCodec.fromOnnx(onnx));
            }
        }
    }

    @Test
    void wireBytesAreLittleEndianRowMajor() {
        Tensor wire = TensorCodec.ints(new int[]{1, 2, 3, 4, 5, 6}, 2, 3);
        byte[] data = wire.getData().toByteArray();
        assertEquals(1, data[0]);
        assertEquals(0, data[3]);
        assertEquals(2, data[4]);
        assertEquals(6, data[20]);
    }

    @Test
    void badTensorsNameTheFieldAndTheProblem() {
        Tensor shortData = TensorCodec.floats(new float[6], 2, 3).toBuilder().clearShape().addShape(2).addShape(4).build();
        var sizeError = assertThrows(IllegalArgumentException.class, () -> TensorCodec.toFloats(shortData, "latents"));
        assertTrue(sizeError.getMessage().startsWith("latents:"), sizeError.getMessage());
        assertTrue(sizeError.getMessage().contains("32 bytes"), sizeError.getMessage());

        var shapeError = assertThrows(IllegalArgumentException.class,
                () -> TensorCodec.requireShape(TensorCodec.floats(new float[12], 1, 3, 4), "latents", 1, 4, -1));
        assertTrue(shapeError.getMessage().contains("[1, 4, *]"), shapeError.getMessage());

        assertThrows(IllegalArgumentException.class, () -> TensorCodec.floats(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class,
                () -> TensorCodec.toFloats(TensorCodec.ints(new int[2], 2), "cond_embeddings"));
        assertThrows(IllegalArgumentException.class, () -> TensorCodec.validate(Tensor.newBuilder().build(), "x"));
    }

    private static float[] randomFloats(long[] shape, long seed) {
        Random random = new Random(seed);
        float[] values = new float[Math.toIntExact(TensorCodec.numel(shape))];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * 10);
        return values;
    }
}
