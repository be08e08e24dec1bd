package dev.sdmesh.runtime.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Native memory that one caller reuses for the inputs and outputs of repeated runs of an {@link OnnxModel}, one
 * direct buffer per input or output name, grown when a run needs more room and otherwise kept, so that a loop of
 * runs (the UNet's denoising steps) allocates no large arrays per run.
 *
 * <p>Not thread-safe, and deliberately not part of {@link OnnxModel}: a model may be shared by threads that run it
 * concurrently (the text encoder, the VAE), while an instance of this class belongs to one thread. A tensor made over
 * this memory, and an array returned from it, hold valid values only until the next request for the same name.
 */
public final class TensorBuffers {
    private final Map<String, ByteBuffer> inputs = new HashMap<>();
    private final Map<String, ByteBuffer> outputs = new HashMap<>();
    private final Map<String, float[]> outputFloats = new HashMap<>();

    /** {@code bytes} bytes of the memory for input {@code name}, native byte order. */
    ByteBuffer input(String name, int bytes) {
        return view(inputs, name, bytes);
    }

    /** {@code bytes} bytes of the memory for output {@code name}, native byte order. */
    ByteBuffer output(String name, int bytes) {
        return view(outputs, name, bytes);
    }

    /** An array of at least {@code count} floats for output {@code name}; values beyond {@code count} are stale. */
    float[] outputFloats(String name, int count) {
        float[] floats = outputFloats.get(name);
        if (floats == null || floats.length < count) {
            floats = new float[count];
            outputFloats.put(name, floats);
        }
        return floats;
    }

    private static ByteBuffer view(Map<String, ByteBuffer> memory, String name, int bytes) {
        ByteBuffer whole = memory.get(name);
        if (whole == null || whole.capacity() < bytes) {
            whole = OnnxModel.direct(bytes);
            memory.put(name, whole);
        }
        // ONNX Runtime takes a direct buffer's elements from its position to its limit, so the view is cut to size.
        return whole.slice(0, bytes).order(ByteOrder.nativeOrder());
    }
}
