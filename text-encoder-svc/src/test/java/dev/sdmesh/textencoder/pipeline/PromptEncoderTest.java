package dev.sdmesh.textencoder.pipeline;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.embedding.SafeTensorsFiles;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Encoded;
import dev.sdmesh.textencoder.pipeline.PromptEncoder.Request;
import dev.sdmesh.textencoder.prompt.PromptChunker;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptEncoderTest {
    private static final double TOLERANCE = 1e-5;
    private static OrtSession session;
    private static ClipTokenizer tokenizer;
    private static PromptEncoder encoder;

    @BeforeAll
    static void open() throws OrtException {
        Path model = ReferenceData.model();
        tokenizer = ClipTokenizer.load(model.resolve("tokenizer"));
        session = OrtEnvironment.getEnvironment().createSession(
                model.resolve("text_encoder/model.onnx").toString(), new OrtSession.SessionOptions());
        encoder = new PromptEncoder(session, tokenizer, null);
    }

    @AfterAll
    static void close() throws OrtException {
        if (session != null) session.close();
    }

    @Test
    void publicCasesMatchDiffusersEmbeddings() throws OrtException {
        JsonNode cases = ReferenceData.json("cases.json").get("cases");
        assertTrue(cases.size() > 0);
        for (JsonNode c : cases) {
            String id = c.get("id").asText();
            int batch = c.get("batch_size").asInt();
            List<String> prompts = batchOf(c.get("prompt"), batch);
            List<String> negatives = c.get("negative_prompt").isNull() ? null : batchOf(c.get("negative_prompt"), batch);
            boolean guidance = c.get("do_classifier_free_guidance").asBoolean();
            Encoded encoded = encoder.encode(new Request(prompts, negatives, guidance, Mode.NONE, 1));

            assertEquals(77, encoded.sequenceLength(), id);
            assertEquals(32, encoded.hiddenSize(), id);
            double condDiff = ReferenceData.maxAbsDiff(ReferenceData.npy("cases/" + id + "/cond_embeds.npy").toFloats(), encoded.cond());
            assertTrue(condDiff <= TOLERANCE, id + " cond max abs diff " + condDiff);
            if (guidance) {
                double uncondDiff = ReferenceData.maxAbsDiff(ReferenceData.npy("cases/" + id + "/uncond_embeds.npy").toFloats(), encoded.uncond());
                assertTrue(uncondDiff <= TOLERANCE, id + " uncond max abs diff " + uncondDiff);
            }
            for (int b = 0; b < batch; b++) {
                int[] expectedIds = Arrays.copyOfRange(ReferenceData.npy("cases/" + id + "/cond_ids.npy").toInts(), b * 77, (b + 1) * 77);
                assertArrayEquals(expectedIds, tokenizer.ids77(prompts.get(b)), id);
            }
        }
    }

    private static List<String> batchOf(JsonNode node, int batch) {
        if (node.isArray()) return java.util.stream.StreamSupport.stream(node.spliterator(), false).map(JsonNode::asText).toList();
        return java.util.Collections.nCopies(batch, node.asText());
    }

    @Test
    void withoutGuidanceOnlyTheCondSideIsEncoded() throws OrtException {
        Encoded encoded = encoder.encode(new Request(List.of("a red sports car"), List.of("ignored"), false, Mode.NONE, 1));
        assertNull(encoded.uncond());
        assertNull(encoded.pooledUncond());
        assertNotNull(encoded.pooledCond());
        assertEquals(32, encoded.pooledCond().length);
        assertEquals(77 * 32, encoded.cond().length);
    }

    @Test
    void batchedPromptsEqualSeparateEncodes() throws OrtException {
        Encoded both = encoder.encode(new Request(List.of("a cat", "a dog on a mat"), null, true, Mode.NONE, 1));
        Encoded dog = encoder.encode(new Request(List.of("a dog on a mat"), null, true, Mode.NONE, 1));
        float[] secondRow = Arrays.copyOfRange(both.cond(), 77 * 32, 2 * 77 * 32);
        assertTrue(ReferenceData.maxAbsDiff(dog.cond(), secondRow) <= 1e-6);
        assertTrue(ReferenceData.maxAbsDiff(dog.uncond(), Arrays.copyOfRange(both.uncond(), 0, 77 * 32)) <= 1e-6);
    }

    @Test
    void requestsMergedIntoOneRunEqualSeparateRuns() throws OrtException {
        Request weightedLong = new Request(List.of("(cat:1.4) " + "dog, ".repeat(50)), List.of("[blurry]"), true, Mode.A1111, 1);
        Request literal = new Request(List.of("a house", "a (tree:2)"), null, false, Mode.NONE, 1);
        List<Encoded> merged = encoder.encodeAll(List.of(weightedLong, literal));
        Encoded first = encoder.encode(weightedLong);
        Encoded second = encoder.encode(literal);
        assertEquals(first.sequenceLength(), merged.get(0).sequenceLength());
        assertTrue(ReferenceData.maxAbsDiff(first.cond(), merged.get(0).cond()) <= 1e-6);
        assertTrue(ReferenceData.maxAbsDiff(first.uncond(), merged.get(0).uncond()) <= 1e-6);
        assertTrue(ReferenceData.maxAbsDiff(second.cond(), merged.get(1).cond()) <= 1e-6);
        assertArrayEquals(second.pooledCond(), merged.get(1).pooledCond());
    }

    @Test
    void unweightedA1111PromptEqualsDiffusers() throws OrtException {
        String prompt = "a photo of an astronaut riding a horse on mars";
        Encoded a1111 = encoder.encode(new Request(List.of(prompt), null, true, Mode.A1111, 1));
        Encoded diffusers = encoder.encode(new Request(List.of(prompt), null, true, Mode.NONE, 1));
        assertArrayEquals(diffusers.cond(), a1111.cond());
        assertArrayEquals(diffusers.uncond(), a1111.uncond());
    }

    @Test
    void emphasisMultipliesTokensAndRestoresTheMean() throws OrtException {
        Encoded plain = encoder.encode(new Request(List.of("a cat on a mat"), null, false, Mode.A1111, 1));
        Encoded weighted = encoder.encode(new Request(List.of("a (cat:1.5) on a [mat]"), null, false, Mode.A1111, 1));
        float[] z = plain.cond();
        float[] w = weighted.cond();
        int catAt = 2;
        int matAt = 5;
        assertEquals(tokenizer.encode("a cat on a mat")[catAt - 1], tokenizer.ids77("a cat on a mat")[catAt]);

        double scale = mean(z) / meanWeighted(z, catAt, 1.5f, matAt, (float) (1 / 1.1));
        for (int t = 0; t < 77; t++) {
            double m = t == catAt ? 1.5 : t == matAt ? 1 / 1.1 : 1.0;
            for (int h = 0; h < 32; h++) {
                int i = t * 32 + h;
                assertEquals(z[i] * m * scale, w[i], 1e-5, "token " + t);
            }
        }
        assertEquals(mean(z), mean(w), 1e-6);
        assertTrue(Math.abs(scale - 1) > 1e-4, "weights should change the mean before restoration");
    }

    @Test
    void longPromptsConcatenateChunksAndPadTheUncond() throws OrtException {
        String longPrompt = "cat ".repeat(100);
        Encoded encoded = encoder.encode(new Request(List.of(longPrompt), null, true, Mode.A1111, 1));
        assertEquals(154, encoded.sequenceLength());
        assertEquals(154 * 32, encoded.cond().length);
        assertEquals(154 * 32, encoded.uncond().length);
        assertEquals(100, encoded.condTokenCounts()[0]);
        Encoded empty = encoder.encode(new Request(List.of(""), null, false, Mode.A1111, 1));
        // The uncond's second chunk is A1111's empty chunk, which for SD 1.x is the empty prompt's row.
        assertArrayEquals(empty.cond(), Arrays.copyOfRange(encoded.uncond(), 77 * 32, 154 * 32));

        Encoded diffusers = encoder.encode(new Request(List.of(longPrompt), null, true, Mode.NONE, 1));
        assertEquals(77, diffusers.sequenceLength());
        assertTrue(diffusers.warnings().stream().anyMatch(w -> w.contains("truncated")), diffusers.warnings().toString());
    }

    @Test
    void clipSkipWithoutPerLayerOutputsIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> encoder.encode(new Request(List.of("a cat"), null, true, Mode.A1111, 2)));
        assertTrue(e.getMessage().contains("clip_skip"), e.getMessage());
    }

    @Test
    void badRequestsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(List.of(), null, true, Mode.NONE, 1)));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(List.of("a", "b"), List.of("x"), true, Mode.NONE, 1)));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(List.of("a"), null, true, Mode.NONE, 0)));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(List.of("a"), null, true, null, 1)));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(List.of("(a:1.2.3)"), null, true, Mode.A1111, 1)));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new Request(Arrays.asList("a", null), null, true, Mode.NONE, 1)));
    }

    @Test
    void textualInversionIsReportedAndTheNameEncodedAsText(@TempDir Path dir) throws Exception {
        SafeTensorsFiles.write(dir.resolve("shiny-style.safetensors"), SafeTensorsFiles.f32(
                Map.of("emb_params", Map.entry(new long[]{2, 32}, SafeTensorsFiles.vectors(2, 32, 1f)))));
        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, 32);
        PromptEncoder withTi = new PromptEncoder(session, tokenizer, library);
        String prompt = "a cat in shiny-style";

        Encoded encoded = withTi.encode(new Request(List.of(prompt), null, false, Mode.A1111, 1));

        assertTrue(encoded.warnings().stream().anyMatch(w -> w.contains("shiny-style")), encoded.warnings().toString());
        assertArrayEquals(encoder.encode(new Request(List.of(prompt), null, false, Mode.A1111, 1)).cond(), encoded.cond());
        assertEquals(1, new PromptChunker(tokenizer, library).chunk(prompt, Mode.A1111).chunks().get(0).fixes().size());
    }

    @Test
    void textualInversionVectorsReachTheGraphThroughThePatchedTable(@TempDir Path dir) throws Exception {
        Path onnx = ReferenceData.model().resolve("text_encoder/model.onnx");
        TokenEmbeddingPatch.Table table = TokenEmbeddingPatch.readTable(onnx);
        assertEquals(49408, table.vocab());
        int cat = tokenizer.encode("cat")[0];
        int dog = tokenizer.encode("dog")[0];
        float[] vectors = new float[2 * 32];
        System.arraycopy(table.row(cat), 0, vectors, 0, 32);
        System.arraycopy(table.row(dog), 0, vectors, 32, 32);
        // An embedding whose vectors are the rows of "cat" and "dog" must encode exactly like those two words.
        SafeTensorsFiles.write(dir.resolve("shiny-style.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{2, 32}, vectors))));
        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, 32);

        try (TokenEmbeddingPatch patch = TokenEmbeddingPatch.create(onnx, library, tokenizer);
             OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            patch.addTo(options);
            try (OrtSession patched = OrtEnvironment.getEnvironment().createSession(onnx.toString(), options)) {
                PromptEncoder withTi = new PromptEncoder(patched, tokenizer, library, patch, null);
                Encoded viaTi = withTi.encode(new Request(List.of("a photo of (shiny-style:1.3), outdoors"), null, true, Mode.A1111, 1));
                Encoded viaWords = encoder.encode(new Request(List.of("a photo of (cat dog:1.3), outdoors"), null, true, Mode.A1111, 1));
                assertEquals(List.of(), viaTi.warnings());
                assertTrue(ReferenceData.maxAbsDiff(viaWords.cond(), viaTi.cond()) <= 1e-6);
                assertTrue(ReferenceData.maxAbsDiff(viaWords.uncond(), viaTi.uncond()) <= 1e-6);
            }
        }
    }

    private static double mean(float[] values) {
        double sum = 0;
        for (float v : values) sum += v;
        return sum / values.length;
    }

    private static double meanWeighted(float[] z, int catAt, float catWeight, int matAt, float matWeight) {
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            int t = i / 32;
            sum += z[i] * (t == catAt ? catWeight : t == matAt ? matWeight : 1f);
        }
        return sum / z.length;
    }
}
