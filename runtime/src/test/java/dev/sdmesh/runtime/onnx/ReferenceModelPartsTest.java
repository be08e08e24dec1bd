package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.tensor.Npy;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each ONNX part of the reference model, loaded through the registry and the session factory, reproduces torch. */
class ReferenceModelPartsTest {
    private static final String CASE = "cases/t2i_ddim_s20_g7.5_neg/";
    private static SessionFactory factory;
    private static ModelFolder model;

    @BeforeAll
    static void load() {
        Path modelDir = ReferenceData.model();
        // The reference folder is named "model": the registry treats its parent as the models directory.
        model = new ModelRegistry(modelDir.getParent(), null).get("model");
        factory = new SessionFactory(SessionSettings.cpuDefaults());
    }

    @AfterAll
    static void close() {
        factory = null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"cond_ids", "uncond_ids"})
    void textEncoderReproducesEmbeddings(String ids) throws Exception {
        String embeds = ids.replace("ids", "embeds");
        int[] tokenIds = ReferenceData.npy(CASE + ids + ".npy").toInts();
        float[] expected = ReferenceData.npy(CASE + embeds + ".npy").toFloats();
        try (OnnxModel encoder = factory.open(model.onnx(ModelPart.TEXT_ENCODER));
             OnnxTensor input = encoder.longInput("input_ids", toLongs(tokenIds), new long[]{1, tokenIds.length});
             OrtSession.Result result = encoder.run(Map.of("input_ids", input), null)) {
            float[] actual = OnnxModel.floats(result.get("last_hidden_state").orElseThrow());
            assertTrue(ReferenceData.maxAbsDiff(expected, actual) < 1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"unet", "unet_int64ts"})
    void unetReproducesNoisePrediction(String folder) throws Exception {
        Npy.Array sample = ReferenceData.npy(CASE + "unet_sample.npy");
        double[] timesteps = ReferenceData.npy(CASE + "unet_timestep.npy").toDoubles();
        float[] condEmbeds = ReferenceData.npy(CASE + "cond_embeds.npy").toFloats();
        float[] uncondEmbeds = ReferenceData.npy(CASE + "uncond_embeds.npy").toFloats();
        float[] expectedOut = ReferenceData.npy(CASE + "unet_out.npy").toFloats();
        long[] stepShape = java.util.Arrays.copyOfRange(sample.shape(), 1, sample.shape().length);
        int stepSize = Math.toIntExact(dev.sdmesh.runtime.tensor.TensorCodec.numel(stepShape));
        float[] allSamples = sample.toFloats();
        float[] embeddings = concat(uncondEmbeds, condEmbeds);
        long[] embedShape = {2, 77, 32};

        try (OnnxModel unet = factory.open(model.root().resolve(folder).resolve("model.onnx"))) {
            // A few steps spread over the loop are enough to prove the graph and the input adaptation.
            for (int step : new int[]{0, 9, timesteps.length - 1}) {
                float[] x = java.util.Arrays.copyOfRange(allSamples, step * stepSize, (step + 1) * stepSize);
                try (OnnxTensor s = unet.floatInput("sample", x, stepShape);
                     OnnxTensor t = unet.floatInput("timestep", new float[]{(float) timesteps[step]}, new long[0]);
                     OnnxTensor e = unet.floatInput("encoder_hidden_states", embeddings, embedShape);
                     OrtSession.Result r = unet.run(Map.of("sample", s, "timestep", t, "encoder_hidden_states", e), null)) {
                    float[] actual = OnnxModel.floats(r.get("out_sample").orElseThrow());
                    float[] expected = java.util.Arrays.copyOfRange(expectedOut, step * stepSize, (step + 1) * stepSize);
                    assertTrue(ReferenceData.maxAbsDiff(expected, actual) < 1e-5,
                            folder + " step " + step + ": " + ReferenceData.maxAbsDiff(expected, actual));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cases/t2i_ddim_s20_g7.5_neg/", "cases/t2i_euler_s20_g7.5_64x96_neg/"})
    void vaeDecoderReproducesImage(String caseDir) throws Exception {
        Npy.Array latents = ReferenceData.npy(caseDir + "vae_decoder_input.npy");
        Npy.Array expected = ReferenceData.npy(caseDir + "image_float.npy");
        try (OnnxModel decoder = factory.open(model.onnx(ModelPart.VAE_DECODER));
             OnnxTensor input = decoder.floatInput("latent_sample", latents.toFloats(), latents.shape());
             OrtSession.Result result = decoder.run(Map.of("latent_sample", input), null)) {
            var out = result.get("sample").orElseThrow();
            assertArrayEquals(expected.shape(), OnnxModel.shape(out));
            assertTrue(ReferenceData.maxAbsDiff(expected.toFloats(), OnnxModel.floats(out)) < 1e-5);
        }
    }

    @org.junit.jupiter.api.Test
    void partsAndConfigsAreReadable() {
        JsonNode vae = model.config(ModelPart.VAE_DECODER);
        assertEquals(0.18215, vae.path("scaling_factor").asDouble(), 1e-9);
        assertEquals("PNDMScheduler", model.config(ModelPart.SCHEDULER).path("_class_name").asText());
        assertTrue(model.hasPart(ModelPart.VAE_ENCODER));
    }

    private static long[] toLongs(int[] values) {
        return java.util.Arrays.stream(values).asLongStream().toArray();
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
