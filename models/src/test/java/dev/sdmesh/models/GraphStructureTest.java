package dev.sdmesh.models;

import dev.sdmesh.models.onnx.GraphProto;
import dev.sdmesh.models.onnx.NodeProto;
import dev.sdmesh.models.onnx.TensorProto;
import dev.sdmesh.models.onnx.ValueInfoProto;
import dev.sdmesh.runtime.model.ModelPart;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structural checks of every preset's graphs in both precisions, from dry runs (no weights): a valid topological
 * order, unique names, and the Optimum input/output signature with the preset's geometry.
 */
class GraphStructureTest {

    @ParameterizedTest
    @EnumSource(Preset.class)
    void graphsAreWellFormedWithOptimumSignatures(Preset preset) {
        int vocab = ModelGenerator.vocabulary(preset).size();
        for (Precision precision : Precision.values()) {
            int f = precision.onnxType();
            int f32 = TensorProto.DataType.FLOAT_VALUE;
            Map<ModelPart, GraphProto> graphs = ModelGenerator.ONNX_PARTS.stream().collect(Collectors.toMap(
                    Function.identity(), p -> ModelGenerator.dryRun(p, preset, vocab, precision).graph()));
            graphs.values().forEach(GraphStructureTest::assertTopologicallyValid);

            int layers = preset.text().numHiddenLayers();
            int hidden = preset.text().hiddenSize();
            assertSignature(graphs.get(ModelPart.TEXT_ENCODER).getInputList(), List.of(
                    sig("input_ids", TensorProto.DataType.INT32_VALUE, -1, -1)));
            assertSignature(graphs.get(ModelPart.TEXT_ENCODER).getOutputList(), Stream.concat(
                    IntStream.rangeClosed(0, layers).mapToObj(i -> sig("hidden_states." + i, f, -1, -1, hidden)),
                    Stream.of(sig("last_hidden_state", f, -1, -1, hidden), sig("pooler_output", f, -1, hidden))).toList());

            ModelConfigs.UNet unet = preset.unet();
            assertSignature(graphs.get(ModelPart.UNET).getInputList(), List.of(
                    sig("sample", f, -1, unet.inChannels(), -1, -1), sig("timestep", f32),
                    sig("encoder_hidden_states", f, -1, -1, unet.crossAttentionDim())));
            assertSignature(graphs.get(ModelPart.UNET).getOutputList(), List.of(sig("out_sample", f, -1, 4, -1, -1)));
            assertEquals(hidden, unet.crossAttentionDim(), "text encoder width feeds the UNet's cross-attention");

            assertSignature(graphs.get(ModelPart.VAE_ENCODER).getInputList(), List.of(sig("sample", f, -1, 3, -1, -1)));
            assertSignature(graphs.get(ModelPart.VAE_ENCODER).getOutputList(),
                    List.of(sig("latent_parameters", f, -1, 8, -1, -1)));
            assertSignature(graphs.get(ModelPart.VAE_DECODER).getInputList(),
                    List.of(sig("latent_sample", f, -1, 4, -1, -1)));
            assertSignature(graphs.get(ModelPart.VAE_DECODER).getOutputList(), List.of(sig("sample", f, -1, 3, -1, -1)));
        }
    }

    /** Name, element type and dims (-1 = symbolic). */
    private record Sig(String name, int type, List<Long> dims) {
    }

    private static Sig sig(String name, int type, long... dims) {
        return new Sig(name, type, IntStream.range(0, dims.length).mapToObj(i -> dims[i]).toList());
    }

    private static void assertSignature(List<ValueInfoProto> actual, List<Sig> expected) {
        List<Sig> got = actual.stream().map(v -> new Sig(v.getName(), v.getType().getTensorType().getElemType(),
                v.getType().getTensorType().getShape().getDimList().stream()
                        .map(d -> d.hasDimValue() ? d.getDimValue() : -1L).toList())).toList();
        assertEquals(Set.copyOf(expected), Set.copyOf(got));
        assertEquals(expected.size(), got.size());
    }

    private static void assertTopologicallyValid(GraphProto g) {
        Set<String> defined = new HashSet<>();
        g.getInputList().forEach(v -> assertTrue(defined.add(v.getName()), "duplicate input " + v.getName()));
        for (TensorProto t : g.getInitializerList()) {
            assertTrue(defined.add(t.getName()), g.getName() + ": duplicate initializer " + t.getName());
        }
        Set<String> nodeNames = new HashSet<>();
        for (NodeProto n : g.getNodeList()) {
            assertTrue(nodeNames.add(n.getName()), g.getName() + ": duplicate node " + n.getName());
            for (String in : n.getInputList()) {
                assertTrue(in.isEmpty() || defined.contains(in), g.getName() + ": " + n.getName() + " reads undefined " + in);
            }
            n.getOutputList().forEach(o -> assertTrue(defined.add(o), g.getName() + ": " + o + " written twice"));
        }
        g.getOutputList().forEach(o -> assertTrue(defined.contains(o.getName()), "output " + o.getName() + " not computed"));
    }
}
