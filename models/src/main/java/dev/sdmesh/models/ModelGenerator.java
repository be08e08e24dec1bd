package dev.sdmesh.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.models.onnx.ModelProto;
import dev.sdmesh.runtime.model.ModelPart;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes a complete diffusers/Optimum ONNX pipeline folder with seeded random weights: model_index.json,
 * scheduler/, tokenizer/, text_encoder/, unet/, vae_encoder/ and vae_decoder/. The same arguments always produce
 * byte-identical files.
 */
public final class ModelGenerator {
    /** Parts whose weights exceed this go to {@code model.onnx_data}, streamed, instead of into the protobuf. */
    static final long EXTERNAL_DATA_THRESHOLD_BYTES = 64L << 20;
    static final String MODEL_FILE = "model.onnx";
    static final String EXTERNAL_DATA_FILE = "model.onnx_data";
    private static final String[] TOKENIZER_FILES =
            {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};

    /** The parts that hold a model.onnx, in the (fixed) order their seeds are drawn. */
    static final List<ModelPart> ONNX_PARTS = List.of(ModelPart.TEXT_ENCODER, ModelPart.UNET, ModelPart.VAE_ENCODER,
            ModelPart.VAE_DECODER);

    /** Vocabularies are immutable and take a moment to learn; build each size once. */
    private static final Map<Integer, ClipBpeVocabulary> VOCABULARIES = new ConcurrentHashMap<>();

    private ModelGenerator() {
    }

    /**
     * Generates {@code preset} into {@code outDir} (created if missing, files overwritten).
     *
     * @param seed               drives every weight; equal seeds give byte-identical folders
     * @param fp16               float16 weights, activations and float inputs/outputs, except the UNet's
     *                           {@code timestep}, which stays float32 as fractional timesteps (e.g. 946.42) need it
     * @param tokenizerDirOrNull a CLIP tokenizer folder to copy instead of generating a vocabulary; the text
     *                           encoder's embedding is then sized to it
     */
    public static void generate(Preset preset, Path outDir, long seed, boolean fp16, Path tokenizerDirOrNull)
            throws IOException {
        Precision precision = fp16 ? Precision.FLOAT16 : Precision.FLOAT32;
        Files.createDirectories(outDir);
        int vocabSize = tokenizerDirOrNull == null
                ? writeTokenizer(preset, outDir.resolve("tokenizer"))
                : copyTokenizer(tokenizerDirOrNull, outDir.resolve("tokenizer"));

        SplittableRandom seeds = new SplittableRandom(seed);
        for (ModelPart part : ONNX_PARTS) {
            Path dir = Files.createDirectories(outDir.resolve(part.folder()));
            writeModel(part, preset, vocabSize, precision, seeds.nextLong(), dir);
            writeJson(dir.resolve("config.json"), partConfig(part, preset, vocabSize, precision));
        }
        writeJson(Files.createDirectories(outDir.resolve("scheduler")).resolve("scheduler_config.json"),
                DiffusersConfigs.scheduler(preset));
        writeJson(outDir.resolve("model_index.json"), DiffusersConfigs.modelIndex(preset));
    }

    /** Parameter count of every part, from a dry run that builds the graphs without generating any weight. */
    public static Map<ModelPart, Long> parameterCounts(Preset preset) {
        int vocabSize = vocabulary(preset).size();
        Map<ModelPart, Long> counts = new EnumMap<>(ModelPart.class);
        for (ModelPart part : ONNX_PARTS) {
            counts.put(part, dryRun(part, preset, vocabSize, Precision.FLOAT32).parameterCount());
        }
        return counts;
    }

    /** The graph of one part with shapes and names but no weight data (for counting and structural checks). */
    static OnnxGraphBuilder dryRun(ModelPart part, Preset preset, int vocabSize, Precision precision) {
        OnnxGraphBuilder b = new OnnxGraphBuilder(part.folder(), precision, WeightStore.dryRun(), 0);
        buildGraph(part, b, preset, vocabSize);
        return b;
    }

    private static void buildGraph(ModelPart part, OnnxGraphBuilder b, Preset preset, int vocabSize) {
        switch (part) {
            case TEXT_ENCODER -> ClipTextModelGraph.build(b, preset.text(), vocabSize);
            case UNET -> UNet2DConditionGraph.build(b, preset.unet());
            case VAE_ENCODER -> AutoencoderKLGraph.buildEncoder(b, preset.vae());
            case VAE_DECODER -> AutoencoderKLGraph.buildDecoder(b, preset.vae());
            default -> throw new IllegalArgumentException(part + " has no ONNX graph");
        }
    }

