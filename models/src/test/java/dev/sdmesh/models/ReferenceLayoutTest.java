package dev.sdmesh.models;

import dev.sdmesh.models.onnx.GraphProto;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.models.onnx.ValueInfoProto;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny preset has the reference pipeline's geometry, so its diffusers configs must be byte-identical to the ones
 * diffusers wrote, and its ONNX inputs/outputs must match Optimum's export (reference data, read in place).
 */
class ReferenceLayoutTest {
    @TempDir
    static Path tmp;
    private static Path generated;

    @BeforeAll
    static void generate() throws IOException {
        generated = tmp.resolve("tiny");
        ModelGenerator.generate(Preset.TINY, generated, 1, false, null);
    }

    @Test
    void diffusersConfigsAreByteIdenticalToDiffusersOutput() throws IOException {
        Path reference = ReferenceData.model();
        for (String file : new String[]{"model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
                "vae_encoder/config.json", "vae_decoder/config.json", "tokenizer/tokenizer_config.json",
                "tokenizer/special_tokens_map.json"}) {
            assertEquals(Files.readString(reference.resolve(file)), Files.readString(generated.resolve(file)), file);
        }
    }

    @Test
    void onnxSignaturesMatchOptimumExport() throws IOException {
        Path reference = ReferenceData.model();
        for (ModelPart part : ModelGenerator.ONNX_PARTS) {
            GraphProto ours = load(generated.resolve(part.folder()));
            GraphProto theirs = load(reference.resolve(part.folder()));
            assertEquals(signature(theirs.getInputList()), signature(ours.getInputList()), part + " inputs");
            Map<String, String> ourOutputs = signature(ours.getOutputList());
            // Ours may add outputs (hidden_states.N for clip skip); every reference output must be there as is.
            signature(theirs.getOutputList()).forEach((name, sig) ->
                    assertEquals(sig, ourOutputs.get(name), part + " output " + name));
        }
    }

    @Test
    void copiedTokenizerSizesTheTextEncoder() throws IOException {
        Path out = tmp.resolve("with-tokenizer");
        ModelGenerator.generate(Preset.TINY, out, 1, false, ReferenceData.model().resolve("tokenizer"));
        assertEquals(Files.readString(ReferenceData.model().resolve("tokenizer/vocab.json")),
                Files.readString(out.resolve("tokenizer/vocab.json")));
        assertTrue(Files.readString(out.resolve("text_encoder/config.json")).contains("\"vocab_size\": 49408"));
        GraphProto text = load(out.resolve("text_encoder"));
        assertEquals(List.of(49408L, 32L), text.getInitializerList().stream()
                .filter(t -> t.getName().equals("text_model.embeddings.token_embedding.weight"))
                .findFirst().orElseThrow().getDimsList());
    }

    private static GraphProto load(Path partDir) throws IOException {
        try (InputStream in = Files.newInputStream(partDir.resolve(ModelGenerator.MODEL_FILE))) {
            return ModelProto.parseFrom(in).getGraph();
        }
    }

    /** name -> "elemType/rank" (symbolic dim names differ between exporters and are not part of the contract). */
    private static Map<String, String> signature(List<ValueInfoProto> values) {
        return values.stream().collect(Collectors.toMap(ValueInfoProto::getName, v -> v.getType().getTensorType()
                .getElemType() + "/" + v.getType().getTensorType().getShape().getDimCount(), (a, b) -> a,
                java.util.TreeMap::new));
    }
}
