package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.platform.Fp16Conversions;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX graph in one session. Inputs are built to the element type and rank the graph declares (float32 or
 * float16 weights; int32 or int64 ids; a rank-0 or rank-1 timestep), never assumed.
 */
public final class OnnxModel implements AutoCloseable {
    private final OrtEnvironment environment;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private final Path file;
    private final Path loadedFrom;
    private final ExecutionProvider provider;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();

    OnnxModel(OrtEnvironment environment, OrtSession session, OrtSession.SessionOptions options, Path file,
              Path loadedFrom, ExecutionProvider provider) throws OrtException {
        this.environment = environment;
        this.session = session;
        this.options = options;
        this.file = file;
        this.loadedFrom = loadedFrom;
        this.provider = provider;
        collect(session.getInputInfo(), inputs);
        collect(session.getOutputInfo(), outputs);
    }

    private void collect(Map<String, NodeInfo> infos, Map<String, TensorInfo> into) {
        infos.forEach((name, info) -> {
            if (!(info.getInfo() instanceof TensorInfo tensor)) {
                throw new IllegalArgumentException(file + ": " + name + " is not a tensor (" + info.getInfo() + ")");
            }
            into.put(name, tensor);
        });
    }

    public OrtSession session() {
        return session;
    }

    public OrtEnvironment environment() {
        return environment;
    }

    /** The model's {@code model.onnx}. */
    public Path file() {
        return file;
    }

    /** The graph the session was built from: {@link #file()}, or its optimised copy in the cache. */
    public Path loadedFrom() {
        return loadedFrom;
    }

    public ExecutionProvider provider() {
        return provider;
    }

    public Set<String> inputNames() {
        return inputs.keySet();
    }

    public Set<String> outputNames() {
        return outputs.keySet();
    }

    public boolean hasInput(String name) {
        return inputs.containsKey(name);
    }

    public boolean hasOutput(String name) {
        return outputs.containsKey(name);
    }

    public OnnxJavaType inputType(String name) {
        return input(name).type;
    }

    /** Declared shape; -1 marks a symbolic axis. */
    public long[] inputShape(String name) {
        return input(name).getShape();
    }

    public long[] outputShape(String name) {
        TensorInfo info = outputs.get(name);
        if (info == null) throw new IllegalArgumentException(file + " has no output '" + name + "'; outputs: " + outputs.keySet());
        return info.getShape();
    }

    /** Whether the graph computes in float16 (judged by the named input). */
    public boolean isFloat16(String inputName) {
        return input(inputName).type == OnnxJavaType.FLOAT16;
    }

    private TensorInfo input(String name) {
        TensorInfo info = inputs.get(name);
        if (info == null) throw new IllegalArgumentException(file + " has no input '" + name + "'; inputs: " + inputs.keySet());
        return info;
    }

    /**
     * A tensor for input {@code name} holding {@code values}, converted to the declared element type (float32, float16,
     * float64, or integers, which truncate as a cast does) and reshaped between rank 0 and rank 1 where the graph
     * wants the other (a scalar timestep vs a {@code [1]} one).
     */
    public OnnxTensor floatInput(String name, float[] values, long[] shape) throws OrtException {
        TensorInfo info = input(name);
        long[] fitted = fitRank(name, info, shape, values.length);
        return switch (info.type) {
            case FLOAT -> OnnxTensor.createTensor(environment, directFloats(values), fitted);
            case FLOAT16 -> {
                ByteBuffer buffer = direct(values.length * 2);
                var shorts = buffer.asShortBuffer();
                for (float v : values) shorts.put(Fp16Conversions.floatToFp16(v));
                yield OnnxTensor.createTensor(environment, buffer, fitted, OnnxJavaType.FLOAT16);
            }
            case DOUBLE -> {
                ByteBuffer buffer = direct(values.length * 8);
                var doubles = buffer.asDoubleBuffer();
                for (float v : values) doubles.put(v);
                yield OnnxTensor.createTensor(environment, buffer, fitted, OnnxJavaType.DOUBLE);
            }
            case INT64, INT32 -> {
                long[] truncated = new long[values.length];
                for (int i = 0; i < values.length; i++) truncated[i] = (long) values[i];
                yield integers(info.type, truncated, fitted);
            }
            default -> throw new IllegalArgumentException(file + ": input " + name + " has unsupported type " + info.type);
        };
    }

