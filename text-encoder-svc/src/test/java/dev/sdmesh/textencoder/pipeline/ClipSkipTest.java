package dev.sdmesh.textencoder.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.models.onnx.StringStringEntryProto;
import dev.sdmesh.models.onnx.TensorProto;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.embedding.SafeTensorsFiles;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Request;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clip skip on a generated text encoder that exports {@code hidden_states.0..2} (embeddings, then its two layers),
 * which the reference export lacks. Its final LayerNorm gets non-trivial weights so that reading the wrong
 * initializers, or none, shows.
 */
class ClipSkipTest {
    private static final String PROMPT = "a photo of an astronaut riding a horse on mars";
    private static final String WEIGHT = "text_model.final_layer_norm.weight";
    private static final String BIAS = "text_model.final_layer_norm.bias";

    @TempDir
    static Path dir;
    private static Path onnx;
    private static OrtSession session;
    private static ClipTokenizer tokenizer;
    private static FinalLayerNorm finalLayerNorm;
    private static PromptEncoder encoder;

    @BeforeAll
    static void generate() throws IOException, OrtException {
        ModelGenerator.generate(Preset.TINY, dir, 7, false, null);
        onnx = dir.resolve("text_encoder/model.onnx");
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(onnx));
        ModelProto.Builder changed = model.toBuilder();
        for (TensorProto.Builder initializer : changed.getGraphBuilder().getInitializerBuilderList()) {
            if (initializer.getName().equals(WEIGHT)) initializer.setRawData(littleEndian(SafeTensorsFiles.vectors(1, 32, 0.8f), 1f));
            if (initializer.getName().equals(BIAS)) initializer.setRawData(littleEndian(SafeTensorsFiles.vectors(1, 32, 0.3f), 0f));
        }
        Files.write(onnx, changed.build().toByteArray());

        double eps = new ObjectMapper().readTree(dir.resolve("text_encoder/config.json").toFile()).get("layer_norm_eps").asDouble();
        finalLayerNorm = FinalLayerNorm.read(onnx, eps).orElseThrow();
        tokenizer = ClipTokenizer.load(dir.resolve("tokenizer"));
        session = OrtEnvironment.getEnvironment().createSession(onnx.toString(), new OrtSession.SessionOptions());
        encoder = new PromptEncoder(session, tokenizer, null, null, finalLayerNorm);
    }

    @AfterAll
    static void close() throws OrtException {
        if (session != null) session.close();
    }

    /** {@code offset + values}, as float32 little-endian bytes. */
    private static ByteString littleEndian(float[] values, float offset) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) bytes.putFloat(offset + v);
        return ByteString.copyFrom(bytes.array());
    }

    /** The raw session outputs for one prompt's 77 ids. */
    private static Map<String, float[]> run(String prompt, Set<String> outputs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxTensor ids = OnnxTensor.createTensor(env, IntBuffer.wrap(tokenizer.ids77(prompt)), new long[]{1, 77});
             OrtSession.Result result = session.run(Map.of("input_ids", ids), outputs)) {
            Map<String, float[]> out = new java.util.HashMap<>();
            for (String name : outputs) {
                var buffer = ((OnnxTensor) result.get(name).orElseThrow()).getFloatBuffer();
                float[] values = new float[buffer.remaining()];
                buffer.get(values);
                out.put(name, values);
            }
            return out;
        }
    }

    @Test
    void finalLayerNormOfTheLastLayerIsLastHiddenState() throws OrtException {
        Map<String, float[]> out = run(PROMPT, Set.of("hidden_states.2", "last_hidden_state"));
        float[] lastLayer = out.get("hidden_states.2");
        assertTrue(ReferenceData.maxAbsDiff(out.get("last_hidden_state"), lastLayer) > 0.1,
                "the last layer's output before the LayerNorm must differ from last_hidden_state");

        finalLayerNorm.applyInPlace(lastLayer);

        assertEquals(32, finalLayerNorm.width());
        double diff = ReferenceData.maxAbsDiff(out.get("last_hidden_state"), lastLayer);
        assertTrue(diff <= 1e-5, "max abs diff " + diff);
    }

    @Test
    void clipSkipTwoIsTheFinalLayerNormOfThePenultimateLayer() throws OrtException {
        float[] penultimate = run(PROMPT, Set.of("hidden_states.1")).get("hidden_states.1");
        finalLayerNorm.applyInPlace(penultimate);

        for (Mode mode : Mode.values()) {
            float[] skip2 = encoder.encode(new Request(List.of(PROMPT), null, false, mode, 2)).cond();
            float[] skip1 = encoder.encode(new Request(List.of(PROMPT), null, false, mode, 1)).cond();
            assertTrue(ReferenceData.maxAbsDiff(penultimate, skip2) <= 1e-6, mode.toString());
            assertTrue(ReferenceData.maxAbsDiff(skip1, skip2) > 0.1, mode + ": clip skip 2 must differ from clip skip 1");
        }
    }

    @Test
    void clipSkipNeedsALayerAndTheFinalLayerNorm() throws OrtException {
        IllegalArgumentException tooDeep = assertThrows(IllegalArgumentException.class,
                () -> encoder.encode(new Request(List.of(PROMPT), null, false, Mode.A1111, 3)));
        assertTrue(tooDeep.getMessage().contains("clip_skip 3 exceeds the text encoder's 2 layers"), tooDeep.getMessage());

        PromptEncoder withoutNorm = new PromptEncoder(session, tokenizer, null);
        IllegalArgumentException noNorm = assertThrows(IllegalArgumentException.class,
                () -> withoutNorm.encode(new Request(List.of(PROMPT), null, false, Mode.A1111, 2)));
        assertTrue(noNorm.getMessage().contains("final_layer_norm.weight"), noNorm.getMessage());
    }

    @Test
    void theFinalLayerNormIsReadFromExternalData(@TempDir Path copy) throws IOException {
        ModelProto.Builder model = ModelProto.parseFrom(Files.readAllBytes(onnx)).toBuilder();
        ByteArrayOutputStream external = new ByteArrayOutputStream();
        for (TensorProto.Builder initializer : model.getGraphBuilder().getInitializerBuilderList()) {
            if (!initializer.getName().equals(WEIGHT) && !initializer.getName().equals(BIAS)) continue;
            int offset = external.size();
            external.writeBytes(initializer.getRawData().toByteArray());
            initializer.clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Integer.toString(offset)))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Integer.toString(external.size() - offset)));
        }
        Files.write(copy.resolve("model.onnx"), model.build().toByteArray());
        Files.write(copy.resolve("weights.bin"), external.toByteArray());

        FinalLayerNorm fromExternal = FinalLayerNorm.read(copy.resolve("model.onnx"), FinalLayerNorm.DEFAULT_EPS).orElseThrow();

        float[] expected = SafeTensorsFiles.vectors(4, 32, 2f);
        float[] actual = expected.clone();
        finalLayerNorm.applyInPlace(expected);
        fromExternal.applyInPlace(actual);
        assertArrayEquals(expected, actual);
    }

    @Test
    void theFinalLayerNormIsFoundInATransformersExportAndAbsentElsewhere() throws IOException {
        Path reference = ReferenceData.model();
        // torch.onnx.export stored the all-ones weight once; *final_layer_norm.weight is an Identity of it there.
        assertEquals(32, FinalLayerNorm.read(reference.resolve("text_encoder/model.onnx"), FinalLayerNorm.DEFAULT_EPS)
                .orElseThrow().width());
        assertTrue(FinalLayerNorm.read(reference.resolve("unet/model.onnx"), FinalLayerNorm.DEFAULT_EPS).isEmpty());
    }
}
