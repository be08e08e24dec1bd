package dev.sdmesh.textencoder.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers' {@code CLIPTokenizer} (the slow one diffusers loads, with ftfy present): text is split on the
 * special tokens, each piece becomes {@code whitespace_clean(ftfy.fix_text(piece)).lower()}, is cut by CLIP's
 * pre-tokenisation regex, mapped to GPT-2's byte alphabet and merged by BPE rank.
 */
public final class ClipTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** transformers reads merges.txt lines [1, 49152 - 256 - 2 + 1): the vocabulary has room for no more. */
    private static final int MAX_MERGES = 49152 - 256 - 2;
    private static final String BOS_TEXT = "<|startoftext|>";
    private static final String EOS_TEXT = "<|endoftext|>";
    private static final String END_OF_WORD = "</w>";
    private static final Pattern PRE_TOKENIZE = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPECIAL_TOKENS = Pattern.compile(Pattern.quote(BOS_TEXT) + "|" + Pattern.quote(EOS_TEXT));
    /** The BPE cache is a plain memo; past this size new words are no longer remembered. */
    private static final int CACHE_LIMIT = 100_000;

    private final Map<String, Integer> encoder;
    private final Map<String, Integer> bpeRanks;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();
    private final int bos;
    private final int eos;
    private final int pad;
    private final int unk;
    private final int maxLength;

    private ClipTokenizer(Map<String, Integer> encoder, List<String> merges, JsonNode config) {
        this.encoder = Map.copyOf(encoder);
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) ranks.putIfAbsent(merges.get(i), i);
        this.bpeRanks = Map.copyOf(ranks);
        this.bos = requireId(tokenText(config.get("bos_token"), BOS_TEXT));
        this.eos = requireId(tokenText(config.get("eos_token"), EOS_TEXT));
        this.unk = requireId(tokenText(config.get("unk_token"), EOS_TEXT));
        this.pad = requireId(tokenText(config.get("pad_token"), EOS_TEXT));
        this.maxLength = config.path("model_max_length").asInt(77);
        cache.put(BOS_TEXT, new String[]{BOS_TEXT});
        cache.put(EOS_TEXT, new String[]{EOS_TEXT});
    }

    /** Loads {@code vocab.json}, {@code merges.txt} and the special tokens from a model's {@code tokenizer/} folder. */
    public static ClipTokenizer load(Path tokenizerDir) {
        try {
            Map<String, Integer> vocab = JSON.readValue(tokenizerDir.resolve("vocab.json").toFile(), new TypeReference<>() {
            });
            List<String> lines = Files.readAllLines(tokenizerDir.resolve("merges.txt"), StandardCharsets.UTF_8);
            List<String> merges = new ArrayList<>();
            for (int i = 1; i < lines.size() && merges.size() < MAX_MERGES; i++) {
                if (!lines.get(i).isEmpty()) merges.add(lines.get(i));
            }
            return new ClipTokenizer(vocab, merges, specialTokenConfig(tokenizerDir));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load CLIP tokenizer from " + tokenizerDir, e);
        }
    }

    /** tokenizer_config.json where present, with special_tokens_map.json filling the tokens it does not name. */
    private static JsonNode specialTokenConfig(Path dir) throws IOException {
        var merged = JSON.createObjectNode();
        Path map = dir.resolve("special_tokens_map.json");
        if (Files.exists(map)) merged.setAll((ObjectNode) JSON.readTree(map.toFile()));
        Path config = dir.resolve("tokenizer_config.json");
        if (Files.exists(config)) {
            JSON.readTree(config.toFile()).fields().forEachRemaining(e -> {
                if (!e.getValue().isNull()) merged.set(e.getKey(), e.getValue());
            });
        }
        return merged;
    }

    /** A special token is written either as a string or as an AddedToken object with {@code content}. */
    private static String tokenText(JsonNode node, String fallback) {
        if (node == null || node.isNull()) return fallback;
        return node.isTextual() ? node.asText() : node.path("content").asText(fallback);
    }

    private int requireId(String token) {
        Integer id = encoder.get(token);
        if (id == null) throw new IllegalArgumentException("special token " + token + " is not in vocab.json");
        return id;
    }

    /** The BPE strings of {@code text}, as {@code CLIPTokenizer.tokenize}. */
    public List<String> tokenize(String text) {
        List<String> tokens = new ArrayList<>();
        Matcher special = SPECIAL_TOKENS.matcher(text);
        int pos = 0;
        while (special.find()) {
            tokenizePiece(text.substring(pos, special.start()), tokens);
            tokens.add(special.group());
            pos = special.end();
        }
        tokenizePiece(text.substring(pos), tokens);
        return tokens;
    }

    private void tokenizePiece(String piece, List<String> out) {
        String text = whitespaceClean(TextFixer.fixText(piece)).toLowerCase(Locale.ROOT);
        Matcher m = PRE_TOKENIZE.matcher(text);
        while (m.find()) out.addAll(Arrays.asList(bpe(ByteLevel.encode(m.group()))));
    }

    /** The ids of {@code text} without BOS/EOS, any length. */
    public int[] encode(String text) {
        return tokenize(text).stream().mapToInt(this::tokenToId).toArray();
    }

    /** BOS + every token + EOS, without truncation or padding ({@code tok(p, truncation=False).input_ids}). */
    public int[] idsRaw(String text) {
        int[] body = encode(text);
        int[] ids = new int[body.length + 2];
        ids[0] = bos;
        System.arraycopy(body, 0, ids, 1, body.length);
        ids[ids.length - 1] = eos;
        return ids;
    }

    /** The row the SD pipeline feeds: the first {@code maxLength-2} tokens between BOS and EOS, padded to maxLength. */
    public int[] ids77(String text) {
        int[] body = encode(text);
        int kept = Math.min(body.length, maxLength - 2);
        int[] ids = new int[maxLength];
        Arrays.fill(ids, pad);
        ids[0] = bos;
        System.arraycopy(body, 0, ids, 1, kept);
        ids[kept + 1] = eos;
        return ids;
    }

    /** The id of one BPE string (e.g. {@code ",</w>"}), or the unknown-token id when the vocabulary lacks it. */
    public int tokenToId(String token) {
        return encoder.getOrDefault(token, unk);
    }

    public int bos() {
        return bos;
    }

    public int eos() {
        return eos;
    }

    public int pad() {
        return pad;
    }

    public int maxLength() {
        return maxLength;
    }

    /** CLIP's BPE on one pre-token (already in the byte alphabet): repeatedly merge the lowest-ranked adjacent pair. */
    private String[] bpe(String token) {
        String[] cached = cache.get(token);
        if (cached != null) return cached;
        List<String> word = new ArrayList<>(token.length() + 1);
        int[] codePoints = token.codePoints().toArray();
        for (int i = 0; i < codePoints.length; i++) {
            String symbol = new String(codePoints, i, 1);
            word.add(i == codePoints.length - 1 ? symbol + END_OF_WORD : symbol);
        }
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null, bestSecond = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer rank = bpeRanks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = word.get(i);
                    bestSecond = word.get(i + 1);
                }
            }
            if (bestFirst == null) break;
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(bestFirst) && word.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        String[] result = word.toArray(String[]::new);
        if (cache.size() < CACHE_LIMIT) cache.put(token, result);
        return result;
    }

    /** {@code re.sub(r"\s+", " ", text).strip()} with Python's notion of whitespace. */
    static String whitespaceClean(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean pendingSpace = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (isPythonSpace(c)) {
                pendingSpace = out.length() > 0;
            } else {
                if (pendingSpace) out.append(' ');
                pendingSpace = false;
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Python's {@code str.isspace}: bidi classes WS, B, S and category Zs (Java's isWhitespace omits the no-break ones). */
    private static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c) || c == '\u0085' || c == '\u00A0' || c == '\u2007' || c == '\u202F';
    }
}
