package dev.sdmesh.vae.pipeline;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.UnsafeByteOperations;
import dev.sdmesh.models.onnx.AttributeProto;
import dev.sdmesh.models.onnx.GraphProto;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.models.onnx.NodeProto;
import dev.sdmesh.models.onnx.StringStringEntryProto;
import dev.sdmesh.models.onnx.TensorProto;
import dev.sdmesh.models.onnx.TypeProto;
import dev.sdmesh.models.onnx.ValueInfoProto;
import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import org.jboss.logging.Logger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * A float32 copy of a float16 ONNX graph, for a float16 VAE decoder that overflows when its export ships no float32
 * decoder: what diffusers' {@code force_upcast} does with {@code vae.to(torch.float32)}, done on the graph.
 *
 * <p>Float16 initializers and node-attribute tensors (Constant, ConstantOfShape) become float32 with the same values,
 * float16 inputs, outputs and value_info become float32, and every {@code Cast(to=FLOAT16)} casts to float32 instead,
 * in the main graph and in sub-graphs; all else is kept. Weights in an external data file are read from it and held
 * inline, so the copy must stay under protobuf's 2 GiB (a VAE decoder in float32 is about 200 MB).
 */
public final class Float32Copy {
    private static final Logger LOG = Logger.getLogger(Float32Copy.class);
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;
    /** One protobuf message cannot exceed 2 GiB; headroom is left for the graph around the weights. */
    private static final long MAX_FLOAT32_BYTES = Integer.MAX_VALUE - (64L << 20);

    private final Path source;
    private final Path folder;
    private long float32Bytes;

    private Float32Copy(Path source) {
        this.source = source;
        this.folder = source.toAbsolutePath().normalize().getParent();
    }

