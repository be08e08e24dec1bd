package dev.sdmesh.textencoder.embedding;

import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextualInversionLibraryTest {
    private static final int HIDDEN = 32;
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.load(ReferenceData.model().resolve("tokenizer"));
    }

    @Test
    void loadsA1111AndDiffusersLayoutsNamedByFileStem(@TempDir Path dir) throws Exception {
        float[] a1111 = SafeTensorsFiles.vectors(3, HIDDEN, 0.5f);
        float[] diffusers = SafeTensorsFiles.vectors(1, HIDDEN, -0.25f);
        SafeTensorsFiles.write(dir.resolve("style-x.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{3, HIDDEN}, a1111))));
        SafeTensorsFiles.write(dir.resolve("sub/charname.safetensors"),
                SafeTensorsFiles.f32(Map.of("<charname>", Map.entry(new long[]{HIDDEN}, diffusers))));

        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, HIDDEN);

        assertEquals(2, library.embeddings().size(), library.warnings().toString());
        TextualInversionLibrary.Embedding style = library.get("style-x").orElseThrow();
        assertEquals(3, style.vectorCount());
        assertArrayEquals(java.util.Arrays.copyOfRange(a1111, HIDDEN, 2 * HIDDEN), style.vectors()[1]);
        assertArrayEquals(tokenizer.encode("style-x"), style.nameTokens());
        assertEquals(1, library.get("charname").orElseThrow().vectorCount());
    }

    @Test
    void loadsA1111StringToParamLayoutBesideOtherTensors(@TempDir Path dir) throws Exception {
        float[] vectors = SafeTensorsFiles.vectors(2, HIDDEN, 0.75f);
        // A1111's .pt data flattened: string_to_param.* holds the vectors, string_to_token.* the placeholder id.
        SafeTensorsFiles.write(dir.resolve("old-style.safetensors"), SafeTensorsFiles.f32(Map.of(
                "string_to_param.*", Map.entry(new long[]{2, HIDDEN}, vectors),
                "string_to_token.*", Map.entry(new long[]{1}, new float[]{265}))));

        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, HIDDEN);

        assertEquals(java.util.List.of(), library.warnings());
        TextualInversionLibrary.Embedding embedding = library.get("old-style").orElseThrow();
        assertEquals(2, embedding.vectorCount());
        assertEquals(HIDDEN, embedding.hiddenSize());
        assertArrayEquals(java.util.Arrays.copyOfRange(vectors, 0, HIDDEN), embedding.vectors()[0]);
        assertArrayEquals(java.util.Arrays.copyOfRange(vectors, HIDDEN, 2 * HIDDEN), embedding.vectors()[1]);
        assertArrayEquals(tokenizer.encode("old-style"), embedding.nameTokens());
    }

    @Test
    void matchesTheTokenizedNameInsideATokenStream(@TempDir Path dir) throws Exception {
        SafeTensorsFiles.write(dir.resolve("style-x.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{2, HIDDEN}, SafeTensorsFiles.vectors(2, HIDDEN, 1f)))));
        SafeTensorsFiles.write(dir.resolve("style.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{1, HIDDEN}, SafeTensorsFiles.vectors(1, HIDDEN, 1f)))));
        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, HIDDEN);
        int[] tokens = tokenizer.encode("a photo in style-x and style");
        int at = tokenizer.encode("a photo in").length;

        var longest = library.findAt(tokens, at).orElseThrow();
        assertEquals("style-x", longest.embedding().name());
        assertEquals(tokenizer.encode("style-x").length, longest.lengthInTokens());
        assertEquals("style", library.findAt(tokens, tokens.length - 1).orElseThrow().embedding().name());
        assertTrue(library.findAt(tokens, 0).isEmpty());
    }

    @Test
    void skipsUnusableFilesWithWarnings(@TempDir Path dir) throws Exception {
        SafeTensorsFiles.write(dir.resolve("wide.safetensors"),
                SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{1, 768}, new float[768]))));
        SafeTensorsFiles.write(dir.resolve("broken.safetensors"), new byte[]{1, 2, 3});
        SafeTensorsFiles.write(dir.resolve("two.safetensors"), SafeTensorsFiles.f32(Map.of(
                "a", Map.entry(new long[]{HIDDEN}, new float[HIDDEN]), "b", Map.entry(new long[]{HIDDEN}, new float[HIDDEN]))));
        SafeTensorsFiles.write(dir.resolve("old.pt"), new byte[]{0});

        TextualInversionLibrary library = TextualInversionLibrary.load(dir, tokenizer, HIDDEN);

        assertTrue(library.isEmpty());
        assertEquals(4, library.warnings().size(), library.warnings().toString());
        assertTrue(TextualInversionLibrary.load(dir.resolve("missing"), tokenizer, HIDDEN).isEmpty());
    }
}
