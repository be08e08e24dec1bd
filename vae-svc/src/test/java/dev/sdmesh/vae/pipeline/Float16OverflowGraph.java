package dev.sdmesh.vae.pipeline;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a tiny float16 "VAE decoder" ONNX graph that overflows like a float16 SD VAE does: {@code sample =
 * (latent_sample * 60000 * 60000)[:, 0:3]} in float16 (Inf wherever the input is not tiny). The ModelProto is encoded by hand
 * with protobuf's wire format (field numbers from onnx.proto) since no ONNX builder is on the classpath.
 */
final class Float16OverflowGraph {
    private static final int FLOAT16 = 10;

    private Float16OverflowGraph() {
    }

    static Path write(Path dir) {
        try {
            byte[] big = {0x53, 0x7b}; // float16 60000, little-endian
            byte[] initializer = message(out -> {
                out.writeInt32(2, FLOAT16);
                out.writeString(8, "big");
                out.writeBytes(9, ByteString.copyFrom(big));
            });
            byte[] graph = message(out -> {
                out.writeByteArray(1, node("Mul", "scaled", "latent_sample", "big"));
                out.writeByteArray(1, node("Mul", "overflowed", "scaled", "big"));
                out.writeByteArray(1, node("Slice", "sample", "overflowed", "starts", "ends", "axes"));
                out.writeString(2, "fp16_overflow");
                out.writeByteArray(5, initializer);
                out.writeByteArray(5, int64("starts", 0));
                out.writeByteArray(5, int64("ends", 3));
                out.writeByteArray(5, int64("axes", 1));
                out.writeByteArray(11, valueInfo("latent_sample"));
                out.writeByteArray(12, valueInfo("sample"));
            });
            byte[] model = message(out -> {
                out.writeInt64(1, 7);
                out.writeByteArray(7, graph);
                out.writeByteArray(8, message(opset -> {
                    opset.writeString(1, "");
                    opset.writeInt64(2, 14);
                }));
            });
            Path file = dir.resolve("fp16_decoder.onnx");
            Files.write(file, model);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] node(String op, String output, String... inputs) throws IOException {
        return message(out -> {
            for (String input : inputs) out.writeString(1, input);
            out.writeString(2, output);
            out.writeString(4, op);
        });
    }

    /** A one-element int64 tensor [1]. */
    private static byte[] int64(String name, long value) throws IOException {
        return message(out -> {
            out.writeInt64(1, 1);
            out.writeInt32(2, 7);
            out.writeString(8, name);
            out.writeInt64(7, value);
        });
    }

    /** A float16 tensor of shape [batch, channels, height, width], all axes symbolic. */
    private static byte[] valueInfo(String name) throws IOException {
        byte[] shape = message(out -> {
            for (String dim : new String[]{"batch", "channels", "height", "width"}) {
                out.writeByteArray(1, message(d -> d.writeString(2, dim)));
            }
        });
        byte[] tensorType = message(out -> {
            out.writeInt32(1, FLOAT16);
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
