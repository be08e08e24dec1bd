package dev.sdmesh.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The large presets are too big to run in CI, so each one runs here with its exact topology and options (block and
 * layer counts, text depth and activation, linear projections, attention upcast) but
 * narrow channels, through ONNX Runtime.
 */
class ReducedWidthTest {
    /** Graph optimisation would dominate the run time here (each graph runs once). */
    private static final SessionFactory SESSIONS =
            new SessionFactory(new SessionSettings(ExecutionProvider.CPU, 2, 1, "none", null));
    private static final int LATENT = 8;
    private static final int VAE_LATENT = 4;

    @TempDir
    Path tmp;

    /**
     * Session creation dominates, so only combinations that add code paths run: sd15-inpaint differs from sd15 only in
     * conv_in's width (checked by GraphStructureTest), and float16 adds only SD 2.x's attention upcast beyond what the
     * tiny preset already runs in float16.
     */
    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of(Preset.SD15, Precision.FLOAT32), Arguments.of(Preset.SD21, Precision.FLOAT32),
                Arguments.of(Preset.SD21, Precision.FLOAT16));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void presetTopologyRunsAtReducedWidth(Preset preset, Precision precision) throws IOException, OrtException {
        ModelConfigs.ClipText t = preset.text();
        ModelConfigs.ClipText text = new ModelConfigs.ClipText(64, t.numHiddenLayers(), 4, 128,
                t.maxPositionEmbeddings(), t.hiddenAct(), 64);
        ModelConfigs.UNet u = preset.unet();
        // Keep the per-block head pattern (uniform for SD 1.x, growing for SD 2.x) at a width each divides.
        List<Integer> heads = u.scalarHeadDim() ? u.attentionHeads() : List.of(1, 2, 4, 4);
        ModelConfigs.UNet unet = new ModelConfigs.UNet(u.inChannels(), u.outChannels(), List.of(32, 64, 128, 128),
                u.layersPerBlock(), heads, u.scalarHeadDim(), 8, 64, u.useLinearProjection(), u.upcastAttention(),
                LATENT);
        ModelConfigs.Vae v = preset.vae();
        ModelConfigs.Vae vae = new ModelConfigs.Vae(List.of(16, 32, 32, 32), v.layersPerBlock(), 8,
                v.latentChannels(), VAE_LATENT * 8, v.scalingFactor());

        float[] context = run(write("text", precision, b -> ClipTextModelGraph.build(b, text, 1000)),
                "last_hidden_state", new long[]{2, 77, 64}, Map.of("input_ids", ids()));
        long[] sampleShape = {2, u.inChannels(), LATENT, LATENT};
        Map<String, Feed> unetFeeds = new HashMap<>();
        unetFeeds.put("sample", Feed.gaussian(sampleShape, 1));
        unetFeeds.put("timestep", new Feed(new float[]{999}, new long[0]));
        unetFeeds.put("encoder_hidden_states", new Feed(context, new long[]{2, 77, 64}));
        run(write("unet", precision, b -> UNet2DConditionGraph.build(b, unet)), "out_sample",
                new long[]{2, 4, LATENT, LATENT}, unetFeeds);
        run(write("vae_decoder", precision, b -> AutoencoderKLGraph.buildDecoder(b, vae)), "sample",
                new long[]{1, 3, VAE_LATENT * 8, VAE_LATENT * 8},
                Map.of("latent_sample", Feed.gaussian(new long[]{1, 4, VAE_LATENT, VAE_LATENT}, 2)));
        run(write("vae_encoder", precision, b -> AutoencoderKLGraph.buildEncoder(b, vae)), "latent_parameters",
                new long[]{1, 8, VAE_LATENT, VAE_LATENT},
                Map.of("sample", Feed.gaussian(new long[]{1, 3, VAE_LATENT * 8, VAE_LATENT * 8}, 3)));
    }

    private record Feed(float[] values, long[] shape) {
        static Feed gaussian(long[] shape, long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            float[] v = new float[(int) Arrays.stream(shape).reduce(1, Math::multiplyExact)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rng.nextGaussian();
            }
            return new Feed(v, shape);
        }
    }

    private static Feed ids() {
        float[] ids = new float[2 * 77];
        Arrays.fill(ids, 999);
        for (int i = 0; i < 10; i++) {
            ids[77 + i] = 3 + 17 * i;
        }
        ids[0] = 998;
        ids[77] = 998;
        return new Feed(ids, new long[]{2, 77});
    }

    private Path write(String name, Precision precision, Consumer<OnnxGraphBuilder> graph) throws IOException {
        OnnxGraphBuilder b = new OnnxGraphBuilder(name, precision, WeightStore.inline(), 5);
        graph.accept(b);
        Path file = tmp.resolve(name + "-" + precision + ".onnx");
        try (OutputStream out = Files.newOutputStream(file)) {
            b.model().writeTo(out);
        }
        return file;
    }

    private static float[] run(Path file, String output, long[] shape, Map<String, Feed> inputs) throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try (OnnxModel model = SESSIONS.open(file)) {
            for (Map.Entry<String, Feed> e : inputs.entrySet()) {
                feeds.put(e.getKey(), model.floatInput(e.getKey(), e.getValue().values(), e.getValue().shape()));
            }
            try (OrtSession.Result r = model.run(feeds, null)) {
                assertArrayEquals(shape, OnnxModel.shape(r.get(output).orElseThrow()), file + " " + output);
                float[] values = OnnxModel.floats(r.get(output).orElseThrow());
                for (float x : values) {
                    assertTrue(Float.isFinite(x), file + " " + output + " has " + x);
                }
                return values;
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }
}