    static ClipBpeVocabulary vocabulary(Preset preset) {
        return VOCABULARIES.computeIfAbsent(preset.generatedVocabSize(), ClipBpeVocabulary::build);
    }

    private static void writeModel(ModelPart part, Preset preset, int vocabSize, Precision precision, long seed,
                                   Path dir) throws IOException {
        long weightBytes = dryRun(part, preset, vocabSize, precision).parameterCount() * precision.bytesPerElement();
        writeModel(part, preset, vocabSize, precision, seed, dir, weightBytes > EXTERNAL_DATA_THRESHOLD_BYTES);
    }

    /** Writes {@code dir/model.onnx}, with the weights in {@code dir/model.onnx_data} when {@code external}. */
    static void writeModel(ModelPart part, Preset preset, int vocabSize, Precision precision, long seed, Path dir,
                           boolean external) throws IOException {
        ModelProto model;
        try (WeightStore store = external ? WeightStore.external(dir.resolve(EXTERNAL_DATA_FILE)) : WeightStore.inline()) {
            OnnxGraphBuilder b = new OnnxGraphBuilder(part.folder(), precision, store, seed);
            buildGraph(part, b, preset, vocabSize);
            model = b.model();
        }
        if (!external) {
            Files.deleteIfExists(dir.resolve(EXTERNAL_DATA_FILE));
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(MODEL_FILE)), 1 << 20)) {
            model.writeTo(out);
        }
    }

    private static Map<String, Object> partConfig(ModelPart part, Preset preset, int vocabSize, Precision precision) {
        return switch (part) {
            case TEXT_ENCODER -> DiffusersConfigs.textEncoder(preset.text(), vocabSize, precision);
            case UNET -> DiffusersConfigs.unet(preset.unet());
            case VAE_ENCODER, VAE_DECODER -> DiffusersConfigs.vae(preset.vae());
            default -> throw new IllegalArgumentException(part + " has no model config");
        };
    }

    /** Writes the generated vocabulary in CLIPTokenizer's save format; returns its size. */
    private static int writeTokenizer(Preset preset, Path dir) throws IOException {
        Files.createDirectories(dir);
        ClipBpeVocabulary vocab = vocabulary(preset);
        // CLIPTokenizer.save_vocabulary: sorted keys, non-ASCII kept; merges.txt starts with a version header.
        writeJson(dir.resolve("vocab.json"), vocab.encoder(), false);
        List<String> merges = new ArrayList<>();
        merges.add("#version: 0.2");
        merges.addAll(vocab.merges());
        Files.writeString(dir.resolve("merges.txt"), String.join("\n", merges) + "\n", StandardCharsets.UTF_8);
        writeJson(dir.resolve("tokenizer_config.json"), DiffusersConfigs.tokenizerConfig(preset.padToken()));
        writeJson(dir.resolve("special_tokens_map.json"), DiffusersConfigs.specialTokensMap(preset.padToken()));
        return vocab.size();
    }

    /** Copies a real CLIP tokenizer folder; the text encoder's vocabulary then spans its highest id. */
    private static int copyTokenizer(Path source, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String name : TOKENIZER_FILES) {
            Path file = source.resolve(name);
            if (!Files.isRegularFile(file)) {
                throw new IOException("tokenizer folder " + source + " has no " + name);
            }
            Files.copy(file, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
        JsonNode vocab = new ObjectMapper().readTree(source.resolve("vocab.json").toFile());
        int maxId = -1;
        for (JsonNode id : (Iterable<JsonNode>) () -> vocab.elements()) {
            maxId = Math.max(maxId, id.asInt());
        }
        return maxId + 1;
    }

    /** diffusers and transformers write every JSON file with sorted keys. */
    private static void writeJson(Path file, Object document) throws IOException {
        writeJson(file, document, true);
    }

    private static void writeJson(Path file, Object document, boolean ensureAscii) throws IOException {
        Files.writeString(file, PythonJson.dumps(document, ensureAscii), StandardCharsets.UTF_8);
    }
}
