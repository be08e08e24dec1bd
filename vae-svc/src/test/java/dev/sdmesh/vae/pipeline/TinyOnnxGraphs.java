package dev.sdmesh.vae.pipeline;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes tiny ONNX graphs that stand in for VAE exports the reference model does not cover. Each ModelProto is encoded
 * by hand with protobuf's wire format (field numbers from onnx.proto).
 */
final class TinyOnnxGraphs {
    private static final int FLOAT = 1;
    private static final int INT64 = 7;
    private static final int FLOAT16 = 10;
    private static final int ATTRIBUTE_INT = 2;
    private static final int ATTRIBUTE_TENSOR = 4;
    private static final int ATTRIBUTE_INTS = 7;
    /** The factor of {@link #float16OverflowDecoder}: 60000 is a float16, 60000² is not. */
    static final float OVERFLOW_FACTOR = 60000f;

    private TinyOnnxGraphs() {
    }

    /**
     * A float16 "VAE decoder" that overflows like a float16 SD VAE does: {@code sample = (latent_sample * 60000 *
     * 60000)[:, 0:3]} in float16 (Inf wherever the input is not tiny), written to {@code file}.
     */
    static Path float16OverflowDecoder(Path file) {
        return squaringDecoder(file, FLOAT16, OVERFLOW_FACTOR, false);
    }

    /** {@link #float16OverflowDecoder} with its factor from a Constant node instead of an initializer. */
    static Path float16OverflowDecoderWithConstantNode(Path file) {
        return squaringDecoder(file, FLOAT16, OVERFLOW_FACTOR, true);
    }

    /** {@code sample = (latent_sample * factor * factor)[:, 0:3]} in float32. */
    static Path float32SquaringDecoder(Path file, float factor) {
        return squaringDecoder(file, FLOAT, factor, false);
    }

    private static Path squaringDecoder(Path file, int elementType, float factor, boolean constantNode) {
        ByteBuffer factorBytes = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        if (elementType == FLOAT16) factorBytes.putShort(Fp16Conversions.floatToFp16(factor));
        else factorBytes.putFloat(factor);
        return write(file, "squaring_decoder", out -> {
            byte[] factorTensor = message(t -> {
                t.writeInt32(2, elementType);
                t.writeString(8, "factor");
                t.writeBytes(9, ByteString.copyFrom(factorBytes.array(), 0, factorBytes.position()));
            });
            if (constantNode) {
                out.writeByteArray(1, node("Constant", "factor", new String[0], message(a -> {
                    a.writeString(1, "value");
                    a.writeByteArray(5, factorTensor);
                    a.writeInt32(20, ATTRIBUTE_TENSOR);
                })));
            } else {
                out.writeByteArray(5, factorTensor);
            }
            out.writeByteArray(1, node("Mul", "scaled", "latent_sample", "factor"));
            out.writeByteArray(1, node("Mul", "squared", "scaled", "factor"));
            out.writeByteArray(1, node("Slice", "sample", "squared", "starts", "ends", "axes"));
            out.writeByteArray(5, int64("starts", 0));
            out.writeByteArray(5, int64("ends", 3));
            out.writeByteArray(5, int64("axes", 1));
            out.writeByteArray(11, valueInfo("latent_sample", elementType));
            out.writeByteArray(12, valueInfo("sample", elementType));
        });
    }

    /**
     * A legacy (Optimum <= 1.22) "VAE encoder" whose only output is {@code latent_sample}, deterministic here:
     * channel c of the [b, 4, H/8, W/8] output is the mean of each 8x8 block of image channel {@code c % 3}.
     */
    static Path legacySampleEncoder(Path dir) {
        return write(dir.resolve("legacy_encoder.onnx"), "legacy_latent_sample", out -> {
            out.writeByteArray(1, node("AveragePool", "pooled", new String[]{"sample"},
                    ints("kernel_shape", 8, 8), ints("strides", 8, 8)));
            out.writeByteArray(1, node("Concat", "doubled", new String[]{"pooled", "pooled"}, integer("axis", 1)));
            out.writeByteArray(1, node("Slice", "latent_sample", "doubled", "starts", "ends", "axes"));
            out.writeByteArray(5, int64("starts", 0));
            out.writeByteArray(5, int64("ends", 4));
            out.writeByteArray(5, int64("axes", 1));
            out.writeByteArray(11, valueInfo("sample", FLOAT));
            out.writeByteArray(12, valueInfo("latent_sample", FLOAT));
        });
    }

    private static Path write(Path file, String name, Fields graphBody) {
        try {
            byte[] graph = message(out -> {
                graphBody.write(out);
                out.writeString(2, name);
            });
            byte[] model = message(out -> {
                out.writeInt64(1, 7);
                out.writeByteArray(7, graph);
                out.writeByteArray(8, message(opset -> {
                    opset.writeString(1, "");
                    opset.writeInt64(2, 14);
                }));
            });
            Files.write(file, model);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] node(String op, String output, String... inputs) throws IOException {
        return node(op, output, inputs, new byte[0][]);
    }

    private static byte[] node(String op, String output, String[] inputs, byte[]... attributes) throws IOException {
        return message(out -> {
            for (String input : inputs) out.writeString(1, input);
            out.writeString(2, output);
            out.writeString(4, op);
            for (byte[] attribute : attributes) out.writeByteArray(5, attribute);
        });
    }

    private static byte[] integer(String name, long value) throws IOException {
        return message(out -> {
            out.writeString(1, name);
            out.writeInt64(3, value);
            out.writeInt32(20, ATTRIBUTE_INT);
        });
    }

    private static byte[] ints(String name, long... values) throws IOException {
        return message(out -> {
            out.writeString(1, name);
            for (long value : values) out.writeInt64(8, value);
            out.writeInt32(20, ATTRIBUTE_INTS);
        });
    }

    /** A one-element int64 tensor [1]. */
    private static byte[] int64(String name, long value) throws IOException {
        return message(out -> {
            out.writeInt64(1, 1);
            out.writeInt32(2, INT64);
            out.writeString(8, name);
            out.writeInt64(7, value);
        });
    }

    /** A tensor of shape [batch, channels, height, width], all axes symbolic. */
    private static byte[] valueInfo(String name, int elementType) throws IOException {
        byte[] shape = message(out -> {
            for (String dim : new String[]{"batch", "channels", "height", "width"}) {
                out.writeByteArray(1, message(d -> d.writeString(2, dim)));
            }
        });
        byte[] tensorType = message(out -> {
            out.writeInt32(1, elementType);
            out.writeByteArray(2, shape);
        });
        return message(out -> {
            out.writeString(1, name);
            out.writeByteArray(2, message(t -> t.writeByteArray(1, tensorType)));
        });
    }

    private interface Fields {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Fields fields) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        fields.write(out);
        out.flush();
        return bytes.toByteArray();
    }
}