    /**
     * Opens a session on the float32 copy of {@code float16Onnx} with {@code sessions}' provider and threads. ONNX
     * Runtime takes a graph from a file, so the copy is written to a temporary file that is deleted once loaded, and
     * it bypasses the optimised-model cache, whose entries are named after that never-repeated path.
     */
    public static OnnxModel open(SessionFactory sessions, Path float16Onnx) {
        LOG.infof("building a float32 copy of %s", float16Onnx);
        ModelProto copy = of(float16Onnx);
        Path file = null;
        try {
            file = Files.createTempFile("sdmesh-float32-copy-", ".onnx");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                copy.writeTo(out);
            }
            SessionSettings settings = sessions.settings();
            return new SessionFactory(new SessionSettings(sessions.provider(), settings.intraOpThreads(),
                    settings.interOpThreads(), settings.optimizationLevel(), null)).open(file);
        } catch (IOException e) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "cannot write the float32 copy of " + float16Onnx + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(file);
        }
    }

    /**
     * The float32 copy of the graph in {@code float16Onnx}.
     *
     * @throws ModelException (BROKEN) when the file or a tensor's data cannot be read, or the copy would exceed 2 GiB
     */
    public static ModelProto of(Path float16Onnx) {
        ModelProto model;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(float16Onnx), 1 << 20)) {
            model = ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new ModelException(ModelException.Kind.BROKEN, "cannot read ONNX model " + float16Onnx + ": "
                    + e.getMessage(), e);
        }
        return model.toBuilder().setGraph(new Float32Copy(float16Onnx).graph(model.getGraph())).build();
    }

    private GraphProto graph(GraphProto graph) {
        GraphProto.Builder out = graph.toBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) out.setInitializer(i, tensor(graph.getInitializer(i)));
        for (int i = 0; i < graph.getNodeCount(); i++) out.setNode(i, node(graph.getNode(i)));
        for (int i = 0; i < graph.getInputCount(); i++) out.setInput(i, valueInfo(graph.getInput(i)));
        for (int i = 0; i < graph.getOutputCount(); i++) out.setOutput(i, valueInfo(graph.getOutput(i)));
        for (int i = 0; i < graph.getValueInfoCount(); i++) out.setValueInfo(i, valueInfo(graph.getValueInfo(i)));
        return out.build();
    }

    private NodeProto node(NodeProto node) {
        boolean isCast = node.getOpType().equals("Cast") && (node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"));
        NodeProto.Builder out = node.toBuilder();
        for (int i = 0; i < node.getAttributeCount(); i++) {
            AttributeProto attribute = node.getAttribute(i);
            AttributeProto.Builder changed = attribute.toBuilder();
            if (isCast && attribute.getName().equals("to") && attribute.getI() == FLOAT16) changed.setI(FLOAT);
            if (attribute.hasT()) changed.setT(tensor(attribute.getT()));
            for (int t = 0; t < attribute.getTensorsCount(); t++) changed.setTensors(t, tensor(attribute.getTensors(t)));
            if (attribute.hasG()) changed.setG(graph(attribute.getG()));
            for (int g = 0; g < attribute.getGraphsCount(); g++) changed.setGraphs(g, graph(attribute.getGraphs(g)));
            out.setAttribute(i, changed);
        }
        return out.build();
    }

    private static ValueInfoProto valueInfo(ValueInfoProto info) {
        TypeProto type = info.getType();
        if (!type.hasTensorType() || type.getTensorType().getElemType() != FLOAT16) return info;
        return info.toBuilder().setType(type.toBuilder().setTensorType(type.getTensorType().toBuilder().setElemType(FLOAT)))
                .build();
    }

    private TensorProto tensor(TensorProto tensor) {
        if (tensor.getDataType() != FLOAT16) return tensor;
        long count = 1;
        for (long dim : tensor.getDimsList()) count = Math.multiplyExact(count, dim);
        float32Bytes += count * Float.BYTES;
        if (float32Bytes > MAX_FLOAT32_BYTES) {
            throw new ModelException(ModelException.Kind.BROKEN, "the float32 copy of " + source + " would hold over "
                    + MAX_FLOAT32_BYTES + " bytes of weights, more than one ONNX protobuf can; give the model a "
                    + "float32 decoder instead");
        }
        ShortBuffer halves = halves(tensor, count);
        ByteBuffer floats = ByteBuffer.allocate(Math.toIntExact(count * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) floats.putFloat(Fp16Conversions.fp16ToFloat(halves.get(i)));
        return tensor.toBuilder().setDataType(FLOAT).clearInt32Data().clearExternalData().clearDataLocation()
                .setRawData(UnsafeByteOperations.unsafeWrap(floats.array())).build();
    }

    /** The float16 values of a tensor: external data, {@code raw_data}, or one value per {@code int32_data} entry. */
    private ShortBuffer halves(TensorProto tensor, long count) {
        ByteBuffer bytes;
        if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            bytes = external(tensor);
        } else if (tensor.hasRawData()) {
            bytes = tensor.getRawData().asReadOnlyByteBuffer();
        } else {
            if (tensor.getInt32DataCount() != count) throw badData(tensor, count, tensor.getInt32DataCount() + " int32_data entries");
            ShortBuffer halves = ShortBuffer.allocate((int) count);
            for (int value : tensor.getInt32DataList()) halves.put((short) value);
            return halves.flip();
        }
        if (bytes.remaining() != count * 2) throw badData(tensor, count, bytes.remaining() + " bytes");
        return bytes.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
    }

    private ModelException badData(TensorProto tensor, long count, String found) {
        return new ModelException(ModelException.Kind.BROKEN, source + ": float16 tensor '" + tensor.getName() + "' of "
                + count + " values holds " + found + ", expected " + count * 2 + " bytes");
    }

    /** The bytes an external-data tensor points at: {@code location} in the model's folder, {@code offset}, {@code length}. */
    private ByteBuffer external(TensorProto tensor) {
        Map<String, String> entries = new HashMap<>();
        for (StringStringEntryProto entry : tensor.getExternalDataList()) entries.put(entry.getKey(), entry.getValue());
        String location = entries.get("location");
        if (location == null) {
            throw new ModelException(ModelException.Kind.BROKEN, source + ": tensor '" + tensor.getName()
                    + "' is stored externally but its external_data names no location");
        }
        Path file = folder.resolve(location).normalize();
        if (!file.startsWith(folder)) {
            throw new ModelException(ModelException.Kind.BROKEN, source + ": tensor '" + tensor.getName()
                    + "' points outside the model's folder: " + location);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long offset = Long.parseLong(entries.getOrDefault("offset", "0"));
            long length = entries.containsKey("length") ? Long.parseLong(entries.get("length")) : channel.size() - offset;
            if (offset < 0 || length < 0 || offset + length > channel.size() || length > Integer.MAX_VALUE) {
                throw new ModelException(ModelException.Kind.BROKEN, source + ": tensor '" + tensor.getName()
                        + "' has external data [" + offset + ", +" + length + ") outside " + file + " ("
                        + channel.size() + " bytes)");
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            while (data.hasRemaining()) {
                if (channel.read(data, offset + data.position()) < 0) break;
            }
            return data.flip();
        } catch (NoSuchFileException e) {
            throw new ModelException(ModelException.Kind.BROKEN, source + ": tensor '" + tensor.getName()
                    + "' is stored in " + file + ", which does not exist", e);
        } catch (IOException | NumberFormatException e) {
            throw new ModelException(ModelException.Kind.BROKEN, source + ": cannot read the external data of tensor '"
                    + tensor.getName() + "' from " + file + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) return;
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warnf("cannot delete %s: %s", file, e.getMessage());
        }
    }
}
