package dev.sdmesh.models;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small byte-level BPE vocabulary in CLIP's layout, built here so that the project ships no third-party vocabulary:
 * the 256 byte-unicode symbols, their {@code </w>} forms, merges learned from a built-in English word list (plus,
 * when a preset needs CLIP's full 49408-token embedding, deterministic filler merges of letter tokens), then
 * {@code <|startoftext|>} and {@code <|endoftext|>} as the last two ids.
 */
public final class ClipBpeVocabulary {
    public static final String BOS = "<|startoftext|>";
    public static final String EOS = "<|endoftext|>";
    private static final String END_OF_WORD = "</w>";
    /** transformers' CLIPTokenizer reads at most this many merges ({@code [1 : 49152 - 256 - 2 + 1]}). */
    public static final int MAX_MERGES = 49152 - 256 - 2;
    private static final int LEARNED_MERGES = 400;

    private static final String WORDS = """
            a an the of and in on at to with for from by under over above near inside through
            photo photograph picture painting portrait drawing sketch illustration render image art artwork
            cat cats dog dogs horse bird birds fish lion tiger bear fox wolf rabbit owl dragon
            man woman girl boy child people person king queen knight wizard robot astronaut
            house castle city street road bridge tower church village garden forest tree trees flower flowers
            mountain mountains river lake sea ocean beach island desert field sky cloud clouds sun moon star stars
            rain snow storm fire water light shadow night day morning evening sunset sunrise winter summer spring autumn
            red green blue yellow orange purple pink black white gray golden silver brown dark bright colorful
            beautiful cute small large big old young tall long short happy sad quiet calm wild ancient modern
            detailed highly realistic photorealistic cinematic dramatic soft sharp focus lighting studio
            oil canvas watercolor digital concept style trending masterpiece quality best high resolution
            wearing holding sitting standing running flying walking looking smiling playing reading
            hat dress coat shirt glasses book table chair window door wall floor room kitchen car train boat ship
            space planet galaxy future fantasy magic science fiction steampunk cyberpunk medieval
            """;

    private final List<String> tokens;
    private final List<String> merges;

    private ClipBpeVocabulary(List<String> tokens, List<String> merges) {
        this.tokens = tokens;
        this.merges = merges;
    }

    /** Token strings in id order. */
    public List<String> tokens() {
        return tokens;
    }

    /** Merge rules ("a b") in rank order. */
    public List<String> merges() {
        return merges;
    }

    public int size() {
        return tokens.size();
    }

    /** The vocabulary with learned merges only ({@code targetSize <= 0}) or padded with filler merges to exactly targetSize. */
    public static ClipBpeVocabulary build(int targetSize) {
        List<String> base = byteSymbols();
        Set<String> vocab = new LinkedHashSet<>(base);
        base.forEach(s -> vocab.add(s + END_OF_WORD));
        List<String> merges = new ArrayList<>();
        learnMerges(vocab, merges);
        if (targetSize > 0) {
            int mergesNeeded = targetSize - vocab.size() - 2;
            if (mergesNeeded + merges.size() > MAX_MERGES || mergesNeeded < 0) {
                throw new IllegalArgumentException("vocabulary size out of range: " + targetSize);
            }
            fillMerges(vocab, merges, targetSize - 2);
        }
        List<String> tokens = new ArrayList<>(vocab);
        tokens.add(BOS);
        tokens.add(EOS);
        return new ClipBpeVocabulary(List.copyOf(tokens), List.copyOf(merges));
    }

    /** vocab.json's content: token to id. */
    public Map<String, Integer> encoder() {
        Map<String, Integer> encoder = new LinkedHashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            encoder.put(tokens.get(i), i);
        }
        return encoder;
    }

    /** GPT-2/CLIP bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards; byte order. */
    static List<String> byteSymbols() {
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            printable.add(b);
        }
        for (int b = 0xa1; b <= 0xac; b++) {
            printable.add(b);
        }
        for (int b = 0xae; b <= 0xff; b++) {
            printable.add(b);
        }
        List<String> symbols = new ArrayList<>();
        printable.forEach(b -> symbols.add(String.valueOf((char) b.intValue())));
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!printable.contains(b)) {
                symbols.add(String.valueOf((char) (256 + n++)));
            }
        }
        return symbols;
    }

    /**
     * Classic BPE training on the word list: repeatedly merge the most frequent adjacent pair (ties broken by the
     * pair's text) whose result is not yet a token, so every merge adds exactly one vocabulary entry.
     */
    private static void learnMerges(Set<String> vocab, List<String> merges) {
        List<List<String>> words = new ArrayList<>();
        for (String w : WORDS.trim().split("\\s+")) {
            List<String> symbols = new ArrayList<>();
            for (int i = 0; i < w.length(); i++) {
                symbols.add(w.charAt(i) + (i == w.length() - 1 ? END_OF_WORD : ""));
            }
            words.add(symbols);
        }
        while (merges.size() < LEARNED_MERGES) {
            Map<String, Integer> counts = new HashMap<>();
            for (List<String> word : words) {
                for (int i = 0; i + 1 < word.size(); i++) {
                    counts.merge(word.get(i) + " " + word.get(i + 1), 1, Integer::sum);
                }
            }
            String best = null;
            for (Map.Entry<String, Integer> e : counts.entrySet()) {
                if (vocab.contains(e.getKey().replace(" ", ""))) {
                    continue;
                }
                if (best == null || e.getValue() > counts.get(best)
                        || (e.getValue().equals(counts.get(best)) && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                }
            }
            if (best == null) {
                return;
            }
            String[] pair = best.split(" ");
            merges.add(best);
            vocab.add(pair[0] + pair[1]);
            for (List<String> word : words) {
                for (int i = 0; i + 1 < word.size(); i++) {
                    if (word.get(i).equals(pair[0]) && word.get(i + 1).equals(pair[1])) {
                        word.set(i, pair[0] + pair[1]);
                        word.remove(i + 1);
                    }
                }
            }
        }
    }

    /**
     * Deterministic filler: joins letter-only tokens (left: not word-final, right: any) in vocabulary order into new
     * tokens until the vocabulary has {@code size} entries. Such merges are valid BPE rules; they only make rare
     * letter sequences single tokens.
     */
    private static void fillMerges(Set<String> vocab, List<String> merges, int size) {
        while (vocab.size() < size) {
            List<String> letters = vocab.stream().filter(t -> t.replace(END_OF_WORD, "").matches("[a-z]+")).toList();
            for (String left : letters) {
                if (left.endsWith(END_OF_WORD)) {
                    continue;
                }
                for (String right : letters) {
                    if (vocab.size() >= size) {
                        return;
                    }
                    if (vocab.add(left + right)) {
                        merges.add(left + " " + right);
                    }
                }
            }
        }
    }
}
