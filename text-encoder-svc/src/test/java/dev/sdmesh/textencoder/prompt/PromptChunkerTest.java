package dev.sdmesh.textencoder.prompt;

import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.embedding.SafeTensorsFiles;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.prompt.PromptChunker.Chunk;
import dev.sdmesh.textencoder.prompt.PromptChunker.ChunkedPrompt;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptChunkerTest {
    private static ClipTokenizer tokenizer;
    private static PromptChunker chunker;
    private static int cat;
    private static int dog;
    private static int comma;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.load(ReferenceData.model().resolve("tokenizer"));
        chunker = new PromptChunker(tokenizer, TextualInversionLibrary.empty());
        cat = single("cat");
        dog = single("dog");
        comma = single(",");
    }

    private static int single(String word) {
        int[] ids = tokenizer.encode(word);
        assertEquals(1, ids.length, word);
        return ids[0];
    }

    @Test
    void plainPromptIsThePipelineRowWithUnitWeights() {
        String prompt = "a photo of an astronaut riding a horse on mars";
        ChunkedPrompt chunked = chunker.chunk(prompt, Mode.A1111);
        assertEquals(1, chunked.chunks().size());
        assertArrayEquals(tokenizer.ids77(prompt), chunked.chunks().get(0).tokens());
        assertArrayEquals(ones(77), chunked.chunks().get(0).multipliers());
        assertEquals(tokenizer.encode(prompt).length, chunked.tokenCount());
    }

    @Test
    void emptyPromptIsOneChunk() {
        ChunkedPrompt chunked = chunker.chunk("", Mode.A1111);
        assertEquals(1, chunked.chunks().size());
        assertEquals(0, chunked.tokenCount());
        assertArrayEquals(tokenizer.ids77(""), chunked.chunks().get(0).tokens());
        assertArrayEquals(chunker.emptyChunk().tokens(), chunked.chunks().get(0).tokens());
    }

    @Test
    void weightsFollowTheTokensOfEachRun() {
        Chunk chunk = chunker.chunk("a (cat:1.5) [dog]", Mode.A1111).chunks().get(0);
        int catAt = indexOf(chunk.tokens(), cat);
        int dogAt = indexOf(chunk.tokens(), dog);
        assertEquals(1.5f, chunk.multipliers()[catAt]);
        assertEquals((float) (1 / 1.1), chunk.multipliers()[dogAt]);
        assertEquals(1f, chunk.multipliers()[0]);
        assertEquals(1f, chunk.multipliers()[catAt - 1]);
        assertEquals(1f, chunk.multipliers()[76]);
    }

    @Test
    void longPromptsSplitInto75TokenChunks() {
        ChunkedPrompt chunked = chunker.chunk("cat ".repeat(100), Mode.A1111);
        assertEquals(2, chunked.chunks().size());
        assertEquals(100, chunked.tokenCount());
        int[] first = chunked.chunks().get(0).tokens();
        int[] second = chunked.chunks().get(1).tokens();
        assertEquals(tokenizer.bos(), first[0]);
        assertEquals(75, count(first, cat));
        assertEquals(tokenizer.eos(), first[76]);
        assertEquals(25, count(second, cat));
        assertEquals(tokenizer.eos(), second[26]);
    }

    @Test
    void commaWithin20TokensOfTheChunkEndMovesTheRestToTheNextChunk() {
        ChunkedPrompt chunked = chunker.chunk("cat ".repeat(70) + ", " + "dog ".repeat(10), Mode.A1111);
        assertEquals(2, chunked.chunks().size());
        int[] first = chunked.chunks().get(0).tokens();
        assertEquals(comma, first[71]);
        assertEquals(0, count(first, dog));
        assertEquals(10, count(chunked.chunks().get(1).tokens(), dog));
        assertEquals(dog, chunked.chunks().get(1).tokens()[1]);
        assertEquals(75 + 10, chunked.tokenCount());
    }

    @Test
    void commaFurtherBackThan20TokensDoesNotMoveText() {
        ChunkedPrompt chunked = chunker.chunk("cat ".repeat(50) + ", " + "dog ".repeat(30), Mode.A1111);
        int[] first = chunked.chunks().get(0).tokens();
        assertEquals(24, count(first, dog));
        assertEquals(6, count(chunked.chunks().get(1).tokens(), dog));
    }

    @Test
    void breakStartsANewChunk() {
        List<Chunk> chunks = chunker.chunk("a cat BREAK a dog", Mode.A1111).chunks();
        assertEquals(2, chunks.size());
        assertArrayEquals(tokenizer.ids77("a cat"), chunks.get(0).tokens());
        assertArrayEquals(tokenizer.ids77("a dog"), chunks.get(1).tokens());
    }

    @Test
    void condAndUncondArePaddedToTheSameChunkCount() {
        List<List<Chunk>> padded = chunker.padToSameCount(List.of(
                chunker.chunk("cat ".repeat(160), Mode.A1111), chunker.chunk("", Mode.A1111)));
        assertEquals(3, padded.get(0).size());
        assertEquals(3, padded.get(1).size());
        assertArrayEquals(chunker.emptyChunk().tokens(), padded.get(1).get(2).tokens());
    }

    @Test
    void noneModeIsDiffusersLiteral() {
        String prompt = "(cat:1.5) BREAK " + "dog ".repeat(90);
        ChunkedPrompt chunked = chunker.chunk(prompt, Mode.NONE);
        assertEquals(1, chunked.chunks().size());
        assertArrayEquals(tokenizer.ids77(prompt), chunked.chunks().get(0).tokens());
        assertArrayEquals(ones(77), chunked.chunks().get(0).multipliers());
        assertEquals(tokenizer.encode(prompt).length, chunked.tokenCount());
    }

    @Test
    void textualInversionTakesOnePositionPerVector(@TempDir Path dir) throws Exception {
        SafeTensorsFiles.write(dir.resolve("shiny-style.safetensors"), SafeTensorsFiles.f32(
                Map.of("emb_params", Map.entry(new long[]{4, 32}, SafeTensorsFiles.vectors(4, 32, 1f)))));
        PromptChunker withTi = new PromptChunker(tokenizer, TextualInversionLibrary.load(dir, tokenizer, 32));

        ChunkedPrompt chunked = withTi.chunk("a cat, (shiny-style:1.2)", Mode.A1111);
        Chunk chunk = chunked.chunks().get(0);
        assertEquals(1, chunk.fixes().size());
        PromptChunker.EmbeddingFix fix = chunk.fixes().get(0);
        assertEquals("shiny-style", fix.embedding().name());
        int prefix = tokenizer.encode("a cat,").length;
        assertEquals(1 + prefix, fix.offset());
        assertEquals(prefix + 4, chunked.tokenCount());
        for (int i = 0; i < 4; i++) assertEquals(1.2f, chunk.multipliers()[fix.offset() + i]);
        assertEquals(tokenizer.eos(), chunk.tokens()[fix.offset() + 4]);

        // An embedding never straddles two chunks: it moves whole into the next one.
        ChunkedPrompt late = withTi.chunk("cat ".repeat(73) + "shiny-style", Mode.A1111);
        assertEquals(2, late.chunks().size());
        assertEquals(1, late.chunks().get(1).fixes().get(0).offset());
    }

    @Test
    void embeddingWiderThanAChunkIsRejected(@TempDir Path dir) throws Exception {
        SafeTensorsFiles.write(dir.resolve("huge.safetensors"), SafeTensorsFiles.f32(
                Map.of("emb_params", Map.entry(new long[]{80, 32}, SafeTensorsFiles.vectors(80, 32, 1f)))));
        PromptChunker withTi = new PromptChunker(tokenizer, TextualInversionLibrary.load(dir, tokenizer, 32));
        assertThrows(IllegalArgumentException.class, () -> withTi.chunk("huge", Mode.A1111));
        assertTrue(withTi.chunk("huge", Mode.NONE).chunks().get(0).fixes().isEmpty());
    }

    private static float[] ones(int n) {
        float[] out = new float[n];
        Arrays.fill(out, 1f);
        return out;
    }

    private static int indexOf(int[] tokens, int token) {
        for (int i = 0; i < tokens.length; i++) if (tokens[i] == token) return i;
        throw new AssertionError("token " + token + " not in " + Arrays.toString(tokens));
    }

    private static int count(int[] tokens, int token) {
        return (int) Arrays.stream(tokens).filter(t -> t == token).count();
    }
}
