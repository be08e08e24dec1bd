package dev.sdmesh.runtime.tensor;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.sdmesh.proto.v1.DataType;
import dev.sdmesh.proto.v1.Tensor;
import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Conversions between the wire {@link Tensor} (little-endian, row-major), Java arrays and ONNX Runtime tensors, with
 * shape and size checks at every boundary. Bulk buffer copies only; no per-element boxing.
 */
public final class TensorCodec {
    private TensorCodec() {
    }

    public static int elementSize(DataType dtype) {
        return switch (dtype) {
            case FLOAT32, INT32 -> 4;
            case FLOAT16 -> 2;
            case INT64 -> 8;
            case UINT8 -> 1;
            default -> throw new IllegalArgumentException("tensor dtype " + dtype + " is not supported");
        };
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long dim : shape) {
            if (dim < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    public static long[] shape(Tensor tensor) {
        return tensor.getShapeList().stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Checks dtype-independent integrity: a known dtype and exactly {@code numel * elementSize} bytes.
     *
     * @param field the request field, named in the error
     */
    public static void validate(Tensor tensor, String field) {
        if (tensor.getDtype() == DataType.DATA_TYPE_UNSPECIFIED || tensor.getDtype() == DataType.UNRECOGNIZED) {
            throw new InvalidFieldException(field, "dtype is not set");
        }
        long expected = numel(shape(tensor)) * elementSize(tensor.getDtype());
        if (tensor.getData().size() != expected) {
            throw new InvalidFieldException(field, "shape " + Arrays.toString(shape(tensor)) + " of "
                    + tensor.getDtype() + " needs " + expected + " bytes but data has " + tensor.getData().size());
        }
    }

    /**
     * Checks the shape against {@code expected}, where -1 accepts any size on that axis.
     *
     * @param field the request field, named in the error
     */
    public static void requireShape(Tensor tensor, String field, long... expected) {
        validate(tensor, field);
        long[] actual = shape(tensor);
        boolean ok = actual.length == expected.length;
        for (int i = 0; ok && i < expected.length; i++) ok = expected[i] < 0 || expected[i] == actual[i];
        if (!ok) {
            throw new InvalidFieldException(field, "shape " + Arrays.toString(actual) + " does not match "
                    + Arrays.toString(expected).replace("-1", "*"));
        }
    }

    public static Tensor floats(float[] values, long... shape) {
        checkCount(values.length, shape);
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return build(DataType.FLOAT32, shape, buffer);
    }

    /** float32 values stored as float16 on the wire (half the bytes; for fp16 models). */
    public static Tensor halfs(float[] values, long... shape) {
        checkCount(values.length, shape);
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        var shorts = buffer.asShortBuffer();
        for (float v : values) shorts.put(Fp16Conversions.floatToFp16(v));
        return build(DataType.FLOAT16, shape, buffer);
    }

    public static Tensor ints(int[] values, long... shape) {
        checkCount(values.length, shape);
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asIntBuffer().put(values);
        return build(DataType.INT32, shape, buffer);
    }

    public static Tensor longs(long[] values, long... shape) {
        checkCount(values.length, shape);
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asLongBuffer().put(values);
        return build(DataType.INT64, shape, buffer);
    }

    public static Tensor bytes(byte[] values, long... shape) {
        checkCount(values.length, shape);
        return build(DataType.UINT8, shape, ByteBuffer.wrap(values));
    }

    private static Tensor build(DataType dtype, long[] shape, ByteBuffer data) {
        Tensor.Builder builder = Tensor.newBuilder().setDtype(dtype);
        for (long dim : shape) builder.addShape(dim);
        // The buffer is never written again, so protobuf may wrap it instead of copying.
        return builder.setData(UnsafeByteOperations.unsafeWrap(data.array())).build();
    }

    private static void checkCount(int count, long[] shape) {
        if (numel(shape) != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + Arrays.toString(shape));
        }
    }

    private static ByteBuffer littleEndian(Tensor tensor) {
        return tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The values of a float32 or float16 tensor as float32. */
    public static float[] toFloats(Tensor tensor, String field) {
        validate(tensor, field);
        ByteBuffer data = littleEndian(tensor);
        return switch (tensor.getDtype()) {
            case FLOAT32 -> {
                float[] out = new float[data.remaining() / 4];
                data.asFloatBuffer().get(out);
                yield out;
            }
            case FLOAT16 -> {
                var shorts = data.asShortBuffer();
                float[] out = new float[shorts.remaining()];
                for (int i = 0; i < out.length; i++) out[i] = Fp16Conversions.fp16ToFloat(shorts.get(i));
                yield out;
            }
            default -> throw new InvalidFieldException(field, "expected a float32 or float16 tensor, got "
                    + tensor.getDtype());
        };
    }

    public static int[] toInts(Tensor tensor, String field) {
        validate(tensor, field);
        ByteBuffer data = littleEndian(tensor);
        return switch (tensor.getDtype()) {
            case INT32 -> {
                int[] out = new int[data.remaining() / 4];
                data.asIntBuffer().get(out);
                yield out;
            }
            case INT64 -> {
                var longs = data.asLongBuffer();
                int[] out = new int[longs.remaining()];
                for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(longs.get(i));
                yield out;
            }
            default -> throw new InvalidFieldException(field, "expected an int32 or int64 tensor, got "
                    + tensor.getDtype());
        };
    }

    public static long[] toLongs(Tensor tensor, String field) {
        validate(tensor, field);
        ByteBuffer data = littleEndian(tensor);
        if (tensor.getDtype() == DataType.INT64) {
            long[] out = new long[data.remaining() / 8];
            data.asLongBuffer().get(out);
            return out;
        }
        return Arrays.stream(toInts(tensor, field)).asLongStream().toArray();
    }

    public static byte[] toBytes(Tensor tensor, String field) {
        validate(tensor, field);
        if (tensor.getDtype() != DataType.UINT8) {
            throw new InvalidFieldException(field, "expected a uint8 tensor, got " + tensor.getDtype());
        }
        return tensor.getData().toByteArray();
    }

    /** An ONNX Runtime tensor with the same dtype, shape and bytes (copied once into a direct buffer). */
    public static OnnxTensor toOnnx(OrtEnvironment environment, Tensor tensor, String field) throws OrtException {
        validate(tensor, field);
        ByteBuffer direct = ByteBuffer.allocateDirect(tensor.getData().size()).order(ByteOrder.nativeOrder());
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || elementSize(tensor.getDtype()) == 1) {
            tensor.getData().copyTo(direct);
        } else {
            throw new UnsupportedOperationException("big-endian hosts are not supported");
        }
        direct.rewind();
        return OnnxTensor.createTensor(environment, direct, shape(tensor), onnxType(tensor.getDtype()));
    }

    /** The wire form of an ONNX Runtime tensor. */
    public static Tensor fromOnnx(OnnxTensor tensor) {
        DataType dtype = dataType(tensor.getInfo().type);
        ByteBuffer bytes = tensor.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        Tensor.Builder builder = Tensor.newBuilder().setDtype(dtype);
        for (long dim : tensor.getInfo().getShape()) builder.addShape(dim);
        return builder.setData(ByteString.copyFrom(bytes)).build();
    }

    static OnnxJavaType onnxType(DataType dtype) {
        return switch (dtype) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case UINT8 -> OnnxJavaType.UINT8;
            default -> throw new IllegalArgumentException("tensor dtype " + dtype + " is not supported");
        };
    }

    static DataType dataType(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> DataType.FLOAT32;
            case FLOAT16 -> DataType.FLOAT16;
            case INT32 -> DataType.INT32;
            case INT64 -> DataType.INT64;
            case UINT8 -> DataType.UINT8;
            default -> throw new IllegalArgumentException("ONNX type " + type + " has no wire dtype");
        };
    }
}
