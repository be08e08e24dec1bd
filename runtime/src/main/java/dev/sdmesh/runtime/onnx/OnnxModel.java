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
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * One ONNX graph in one session. Inputs are built to the element type and rank the graph declares (float32 or
 * float16 weights; int32 or int64 ids; a rank-0 or rank-1 timestep), never assumed. It keeps no per-run state, so
 * several threads may run it at once; a caller that runs it in a loop on one thread passes its own
 * {@link TensorBuffers} to reuse input and output memory instead of allocating it per run.
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
        return floatInput(name, FloatBuffer.wrap(values), shape, OnnxModel::direct);
    }

    /**
     * As {@link #floatInput(String, float[], long[])} for the values from {@code values}' position to its limit, but
     * written into the caller's {@code buffers} instead of new native memory; the tensor's values stay valid until the
     * next input of this name is written into the same buffers.
     */
    public OnnxTensor floatInput(String name, FloatBuffer values, long[] shape, TensorBuffers buffers)
            throws OrtException {
        return floatInput(name, values, shape, bytes -> buffers.input(name, bytes));
    }

    private OnnxTensor floatInput(String name, FloatBuffer values, long[] shape, IntFunction<ByteBuffer> memory)
            throws OrtException {
        TensorInfo info = input(name);
        int count = values.remaining();
        int from = values.position();
        long[] fitted = fitRank(name, info, shape, count);
        return switch (info.type) {
            case FLOAT -> {
                ByteBuffer buffer = memory.apply(count * 4);
                buffer.asFloatBuffer().put(0, values, from, count);
                yield OnnxTensor.createTensor(environment, buffer, fitted, OnnxJavaType.FLOAT);
            }
            case FLOAT16 -> {
                ByteBuffer buffer = memory.apply(count * 2);
                var shorts = buffer.asShortBuffer();
                for (int i = 0; i < count; i++) shorts.put(i, Fp16Conversions.floatToFp16(values.get(from + i)));
                yield OnnxTensor.createTensor(environment, buffer, fitted, OnnxJavaType.FLOAT16);
            }
            case DOUBLE -> {
                ByteBuffer buffer = memory.apply(count * 8);
                var doubles = buffer.asDoubleBuffer();
                for (int i = 0; i < count; i++) doubles.put(i, values.get(from + i));
                yield OnnxTensor.createTensor(environment, buffer, fitted, OnnxJavaType.DOUBLE);
            }
            case INT64, INT32 -> {
                long[] truncated = new long[count];
                for (int i = 0; i < count; i++) truncated[i] = (long) values.get(from + i);
                yield integers(info.type, truncated, fitted, memory);
            }
            default -> throw new IllegalArgumentException(file + ": input " + name + " has unsupported type " + info.type);
        };
    }

    /** A tensor for input {@code name} holding integer {@code values} in the declared type (int32, int64 or float). */
    public OnnxTensor longInput(String name, long[] values, long[] shape) throws OrtException {
        TensorInfo info = input(name);
        long[] fitted = fitRank(name, info, shape, values.length);
        return switch (info.type) {
            case INT64, INT32 -> integers(info.type, values, fitted, OnnxModel::direct);
            case FLOAT, FLOAT16, DOUBLE -> {
                float[] asFloats = new float[values.length];
                for (int i = 0; i < values.length; i++) asFloats[i] = values[i];
                yield floatInput(name, asFloats, shape);
            }
            default -> throw new IllegalArgumentException(file + ": input " + name + " has unsupported type " + info.type);
        };
    }

    private OnnxTensor integers(OnnxJavaType type, long[] values, long[] shape, IntFunction<ByteBuffer> memory)
            throws OrtException {
        if (type == OnnxJavaType.INT64) {
            ByteBuffer buffer = memory.apply(values.length * 8);
            buffer.asLongBuffer().put(values);
            return OnnxTensor.createTensor(environment, buffer, shape, OnnxJavaType.INT64);
        }
        ByteBuffer buffer = memory.apply(values.length * 4);
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

    /**
     * Runs the graph for output {@code outputName} alone, which ONNX Runtime writes into the caller's
     * {@code buffers} (a pinned output, so it allocates no output tensor), and returns its values as float32 in an
     * array of {@code buffers}: at least as long as {@code outputShape} holds, valid until the next run with the same
     * buffers. {@code outputShape} must be the shape the graph computes.
     */
    public float[] runInto(Map<String, OnnxTensor> feeds, String outputName, long[] outputShape, TensorBuffers buffers,
                           OrtSession.RunOptions runOptions) throws OrtException {
        TensorInfo info = outputs.get(outputName);
        if (info == null) {
            throw new IllegalArgumentException(file + " has no output '" + outputName + "'; outputs: " + outputs.keySet());
        }
        if (info.getShape().length != outputShape.length) {
            throw new IllegalArgumentException(outputName + ": shape " + Arrays.toString(outputShape)
                    + " does not match the graph's declared shape " + Arrays.toString(info.getShape()));
        }
        checkFixedAxes(outputName, info.getShape(), outputShape);
        int count = Math.toIntExact(Arrays.stream(outputShape).reduce(1, Math::multiplyExact));
        ByteBuffer memory = buffers.output(outputName, count * floatBytes(info.type, outputName));
        try (OnnxTensor pinned = OnnxTensor.createTensor(environment, memory, outputShape, info.type);
             OrtSession.Result ignored = runOptions == null
                     ? session.run(feeds, Set.of(), Map.of(outputName, pinned))
                     : session.run(feeds, Set.of(), Map.of(outputName, pinned), runOptions)) {
            return toFloats(info.type, memory, buffers.outputFloats(outputName, count), count);
        }
    }

    private static int floatBytes(OnnxJavaType type, String outputName) {
        return switch (type) {
            case FLOAT -> 4;
            case FLOAT16 -> 2;
            default -> throw new IllegalArgumentException(outputName + " is " + type + ", not float32/float16");
        };
    }

    /** The values of a float32 or float16 output as float32. */
    public static float[] floats(OnnxValue value) {
        if (!(value instanceof OnnxTensor tensor)) throw new IllegalArgumentException("not a tensor: " + value);
        OnnxJavaType type = tensor.getInfo().type;
        ByteBuffer bytes = tensor.getByteBuffer().order(ByteOrder.nativeOrder());
        int count = bytes.remaining() / floatBytes(type, "output");
        return toFloats(type, bytes, new float[count], count);
    }

    /** The first {@code count} float32 or float16 values of native-order {@code bytes} as float32, into {@code into}. */
    private static float[] toFloats(OnnxJavaType type, ByteBuffer bytes, float[] into, int count) {
        if (type == OnnxJavaType.FLOAT) {
            bytes.asFloatBuffer().get(0, into, 0, count);
        } else {
            var halves = bytes.asShortBuffer();
            for (int i = 0; i < count; i++) into[i] = Fp16Conversions.fp16ToFloat(halves.get(i));
        }
        return into;
    }

    /** Shape of an output value. */
    public static long[] shape(OnnxValue value) {
        return ((OnnxTensor) value).getInfo().getShape();
    }

    static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
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
