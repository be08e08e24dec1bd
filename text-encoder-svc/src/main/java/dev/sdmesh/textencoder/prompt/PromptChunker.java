package dev.sdmesh.textencoder.prompt;

import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Turns a prompt into rows of {@code maxLength} (77) token ids for the text encoder.
 *
 * <p>{@link Mode#A1111} follows AUTOMATIC1111's {@code FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line}:
 * attention runs from {@link PromptParser}, chunks of 75 tokens each wrapped in BOS/EOS and padded, a weight per
 * token, BREAK starting a new chunk, the comma backtrack (a chunk that fills up moves the text after its last comma,
 * if that comma is within {@value #COMMA_PADDING_BACKTRACK} tokens of the end, into the next chunk), and
 * textual-inversion embeddings taking one position per vector. {@link Mode#NONE} is diffusers literally: one row,
 * exactly {@link ClipTokenizer#ids77}, every weight 1.
 */
public final class PromptChunker {
    /** A1111's default {@code comma_padding_backtrack}. */
    public static final int COMMA_PADDING_BACKTRACK = 20;

    public enum Mode {
        /** AUTOMATIC1111: attention syntax, BREAK, 75-token chunks, textual inversion. */
        A1111,
        /** diffusers: the text as written, truncated to one 77-token row. */
        NONE
    }

    /** Where an embedding's vectors go: positions {@code offset .. offset+n-1} of the chunk (BOS is position 0). */
    public record EmbeddingFix(int offset, TextualInversionLibrary.Embedding embedding) {
    }

    /** One row for the text encoder: {@code tokens} and {@code multipliers} both have maxLength entries. */
    public record Chunk(int[] tokens, float[] multipliers, List<EmbeddingFix> fixes) {
    }

    /**
     * A prompt's chunks and its token count: A1111's count (positions in use, BOS/EOS excluded) or, in
     * {@link Mode#NONE}, the number of prompt tokens before truncation to 75.
     */
    public record ChunkedPrompt(List<Chunk> chunks, int tokenCount) {
    }

    private final ClipTokenizer tokenizer;
    private final TextualInversionLibrary embeddings;
    private final int chunkLength;
    private final int commaToken;

    /** @param embeddings textual inversions to recognise in A1111 mode (an empty library for none) */
    public PromptChunker(ClipTokenizer tokenizer, TextualInversionLibrary embeddings) {
        this.tokenizer = tokenizer;
        this.embeddings = embeddings;
        this.chunkLength = tokenizer.maxLength() - 2;
        this.commaToken = tokenizer.tokenToId(",</w>");
    }

    public ChunkedPrompt chunk(String prompt, Mode mode) {
        if (mode == Mode.NONE) {
            int[] ids = tokenizer.ids77(prompt);
            float[] ones = new float[ids.length];
            Arrays.fill(ones, 1f);
            // The count is before truncation, so a caller can tell the user what was cut off.
            return new ChunkedPrompt(List.of(new Chunk(ids, ones, List.of())), tokenizer.encode(prompt).length);
        }
        return new LineTokenizer().tokenizeLine(prompt);
    }

    /** A1111's {@code empty_chunk} (BOS, EOS, padding), used to give prompts of a batch equal chunk counts. */
    public Chunk emptyChunk() {
        int[] tokens = new int[chunkLength + 2];
        Arrays.fill(tokens, tokenizer.eos());
        tokens[0] = tokenizer.bos();
        float[] ones = new float[tokens.length];
        Arrays.fill(ones, 1f);
        return new Chunk(padAfterFirstEos(tokens), ones, List.of());
    }

    /**
     * A1111 fills chunks with EOS and then, in {@code process_tokens}, overwrites everything after the first EOS
     * with the pad id: a no-op for SD 1.x (pad = EOS), "!" padding for SD 2.x as its tokenizer would give.
     */
    private int[] padAfterFirstEos(int[] tokens) {
        if (tokenizer.pad() == tokenizer.eos()) return tokens;
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == tokenizer.eos()) {
                Arrays.fill(tokens, i + 1, tokens.length, tokenizer.pad());
                break;
            }
        }
        return tokens;
    }

    /**
     * Pads every prompt's chunk list with {@link #emptyChunk()} to the longest one, as A1111 does within a batch and
     * for cond against uncond (so that both can be concatenated along the sequence axis).
     */
    public List<List<Chunk>> padToSameCount(List<ChunkedPrompt> prompts) {
        int count = prompts.stream().mapToInt(p -> p.chunks().size()).max().orElse(0);
        List<List<Chunk>> out = new ArrayList<>(prompts.size());
        for (ChunkedPrompt p : prompts) {
            List<Chunk> chunks = new ArrayList<>(p.chunks());
            while (chunks.size() < count) chunks.add(emptyChunk());
            out.add(chunks);
        }
        return out;
    }

    /** The mutable state of one {@code tokenize_line} call, named as in A1111. */
    private final class LineTokenizer {
        private final List<Chunk> chunks = new ArrayList<>();
        private List<Integer> chunkTokens = new ArrayList<>();
        private List<Float> chunkMultipliers = new ArrayList<>();
        private List<EmbeddingFix> chunkFixes = new ArrayList<>();
        private int tokenCount;
        private int lastComma = -1;

        ChunkedPrompt tokenizeLine(String line) {
            for (PromptParser.Run run : PromptParser.parse(line)) {
                if (run.isBreak()) {
                    nextChunk(false);
                    continue;
                }
                int[] tokens = tokenizer.encode(run.text());
                float weight = (float) run.weight();
                int position = 0;
                while (position < tokens.length) {
                    int token = tokens[position];
                    if (token == commaToken) {
                        lastComma = chunkTokens.size();
                    } else if (chunkTokens.size() == chunkLength && lastComma != -1
                            && chunkTokens.size() - lastComma <= COMMA_PADDING_BACKTRACK) {
                        int breakLocation = lastComma + 1;
                        List<Integer> relocTokens = new ArrayList<>(chunkTokens.subList(breakLocation, chunkTokens.size()));
                        List<Float> relocMults = new ArrayList<>(chunkMultipliers.subList(breakLocation, chunkMultipliers.size()));
                        chunkTokens = new ArrayList<>(chunkTokens.subList(0, breakLocation));
                        chunkMultipliers = new ArrayList<>(chunkMultipliers.subList(0, breakLocation));
                        nextChunk(false);
                        chunkTokens = relocTokens;
                        chunkMultipliers = relocMults;
                    }
                    if (chunkTokens.size() == chunkLength) nextChunk(false);

                    Optional<TextualInversionLibrary.Match> match = embeddings.findAt(tokens, position);
                    if (match.isEmpty()) {
                        chunkTokens.add(token);
                        chunkMultipliers.add(weight);
                        position++;
                        continue;
                    }
                    TextualInversionLibrary.Embedding embedding = match.get().embedding();
                    int embLen = embedding.vectorCount();
                    if (embLen > chunkLength) {
                        throw new IllegalArgumentException("textual inversion '" + embedding.name() + "' has " + embLen
                                + " vectors, more than fit in one chunk (" + chunkLength + ")");
                    }
                    if (chunkTokens.size() + embLen > chunkLength) nextChunk(false);
                    // Offsets count BOS, which nextChunk puts in front.
                    chunkFixes.add(new EmbeddingFix(chunkTokens.size() + 1, embedding));
                    for (int i = 0; i < embLen; i++) {
                        // Placeholder ids; the encoder replaces these positions' embeddings with the vectors.
                        chunkTokens.add(0);
                        chunkMultipliers.add(weight);
                    }
                    position += match.get().lengthInTokens();
                }
            }
            if (!chunkTokens.isEmpty() || chunks.isEmpty()) nextChunk(true);
            return new ChunkedPrompt(List.copyOf(chunks), tokenCount);
        }

        /** Closes the current chunk: pads it to 75, wraps it in BOS/EOS; on the last chunk only real tokens count. */
        private void nextChunk(boolean isLast) {
            tokenCount += isLast ? chunkTokens.size() : chunkLength;
            int[] tokens = new int[chunkLength + 2];
            float[] multipliers = new float[chunkLength + 2];
            Arrays.fill(tokens, tokenizer.eos());
            Arrays.fill(multipliers, 1f);
            tokens[0] = tokenizer.bos();
            for (int i = 0; i < chunkTokens.size(); i++) {
                tokens[i + 1] = chunkTokens.get(i);
                multipliers[i + 1] = chunkMultipliers.get(i);
            }
            chunks.add(new Chunk(padAfterFirstEos(tokens), multipliers, List.copyOf(chunkFixes)));
            chunkTokens = new ArrayList<>();
            chunkMultipliers = new ArrayList<>();
            chunkFixes = new ArrayList<>();
            lastComma = -1;
        }
    }
}