    /** A tensor for input {@code name} holding integer {@code values} in the declared type (int32, int64 or float). */
    public OnnxTensor longInput(String name, long[] values, long[] shape) throws OrtException {
        TensorInfo info = input(name);
        long[] fitted = fitRank(name, info, shape, values.length);
        return switch (info.type) {
            case INT64, INT32 -> integers(info.type, values, fitted);
            case FLOAT, FLOAT16, DOUBLE -> {
                float[] asFloats = new float[values.length];
                for (int i = 0; i < values.length; i++) asFloats[i] = values[i];
                yield floatInput(name, asFloats, shape);
            }
            default -> throw new IllegalArgumentException(file + ": input " + name + " has unsupported type " + info.type);
        };
    }

    private OnnxTensor integers(OnnxJavaType type, long[] values, long[] shape) throws OrtException {
        if (type == OnnxJavaType.INT64) {
            ByteBuffer buffer = direct(values.length * 8);
            buffer.asLongBuffer().put(values);
            return OnnxTensor.createTensor(environment, buffer, shape, OnnxJavaType.INT64);
        }
        ByteBuffer buffer = direct(values.length * 4);
        var ints = buffer.asIntBuffer();
        for (long v : values) ints.put(Math.toIntExact(v));
        return OnnxTensor.createTensor(environment, buffer, shape, OnnxJavaType.INT32);
    }

    private long[] fitRank(String name, TensorInfo info, long[] shape, int count) {
        long[] declared = info.getShape();
        long numel = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (numel != count) {
            throw new IllegalArgumentException(name + ": " + count + " values do not fill shape " + Arrays.toString(shape));
        }
        if (declared.length == shape.length) {
            checkFixedAxes(name, declared, shape);
            return shape;
        }
        if (declared.length == 0 && count == 1) return new long[0];
        if (declared.length == 1 && shape.length == 0) return new long[]{1};
        throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape)
                + " does not match the graph's declared shape " + Arrays.toString(declared));
    }

    private static void checkFixedAxes(String name, long[] declared, long[] shape) {
        for (int i = 0; i < declared.length; i++) {
            if (declared[i] > 0 && declared[i] != shape[i]) {
                throw new IllegalArgumentException(name + ": axis " + i + " is " + shape[i]
                        + " but the graph declares " + declared[i] + " (shape " + Arrays.toString(declared) + ")");
            }
        }
    }

    /** Runs the graph; {@code runOptions} may be null, or carry a terminate flag set from another thread. */
    public OrtSession.Result run(Map<String, OnnxTensor> feeds, OrtSession.RunOptions runOptions) throws OrtException {
        return runOptions == null ? session.run(feeds) : session.run(feeds, runOptions);
    }

    /** The values of a float32 or float16 output as float32. */
    public static float[] floats(OnnxValue value) {
        if (!(value instanceof OnnxTensor tensor)) throw new IllegalArgumentException("not a tensor: " + value);
        OnnxJavaType type = tensor.getInfo().type;
        return switch (type) {
            case FLOAT -> {
                var buffer = tensor.getFloatBuffer();
                float[] out = new float[buffer.remaining()];
                buffer.get(out);
                yield out;
            }
            case FLOAT16 -> {
                var buffer = tensor.getByteBuffer().order(ByteOrder.nativeOrder()).asShortBuffer();
                float[] out = new float[buffer.remaining()];
                for (int i = 0; i < out.length; i++) out[i] = Fp16Conversions.fp16ToFloat(buffer.get(i));
                yield out;
            }
            default -> throw new IllegalArgumentException("output is " + type + ", not float32/float16");
        };
    }

    /** Shape of an output value. */
    public static long[] shape(OnnxValue value) {
        return ((OnnxTensor) value).getInfo().getShape();
    }

    static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    private static java.nio.FloatBuffer directFloats(float[] values) {
        var buffer = direct(values.length * 4).asFloatBuffer();
        buffer.put(values).rewind();
        return buffer;
    }

    @Override
    public void close() {
        try {
            session.close();
            options.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing " + file, e);
        }
    }

    @Override
    public String toString() {
        return file + (loadedFrom.equals(file) ? "" : " (optimised copy " + loadedFrom + ")") + " on " + provider
                + " inputs=" + inputs.keySet() + " outputs=" + outputs.keySet();
    }
}
