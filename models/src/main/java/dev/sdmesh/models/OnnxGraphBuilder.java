package dev.sdmesh.models;

import com.google.protobuf.ByteString;
import dev.sdmesh.models.onnx.AttributeProto;
import dev.sdmesh.models.onnx.GraphProto;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.models.onnx.NodeProto;
import dev.sdmesh.models.onnx.OperatorSetIdProto;
import dev.sdmesh.models.onnx.TensorProto;
import dev.sdmesh.models.onnx.TensorShapeProto;
import dev.sdmesh.models.onnx.TypeProto;
import dev.sdmesh.models.onnx.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Small DSL for writing an ONNX graph (opset 17) from Java: inputs, outputs, parameters (counted, filled by a
 * {@link WeightStore}), constants, raw ops and the layers Stable Diffusion is made of. Parameter names follow the
 * PyTorch state-dict names of diffusers / transformers so a graph can be read next to the Python module.
 * Linear weights are stored as [in, out] so they feed MatMul directly, like torch's ONNX exports.
 */
public final class OnnxGraphBuilder {

    public static final int OPSET = 17;
    static final int IR_VERSION = 8;

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Precision precision;
    private final WeightStore store;
    private final SplittableRandom rng;
    private final Map<String, String> int64Constants = new HashMap<>();
    private final Map<Integer, String> scalarConstants = new HashMap<>();
    private long parameterCount;
    private int nextId;

    public OnnxGraphBuilder(String name, Precision precision, WeightStore store, long seed) {
        this.graph.setName(name);
        this.precision = precision;
        this.store = store;
        this.rng = new SplittableRandom(seed);
    }

    public Precision precision() {
        return precision;
    }

    /** Number of parameter values declared so far (constants such as masks and frequencies excluded). */
    public long parameterCount() {
        return parameterCount;
    }

    // ---- graph interface ----

