package dev.sdmesh.models;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.sdmesh.models.PipelineSteps.assertFinite;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every preset at full size, generated into a models directory, found through the runtime's {@link ModelRegistry}
 * and run through its {@link SessionFactory} as a pipeline would, at 64x64: VAE-encode an image, two DDIM steps with
 * classifier-free guidance from its noised latents, VAE-decode. Each part's session is closed before the next opens,
 * and each preset's folder (about 4 GB for SD 1.5) is deleted before the next preset is generated. Generation time and
 * peak memory are printed, not asserted.
 */
class PresetPipelineTest {
    private static final int IMAGE_SIZE = 64;
    private static final int LATENT = IMAGE_SIZE / PipelineSteps.VAE_SCALE;
    private static final int STEPS = 2;
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * "extended" keeps ONNX Runtime's attention, GELU and LayerNorm fusions; "all" would add only the NCHWc layout
     * rewrite of the conv weights, which takes 33 s instead of 4 s for the SD 1.5 UNet on 2 cores (the tiny preset runs
     * at "all" in TinyPipelineTest).
     */
    private static final SessionFactory SESSIONS =
            new SessionFactory(new SessionSettings(ExecutionProvider.CPU, 2, 1, "extended", null));

    @ParameterizedTest
    @EnumSource(Preset.class)
    void generatedPresetLoadsThroughTheRegistryAndRunsEncodeTwoStepsDecode(Preset preset, @TempDir Path modelsDir)
            throws IOException, OrtException {
        boolean peakRssReset = resetPeakMemory();
        String startRss = procStatus("VmRSS");
        long start = System.nanoTime();
        ModelGenerator.generate(preset, modelsDir.resolve(preset.id()), 7, false, null);
        double generateSeconds = secondsSince(start);

        start = System.nanoTime();
        ModelRegistry registry = new ModelRegistry(modelsDir, null);
        assertEquals(List.of(preset.id()), registry.ids());
        ModelFolder model = registry.get(null);
        // Shapes come from the configs written beside the graphs, as a pipeline reads them.
        JsonNode unetConfig = model.config(ModelPart.UNET);
        int inChannels = unetConfig.get("in_channels").asInt();
        int contextDim = unetConfig.get("cross_attention_dim").asInt();
        double scaling = model.config(ModelPart.VAE_DECODER).get("scaling_factor").asDouble();
        String predictionType = model.config(ModelPart.SCHEDULER).get("prediction_type").asText();

        float[] image = PipelineSteps.gaussian(3 * IMAGE_SIZE * IMAGE_SIZE, 1);
        float[] imageLatents;
        float[] conditioning;
        try (OnnxModel encoder = SESSIONS.open(model.onnx(ModelPart.VAE_ENCODER))) {
            imageLatents = PipelineSteps.encode(encoder, image, IMAGE_SIZE, scaling);
            conditioning = switch (inChannels) {
                case PipelineSteps.LATENT_CHANNELS -> new float[0];
                case 2 * PipelineSteps.LATENT_CHANNELS + 1 -> inpaintConditioning(encoder, image, scaling);
                default -> throw new AssertionError("unet in_channels " + inChannels + " is neither 4 nor 9");
            };
        }
        float[] context;
        try (OnnxModel text = SESSIONS.open(model.onnx(ModelPart.TEXT_ENCODER))) {
            context = PipelineSteps.textEmbeddings(text, promptIds(model), contextDim);
        }
        assertFinite(context, preset + " text embeddings");

        float[] noise = PipelineSteps.gaussian(imageLatents.length, 2);
        float[] latents = Ddim.addNoise(imageLatents, noise, PipelineSteps.firstTimestep(STEPS));
        try (OnnxModel unet = SESSIONS.open(model.onnx(ModelPart.UNET))) {
            latents = PipelineSteps.denoise(unet, latents, conditioning, LATENT, context, contextDim, STEPS,
                    predictionType);
        }
        assertFinite(latents, preset + " latents after " + STEPS + " steps");
        try (OnnxModel decoder = SESSIONS.open(model.onnx(ModelPart.VAE_DECODER))) {
            assertFinite(PipelineSteps.decode(decoder, latents, LATENT, scaling), preset + " decoded image");
        }
        System.out.printf("%s: generated in %.1f s, loaded and ran in %.1f s; peak RSS %s %s (RSS at its start %s),"
                        + " peak JVM heap %d MiB%n", preset, generateSeconds, secondsSince(start), procStatus("VmHWM"),
                peakRssReset ? "during this preset" : "since JVM start", startRss, peakHeapMiB());
    }

    /**
     * What diffusers' inpainting UNet takes after the latents: the mask at latent resolution (1 = repaint, here the
     * right half), then the latents of the image with that region blanked.
     */
    private static float[] inpaintConditioning(OnnxModel encoder, float[] image, double scaling) throws OrtException {
        float[] masked = image.clone();
        for (int i = 0; i < masked.length; i++) {
            if (i % IMAGE_SIZE >= IMAGE_SIZE / 2) {
                masked[i] = 0;
            }
        }
        float[] mask = new float[LATENT * LATENT];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = i % LATENT >= LATENT / 2 ? 1 : 0;
        }
        return PipelineSteps.concat(mask, PipelineSteps.encode(encoder, masked, IMAGE_SIZE, scaling));
    }

    /** The two prompts of {@link PipelineSteps#promptIds}, with the ids and pad token of the model's tokenizer. */
    private static long[] promptIds(ModelFolder model) throws IOException {
        Path tokenizer = model.part(ModelPart.TOKENIZER);
        JsonNode vocab = JSON.readTree(tokenizer.resolve("vocab.json").toFile());
        String pad = JSON.readTree(tokenizer.resolve("tokenizer_config.json").toFile()).get("pad_token").asText();
        return PipelineSteps.promptIds(id(vocab, ClipBpeVocabulary.BOS), id(vocab, ClipBpeVocabulary.EOS),
                id(vocab, pad));
    }

    private static long id(JsonNode vocab, String token) {
        JsonNode id = vocab.get(token);
        if (id == null) {
            throw new AssertionError("tokenizer has no '" + token + "'");
        }
        return id.asLong();
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }

    /**
     * Resets the JVM's heap peaks and, where Linux allows it, the process's VmHWM (to the current RSS, which still
     * holds memory that earlier sessions freed but the allocator kept); tells whether the latter worked.
     */
    private static boolean resetPeakMemory() {
        heapPools().forEach(MemoryPoolMXBean::resetPeakUsage);
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** A field of /proc/self/status, e.g. VmHWM (peak resident set) or VmRSS. */
    private static String procStatus(String field) throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return "unknown (no /proc)";
        }
        return Files.readAllLines(status).stream().filter(l -> l.startsWith(field + ":"))
                .map(l -> l.substring(field.length() + 1).trim()).findFirst().orElse("unknown");
    }

    /** Sum of the heap pools' peaks: an upper bound of the heap's peak. */
    private static long peakHeapMiB() {
        return heapPools().stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() >> 20;
    }

    private static List<MemoryPoolMXBean> heapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
    }
}
