package dev.sdmesh.vae.pipeline;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import dev.sdmesh.models.onnx.AttributeProto;
import dev.sdmesh.models.onnx.GraphProto;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.models.onnx.NodeProto;
import dev.sdmesh.models.onnx.StringStringEntryProto;
import dev.sdmesh.models.onnx.TensorProto;
import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.vae.service.VaeModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float32 retry of a float16 VAE decoder without a float32 export: {@link Float32Copy} on the generator's tiny
 * float16 VAE (checked against the same weights generated in float32), and {@link VaeModels} falling back to it.
 */
class Float32CopyTest {
    private static final long SEED = 7;
    private static final long[] LATENT_SHAPE = {1, 4, 8, 8};
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;

    @TempDir
    static Path dir;
    private static SessionFactory sessions;
    private static Path fp16Decoder;
    private static Path fp32Decoder;
    private static VaeConfig config;

    @BeforeAll
    static void generate() throws IOException {
        ModelGenerator.generate(Preset.TINY, dir.resolve("fp16"), SEED, true, null);
        ModelGenerator.generate(Preset.TINY, dir.resolve("fp32"), SEED, false, null);
        ModelFolder fp16 = new ModelFolder("fp16", dir.resolve("fp16"));
        fp16Decoder = fp16.onnx(ModelPart.VAE_DECODER);
        fp32Decoder = new ModelFolder("fp32", dir.resolve("fp32")).onnx(ModelPart.VAE_DECODER);
        config = VaeConfig.from(fp16.config(ModelPart.VAE_DECODER));
        sessions = new SessionFactory(SessionSettings.cpuDefaults());
    }

    private static float[] latents() {
        return new TorchGenerator(SEED).randn(Math.toIntExact(LATENT_SHAPE[0] * LATENT_SHAPE[1] * LATENT_SHAPE[2] * LATENT_SHAPE[3]));
    }

    private static float[] decode(OnnxModel model) {
        return new VaeDecoder(model, config, null, null).decode(latents(), LATENT_SHAPE, true).imageFloat();
    }

    @Test
    void generatedFloat16DecoderDecodesCloseToTheFloat32One() {
        try (OnnxModel fp16 = sessions.open(fp16Decoder); OnnxModel fp32 = sessions.open(fp32Decoder)) {
            assertTrue(fp16.isFloat16(VaeDecoder.INPUT));
            double difference = ReferenceData.relativeL2(decode(fp32), decode(fp16));
            assertTrue(difference < 1e-2, "float16 decode differs from float32 by " + difference + " (relative L2)");
        }
    }

    @Test
    void copyHoldsTheFloat16WeightsAsFloat32AndNoFloat16TypeIsLeft() throws IOException {
        ModelProto source = read(fp16Decoder);
        assertTrue(casts(source.getGraph()).contains((long) FLOAT16), "the generated float16 graph casts to float16");
        ModelProto copy = Float32Copy.of(fp16Decoder);

        GraphProto graph = copy.getGraph();
        assertFalse(casts(graph).contains((long) FLOAT16), "a Cast to float16 is left");
        assertEquals(source.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList(),
                graph.getNodeList().stream().map(NodeProto::getOpType).toList(), "the nodes are kept");
        Stream.of(graph.getInputList(), graph.getOutputList(), graph.getValueInfoList()).flatMap(List::stream)
                .forEach(info -> assertTrue(info.getType().getTensorType().getElemType() != FLOAT16, info.getName()));
        assertEquals(FLOAT, graph.getInput(0).getType().getTensorType().getElemType());

        Map<String, TensorProto> float32Weights = new HashMap<>();
        read(fp32Decoder).getGraph().getInitializerList().forEach(t -> float32Weights.put(t.getName(), t));
        long float16Parameters = source.getGraph().getInitializerList().stream()
                .filter(t -> isParameter(t) && t.getDataType() == FLOAT16).count();
        assertTrue(float16Parameters > 0);
        int compared = 0;
        for (TensorProto weight : graph.getInitializerList()) {
            assertTrue(weight.getDataType() != FLOAT16, weight.getName() + " is still float16");
            if (!isParameter(weight) || float32Weights.get(weight.getName()).getDataType() != FLOAT) continue;
            float[] expected = floats(float32Weights.get(weight.getName()));
            for (int i = 0; i < expected.length; i++) expected[i] = roundedToFloat16(expected[i]);
            assertArrayEquals(expected, floats(weight), weight.getName() + " is not the float32 weight rounded to float16");
            compared++;
        }
        assertEquals(float16Parameters, compared, "float16 parameters compared with their float32 generation");
    }

