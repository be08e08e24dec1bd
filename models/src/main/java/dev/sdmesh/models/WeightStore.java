package dev.sdmesh.models;

import com.google.protobuf.ByteString;
import dev.sdmesh.models.onnx.StringStringEntryProto;
import dev.sdmesh.models.onnx.TensorProto;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Where parameter values go while a graph is built: nowhere (dry run, for counting), into the protobuf
 * ({@code raw_data}), or streamed into an ONNX external-data file so that a multi-GB model never sits in memory.
 */
public abstract sealed class WeightStore implements Closeable {

    /** Values are generated and written in slices of this many elements. */
    private static final int CHUNK = 1 << 20;

    /** Tensor builder with name, type and dims set; subclasses attach (or skip) the values. */
    abstract TensorProto store(TensorProto.Builder tensor, long count, Precision precision, WeightInit init,
                               SplittableRandom rng);

    @Override
    public void close() throws IOException {
    }

    public static WeightStore dryRun() {
        return new DryRun();
    }

    public static WeightStore inline() {
        return new Inline();
    }

    /** Streams values into {@code dataFile}; tensors reference it by its file name, relative to the model. */
    public static WeightStore external(Path dataFile) throws IOException {
        return new External(dataFile);
    }

    static void fill(ByteBuffer buf, long count, Precision precision, WeightInit init, SplittableRandom rng) {
        for (long i = 0; i < count; i++) {
            precision.put(buf, init.next(rng));
        }
    }

    static final class DryRun extends WeightStore {
        @Override
        TensorProto store(TensorProto.Builder tensor, long count, Precision precision, WeightInit init,
                          SplittableRandom rng) {
            return tensor.build();
        }
    }

    static final class Inline extends WeightStore {
        @Override
        TensorProto store(TensorProto.Builder tensor, long count, Precision precision, WeightInit init,
                          SplittableRandom rng) {
            ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * precision.bytesPerElement()))
                    .order(ByteOrder.LITTLE_ENDIAN);
            fill(buf, count, precision, init, rng);
            return tensor.setRawData(ByteString.copyFrom(buf.array())).build();
        }
    }

    static final class External extends WeightStore {
        /** ORT memory-maps external data; aligned offsets keep every tensor naturally aligned. */
        private static final int ALIGN = 64;

        private final String location;
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        private long offset;

        External(Path dataFile) throws IOException {
            this.location = dataFile.getFileName().toString();
            this.out = new BufferedOutputStream(Files.newOutputStream(dataFile), 1 << 20);
        }

        @Override
        TensorProto store(TensorProto.Builder tensor, long count, Precision precision, WeightInit init,
                          SplittableRandom rng) {
            try {
                long pad = (ALIGN - offset % ALIGN) % ALIGN;
                out.write(new byte[(int) pad]);
                offset += pad;
                long start = offset;
                for (long done = 0; done < count; done += CHUNK) {
                    buf.clear();
                    fill(buf, Math.min(CHUNK, count - done), precision, init, rng);
                    out.write(buf.array(), 0, buf.position());
                    offset += buf.position();
                }
                return tensor.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", location))
                        .addExternalData(entry("offset", Long.toString(start)))
                        .addExternalData(entry("length", Long.toString(offset - start)))
                        .build();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static StringStringEntryProto entry(String key, String value) {
            return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