    /** Declares a graph input; dims are Integer/Long (fixed) or String (symbolic). */
    public String input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
        return name;
    }

    /** Declares {@code value} as graph output {@code name}. */
    public void output(String value, String name, int elemType, Object... dims) {
        if (!value.equals(name)) {
            graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName("/output/" + name)
                    .addInput(value).addOutput(name));
        }
        graph.addOutput(valueInfo(name, elemType, dims));
    }

    private static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                dim.setDimValue(((Number) d).longValue());
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    // ---- initializers ----

    /** A trainable parameter in the model precision, filled by the weight store. */
    public String param(String name, WeightInit init, long... dims) {
        long count = Arrays.stream(dims).reduce(1, Math::multiplyExact);
        parameterCount += count;
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(precision.onnxType());
        Arrays.stream(dims).forEach(tensor::addDims);
        graph.addInitializer(store.store(tensor, count, precision, init, rng.split()));
        return name;
    }

    /** A constant in the model precision, always stored inline. */
    public String constant(String hint, float[] values, long... dims) {
        return floatConstant(hint, precision, values, dims);
    }

    /** A float32 constant regardless of the model precision (for math that must not run in fp16). */
    public String float32Constant(String hint, float[] values, long... dims) {
        return floatConstant(hint, Precision.FLOAT32, values, dims);
    }

    private String floatConstant(String hint, Precision p, float[] values, long... dims) {
        String name = "/const/" + hint + "_" + (nextId++);
        ByteBuffer buf = ByteBuffer.allocate(values.length * p.bytesPerElement()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            p.put(buf, v);
        }
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(p.onnxType())
                .setRawData(ByteString.copyFrom(buf.array()));
        Arrays.stream(dims).forEach(tensor::addDims);
        graph.addInitializer(tensor);
        return name;
    }

    /** A 1-D int64 constant (shapes, axes, indices); identical values share one initializer. */
    public String ints(long... values) {
        return int64Constants.computeIfAbsent(Arrays.toString(values), k -> {
            String name = "/const/ints_" + (nextId++);
            graph.addInitializer(TensorProto.newBuilder().setName(name)
                    .setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length)
                    .addAllInt64Data(Arrays.stream(values).boxed().toList()));
            return name;
        });
    }

    // ---- ops ----

    public String op(String opType, List<String> inputs, AttributeProto... attributes) {
        return ops(opType, 1, inputs, attributes)[0];
    }

    public String[] ops(String opType, int outputs, List<String> inputs, AttributeProto... attributes) {
        String name = "/" + opType + "_" + (nextId++);
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType).setName(name).addAllInput(inputs);
        String[] out = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            out[i] = name + "_output_" + i;
            node.addOutput(out[i]);
        }
        Arrays.stream(attributes).forEach(node::addAttribute);
        graph.addNode(node);
        return out;
    }

    public static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    public static AttributeProto attr(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    public static AttributeProto attr(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }

    public static AttributeProto attrInts(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        Arrays.stream(values).forEach(a::addInts);
        return a.build();
    }

    public String add(String a, String b) {
        return op("Add", List.of(a, b));
    }

    public String mul(String a, String b) {
        return op("Mul", List.of(a, b));
    }

    public String matmul(String a, String b) {
        return op("MatMul", List.of(a, b));
    }

    /** Reshape with ONNX semantics: 0 copies the input dim, -1 is inferred. */
    public String reshape(String x, long... shape) {
        return op("Reshape", List.of(x, ints(shape)));
    }

    public String transpose(String x, long... perm) {
        return op("Transpose", List.of(x), attrInts("perm", perm));
    }

    public String cast(String x, int elemType) {
        return op("Cast", List.of(x), attr("to", (long) elemType));
    }

    public String concat(long axis, String... xs) {
        return op("Concat", List.of(xs), attr("axis", axis));
    }

    public String silu(String x) {
        return mul(x, op("Sigmoid", List.of(x)));
    }

    /** Exact (erf) GELU, torch's default. */
    public String gelu(String x) {
        String erf = op("Erf", List.of(mul(x, scalar("inv_sqrt2", (float) (1 / Math.sqrt(2))))));
        return mul(mul(x, add(erf, scalar("one", 1f))), scalar("half", 0.5f));
    }

    /** transformers' QuickGELUActivation: x * sigmoid(1.702 x). */
    public String quickGelu(String x) {
        return mul(x, op("Sigmoid", List.of(mul(x, scalar("quick_gelu", 1.702f)))));
    }

    /** A one-element constant in the model precision; equal values share one initializer. */
    public String scalar(String hint, float value) {
        return scalarConstants.computeIfAbsent(Float.floatToIntBits(value), v -> constant(hint, new float[]{value}));
    }

    // ---- layers ----

    /** torch.nn.Linear over the last axis. */
    public String linear(String prefix, String x, long in, long out, boolean bias) {
        WeightInit init = WeightInit.torchDefault(in);
        return linear(prefix, x, in, out, bias ? init : null, init);
    }

    /** Linear with explicit initialisation; {@code biasInit == null} means no bias. */
    public String linear(String prefix, String x, long in, long out, WeightInit biasInit, WeightInit weightInit) {
        String y = matmul(x, param(prefix + ".weight", weightInit, in, out));
        return biasInit == null ? y : add(y, param(prefix + ".bias", biasInit, out));
    }

    /** torch.nn.Conv2d with a square kernel and symmetric padding. */
    public String conv(String prefix, String x, long in, long out, long kernel, long stride, long padding) {
        WeightInit init = WeightInit.torchDefault(in * kernel * kernel);
        return op("Conv", List.of(x, param(prefix + ".weight", init, out, in, kernel, kernel),
                        param(prefix + ".bias", init, out)),
                attrInts("kernel_shape", kernel, kernel), attrInts("strides", stride, stride),
                attrInts("pads", padding, padding, padding, padding), attrInts("dilations", 1, 1));
    }

    /** torch.nn.LayerNorm over the last axis (weight 1, bias 0 as initialised by torch). */
    public String layerNorm(String prefix, String x, long dim, float eps) {
        return op("LayerNormalization", List.of(x, param(prefix + ".weight", WeightInit.constant(1), dim),
                param(prefix + ".bias", WeightInit.constant(0), dim)), attr("axis", -1L), attr("epsilon", eps));
    }

    /**
     * torch.nn.GroupNorm on NCHW, the way torch exports it: normalise [N, G, C/G*H*W] with InstanceNormalization,
     * restore the shape, then apply the per-channel affine.
     */
    public String groupNorm(String prefix, String x, long channels, long groups, float eps) {
        float[] ones = new float[(int) groups];
        Arrays.fill(ones, 1f);
        String grouped = reshape(x, 0, groups, -1);
        String normed = op("InstanceNormalization", List.of(grouped, constant("gn_scale", ones, groups),
                constant("gn_bias", new float[(int) groups], groups)), attr("epsilon", eps));
        String restored = op("Reshape", List.of(normed, op("Shape", List.of(x))));
        String scaled = mul(restored, param(prefix + ".weight", WeightInit.constant(1), channels, 1, 1));
        return add(scaled, param(prefix + ".bias", WeightInit.constant(0), channels, 1, 1));
    }

    /**
     * Scaled dot-product attention on projected [B, S, heads*headDim] tensors, returning [B, Sq, heads*headDim].
     * {@code mask} (or null) is added to the logits; {@code upcast} computes logits and softmax in float32, as
     * diffusers' {@code upcast_attention} does for SD 2.x.
     */
    public String attention(String q, String k, String v, long heads, long headDim, String mask, boolean upcast) {
        String qh = transpose(reshape(q, 0, 0, heads, headDim), 0, 2, 1, 3);
        String kt = transpose(reshape(k, 0, 0, heads, headDim), 0, 2, 3, 1);
        String vh = transpose(reshape(v, 0, 0, heads, headDim), 0, 2, 1, 3);
        boolean toFloat32 = upcast && precision != Precision.FLOAT32;
        if (toFloat32) {
            qh = cast(qh, Precision.FLOAT32.onnxType());
            kt = cast(kt, Precision.FLOAT32.onnxType());
        }
        String scale = toFloat32 ? float32Constant("attn_scale", new float[]{(float) (1 / Math.sqrt(headDim))})
                : scalar("attn_scale", (float) (1 / Math.sqrt(headDim)));
        String scores = matmul(mul(qh, scale), kt);
        if (mask != null) {
            scores = add(scores, mask);
        }
        String probs = op("Softmax", List.of(scores), attr("axis", -1L));
        if (toFloat32) {
            probs = cast(probs, precision.onnxType());
        }
        return reshape(transpose(matmul(probs, vh), 0, 2, 1, 3), 0, 0, heads * headDim);
    }

    // ---- result ----

    public GraphProto graph() {
        return graph.build();
    }

    public ModelProto model() {
        return ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("sdmesh-models")
                .setProducerVersion("0.1.0")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph).build();
    }
}