    /** The generator names its constants /const/<hint>_<counter>, numbered differently in float16; parameters keep their names. */
    private static boolean isParameter(TensorProto initializer) {
        return !initializer.getName().startsWith("/const/");
    }

    private static float roundedToFloat16(float value) {
        return Fp16Conversions.fp16ToFloat(Fp16Conversions.floatToFp16(value));
    }

    /**
     * The copy does the float32 model's arithmetic on the float16 model's weights: its decode is the float32 model's
     * with every weight rounded to float16 (bit for bit with this ORT build; 1e-6 leaves room for kernel choices), while
     * the float16 decode, rounding every activation too, is about 1e-3 away.
     */
    @Test
    void copyDecodesFloat32LatentsAsTheFloat32ModelWithFloat16RoundedWeights() throws IOException {
        Path rounded = Files.createDirectories(dir.resolve("rounded")).resolve("model.onnx");
        GraphProto.Builder graph = read(fp32Decoder).getGraph().toBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto weight = graph.getInitializer(i);
            if (!isParameter(weight) || weight.getDataType() != FLOAT) continue;
            ByteBuffer values = ByteBuffer.allocate(weight.getRawData().size()).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : floats(weight)) values.putFloat(roundedToFloat16(v));
            graph.setInitializer(i, weight.toBuilder().setRawData(ByteString.copyFrom(values.array())));
        }
        try (OutputStream out = Files.newOutputStream(rounded)) {
            read(fp32Decoder).toBuilder().setGraph(graph).build().writeTo(out);
        }
        try (OnnxModel copy = Float32Copy.open(sessions, fp16Decoder); OnnxModel fp16 = sessions.open(fp16Decoder);
             OnnxModel roundedFp32 = sessions.open(rounded)) {
            assertFalse(copy.isFloat16(VaeDecoder.INPUT), "the copy takes float32 latents");
            float[] expected = decode(roundedFp32);
            double copyDifference = ReferenceData.maxAbsDiff(expected, decode(copy));
            double float16Difference = ReferenceData.maxAbsDiff(expected, decode(fp16));
            System.out.printf("max |diff| to the float32 decode with float16 weights: float32 copy %.2e, float16 %.2e%n",
                    copyDifference, float16Difference);
            assertTrue(copyDifference <= 1e-6, "copy " + copyDifference + ", float16 " + float16Difference);
        }
    }

    @Test
    void externalWeightsAreReadIntoTheCopyAndAMissingDataFileIsNamed() throws IOException {
        Path external = withExternalData(fp16Decoder, Files.createDirectories(dir.resolve("external/vae_decoder")));
        try (OnnxModel inline = sessions.open(fp16Decoder); OnnxModel outside = sessions.open(external)) {
            assertArrayEquals(decode(inline), decode(outside), "the external-data copy is the same model");
        }
        assertEquals(Float32Copy.of(fp16Decoder), Float32Copy.of(external));

        Files.delete(external.resolveSibling("model.onnx_data"));
        ModelException e = assertThrows(ModelException.class, () -> Float32Copy.of(external));
        assertTrue(e.getMessage().contains("model.onnx_data") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void float16OverflowWithoutAFloat32ExportIsDecodedAgainOnTheFloat32Copy() throws IOException {
        Path models = dir.resolve("overflow-models");
        Path decoderFile = squaringModel(models, "overflow");
        float[] latents = latents();
        VaeConfig overflowConfig = VaeConfig.from(new ModelRegistry(models, null).get("overflow").config(ModelPart.VAE_DECODER));
        try (OnnxModel fp16 = sessions.open(decoderFile)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new VaeDecoder(fp16, overflowConfig, null, null).decodeLatentSample(latents, LATENT_SHAPE, false));
            assertTrue(e.getMessage().contains("overflowed"), e.getMessage());
        }
        try (VaeModels vae = new VaeModels(new ModelRegistry(models, null), sessions, ConfiguredTiling.read())) {
            DecodedImages decoded = vae.get("overflow").decoder().decodeLatentSample(latents, LATENT_SHAPE, true);
            float factor = TinyOnnxGraphs.OVERFLOW_FACTOR;
            assertArrayEquals(firstThreeChannelsTimes(latents, factor, factor), decoded.imageFloat());
        }
    }

    @Test
    void aFloat16ConstantNodeBecomesFloat32() {
        Path file = TinyOnnxGraphs.float16OverflowDecoderWithConstantNode(dir.resolve("constant-node.onnx"));
        float[] latents = latents();
        float factor = TinyOnnxGraphs.OVERFLOW_FACTOR;
        try (OnnxModel copy = Float32Copy.open(sessions, file)) {
            DecodedImages decoded = new VaeDecoder(copy, new VaeConfig(1f, 0f, 4, 1), null, null)
                    .decodeLatentSample(latents, LATENT_SHAPE, true);
            assertArrayEquals(firstThreeChannelsTimes(latents, factor, factor), decoded.imageFloat());
        }
    }

    @Test
    void aFloat32ExportBesideTheModelIsPreferredToTheCopy() throws IOException {
        Path models = dir.resolve("fp32-export-models");
        squaringModel(models, "with-fp32");
        float factor = 3f;
        TinyOnnxGraphs.float32SquaringDecoder(Files.createDirectories(models.resolve("with-fp32")
                .resolve(VaeModels.FLOAT32_DECODER_FOLDER)).resolve("model.onnx"), factor);
        float[] latents = latents();
        try (VaeModels vae = new VaeModels(new ModelRegistry(models, null), sessions, ConfiguredTiling.read())) {
            DecodedImages decoded = vae.get("with-fp32").decoder().decodeLatentSample(latents, LATENT_SHAPE, true);
            assertArrayEquals(firstThreeChannelsTimes(latents, factor, factor), decoded.imageFloat());
        }
    }

    /** {@code (latents * a * b)[:, 0:3]} in float32, as the squaring graphs compute it. */
    private static float[] firstThreeChannelsTimes(float[] latents, float a, float b) {
        int plane = Math.toIntExact(LATENT_SHAPE[2] * LATENT_SHAPE[3]);
        float[] out = new float[3 * plane];
        for (int i = 0; i < out.length; i++) out[i] = latents[i] * a * b;
        return out;
    }

    /**
     * A model folder {@code models/id} whose only part is the float16 overflow decoder, its config at scale factor 1 (one
     * block) as the graph keeps the latents' size; returns its model.onnx.
     */
    private static Path squaringModel(Path models, String id) throws IOException {
        Path root = Files.createDirectories(models.resolve(id));
        Files.writeString(root.resolve("model_index.json"), "{}");
        Path decoder = Files.createDirectories(root.resolve(ModelPart.VAE_DECODER.folder()));
        Files.writeString(decoder.resolve("config.json"),
                "{\"scaling_factor\": 1.0, \"latent_channels\": 4, \"block_out_channels\": [4]}");
        return TinyOnnxGraphs.float16OverflowDecoder(decoder.resolve("model.onnx"));
    }

    /**
     * Copies {@code onnx} into {@code folder} with the weights' data moved to {@code model.onnx_data}, as exporters do
     * (constants stay inline: ORT's shape inference reads some of them, e.g. Resize scales, and cannot from there).
     */
    private static Path withExternalData(Path onnx, Path folder) throws IOException {
        GraphProto.Builder graph = read(onnx).getGraph().toBuilder();
        long offset = 0;
        try (OutputStream data = Files.newOutputStream(folder.resolve("model.onnx_data"))) {
            for (int i = 0; i < graph.getInitializerCount(); i++) {
                TensorProto tensor = graph.getInitializer(i);
                if (tensor.getDataType() != FLOAT16 || !isParameter(tensor)) continue;
                tensor.getRawData().writeTo(data);
                long length = tensor.getRawData().size();
                graph.setInitializer(i, tensor.toBuilder().clearRawData()
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", "model.onnx_data"))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(length))));
                offset += length;
            }
        }
        Path file = folder.resolve("model.onnx");
        try (OutputStream out = Files.newOutputStream(file)) {
            read(onnx).toBuilder().setGraph(graph).build().writeTo(out);
        }
        return file;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static ModelProto read(Path onnx) throws IOException {
        try (InputStream in = Files.newInputStream(onnx)) {
            return ModelProto.parseFrom(in);
        }
    }

    /** The {@code to} of every Cast node. */
    private static List<Long> casts(GraphProto graph) {
        return graph.getNodeList().stream().filter(n -> n.getOpType().equals("Cast"))
                .flatMap(n -> n.getAttributeList().stream()).filter(a -> a.getName().equals("to"))
                .map(AttributeProto::getI).toList();
    }

    private static float[] floats(TensorProto tensor) {
        assertTrue(tensor.hasRawData(), tensor.getName() + " has no raw_data");
        float[] values = new float[tensor.getRawData().size() / Float.BYTES];
        tensor.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
