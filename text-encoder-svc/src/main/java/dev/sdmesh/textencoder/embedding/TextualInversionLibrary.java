package dev.sdmesh.textencoder.embedding;

import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Textual-inversion embeddings from a folder, matched in prompts the way AUTOMATIC1111's
 * {@code EmbeddingDatabase} does: an embedding's name is its file stem, the name is tokenized like prompt text,
 * and wherever that token sequence appears in a prompt's tokens the embedding's vectors replace it (longest
 * name first when several start with the same token).
 *
 * <p>Only {@code .safetensors} files are read (A1111's {@code .pt}/{@code .bin} are Python pickles). Accepted
 * layouts: A1111's {@code emb_params} or flattened {@code string_to_param.*}, SDXL's {@code clip_l}, and
 * diffusers' single {@code <token>} key. Files that cannot be used are skipped and listed in {@link #warnings()}.
 */
public final class TextualInversionLibrary {
    /** An embedding: {@code vectors[n][hidden]} and the token ids of its name. */
    public record Embedding(String name, float[][] vectors, int[] nameTokens) {
        public int vectorCount() {
            return vectors.length;
        }

        public int hiddenSize() {
            return vectors[0].length;
        }
    }

    /** An embedding found in a token stream and how many prompt tokens its name takes there. */
    public record Match(Embedding embedding, int lengthInTokens) {
    }

    private final Map<String, Embedding> byName;
    /** A1111's {@code ids_lookup}: first token id → candidates, longest name first. */
    private final Map<Integer, List<Embedding>> idsLookup = new HashMap<>();
    private final List<String> warnings;

    private TextualInversionLibrary(List<Embedding> embeddings, List<String> warnings) {
        Map<String, Embedding> names = new LinkedHashMap<>();
        for (Embedding e : embeddings) {
            names.put(e.name(), e);
            idsLookup.computeIfAbsent(e.nameTokens()[0], k -> new ArrayList<>()).add(e);
        }
        idsLookup.values().forEach(list -> list.sort(Comparator.comparingInt((Embedding e) -> e.nameTokens().length).reversed()));
        this.byName = Map.copyOf(names);
        this.warnings = List.copyOf(warnings);
    }

    /** An empty library (no embeddings). */
    public static TextualInversionLibrary empty() {
        return new TextualInversionLibrary(List.of(), List.of());
    }

    /**
     * Loads every {@code .safetensors} file under {@code dir} (recursively). A missing folder gives an empty library.
     *
     * @param hiddenSize the text encoder's hidden size; embeddings of another width are skipped with a warning
     */
    public static TextualInversionLibrary load(Path dir, ClipTokenizer tokenizer, int hiddenSize) throws IOException {
        if (!Files.isDirectory(dir)) return empty();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        List<Embedding> embeddings = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Map<String, Path> seen = new HashMap<>();
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String lower = fileName.toLowerCase(Locale.ROOT);
            if (lower.endsWith(".pt") || lower.endsWith(".bin")) {
                warnings.add(file + ": pickle embeddings are not supported, convert to .safetensors");
                continue;
            }
            if (!lower.endsWith(".safetensors")) continue;
            String name = fileName.substring(0, fileName.length() - ".safetensors".length());
            try {
                Embedding embedding = fromTensors(name, SafeTensors.read(file), tokenizer);
                if (embedding.hiddenSize() != hiddenSize) {
                    warnings.add(file + ": vectors have width " + embedding.hiddenSize() + ", the text encoder " + hiddenSize + "; skipped");
                } else if (seen.putIfAbsent(name, file) != null) {
                    warnings.add(file + ": duplicate embedding name '" + name + "' (already loaded from " + seen.get(name) + "); skipped");
                } else {
                    embeddings.add(embedding);
                }
            } catch (IllegalArgumentException | IOException e) {
                warnings.add(file + ": " + e.getMessage() + "; skipped");
            }
        }
        return new TextualInversionLibrary(embeddings, warnings);
    }

    /**
     * Builds an embedding named {@code name} from a safetensors file's tensors.
     *
     * @throws IllegalArgumentException when no supported layout is found or the name tokenizes to nothing
     */
    public static Embedding fromTensors(String name, Map<String, SafeTensors.Tensor> tensors, ClipTokenizer tokenizer) {
        SafeTensors.Tensor param = vectorsTensor(tensors);
        long[] shape = param.shape();
        if (shape.length == 0 || shape.length > 2 || param.data().length == 0) {
            throw new IllegalArgumentException("embedding tensor has shape " + Arrays.toString(shape) + ", expected [n, hidden] or [hidden]");
        }
        int hidden = (int) shape[shape.length - 1];
        int n = param.data().length / hidden;
        float[][] vectors = new float[n][hidden];
        for (int i = 0; i < n; i++) System.arraycopy(param.data(), i * hidden, vectors[i], 0, hidden);
        int[] ids = tokenizer.encode(name);
        if (ids.length == 0) throw new IllegalArgumentException("embedding name '" + name + "' has no tokens");
        return new Embedding(name, vectors, ids);
    }

    private static SafeTensors.Tensor vectorsTensor(Map<String, SafeTensors.Tensor> tensors) {
        if (tensors.containsKey("emb_params")) return tensors.get("emb_params");
        if (tensors.containsKey("clip_l")) return tensors.get("clip_l");
        List<String> stringToParam = tensors.keySet().stream().filter(k -> k.startsWith("string_to_param.")).toList();
        if (stringToParam.size() == 1) return tensors.get(stringToParam.get(0));
        if (tensors.size() == 1) return tensors.values().iterator().next();
        throw new IllegalArgumentException("no embedding layout recognised among keys " + tensors.keySet()
                + " (expected emb_params, string_to_param.*, clip_l or a single <token> key)");
    }

    /** A1111's {@code find_embedding_at_position}: the longest embedding whose name tokens start at {@code position}. */
    public Optional<Match> findAt(int[] tokens, int position) {
        List<Embedding> candidates = idsLookup.get(tokens[position]);
        if (candidates == null) return Optional.empty();
        for (Embedding e : candidates) {
            int[] ids = e.nameTokens();
            if (position + ids.length > tokens.length) continue;
            boolean equal = true;
            for (int i = 0; i < ids.length && equal; i++) equal = tokens[position + i] == ids[i];
            if (equal) return Optional.of(new Match(e, ids.length));
        }
        return Optional.empty();
    }

    public Optional<Embedding> get(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }

    public List<Embedding> embeddings() {
        return List.copyOf(byName.values());
    }

    /** Files that were skipped, and why. */
    public List<String> warnings() {
        return warnings;
    }
}
