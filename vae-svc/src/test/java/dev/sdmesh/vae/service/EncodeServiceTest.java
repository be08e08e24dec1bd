package dev.sdmesh.vae.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.vae.image.ImageInput;
import dev.sdmesh.vae.pipeline.ConfiguredTiling;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Encode use case's random stream against diffusers' single generator, without the server. */
class EncodeServiceTest {
    private static VaeModels models;
    private static EncodeService service;

    @BeforeAll
    static void open() {
        models = new VaeModels(new ModelRegistry(ReferenceData.model().getParent(), "model"),
                new SessionFactory(SessionSettings.cpuDefaults()), ConfiguredTiling.read());
        service = new EncodeService(models, ImageInput.Limits.defaults());
    }

    @AfterAll
    static void close() {
        if (models != null) models.close();
    }

    private static VaeEncodeRequest inpaint(JsonNode testCase, int batch) {
        return VaeEncodeRequest.newBuilder().setModel("model")
                .setImage(ByteString.copyFrom(VaeReference.bytes(testCase, "init_image.png")))
                .setMask(ByteString.copyFrom(VaeReference.bytes(testCase, "mask_image.png")))
                .setWidth(testCase.path("width").asInt()).setHeight(testCase.path("height").asInt())
                .setSeed(testCase.path("seed").asLong()).setBatch(batch).build();
    }

    /**
     * With a batch, unet-svc's add_noise draw covers the whole batch, so the masked-image sample (diffusers' draw
     * after it) starts {@code batch} latents later; the returned state is still the one right after the image's draw.
     */
    @Test
    void maskedImageSampleFollowsTheBatchNoiseDraw() {
        JsonNode testCase = VaeReference.firstCase("inpaint");
        VaeEncodeResponse response = service.encode(inpaint(testCase, 2));
        int latent = VaeReference.floats(testCase, "init_latents").length;

        TorchGenerator diffusers = new TorchGenerator(testCase.path("seed").asLong());
        diffusers.randn(latent); // the image's latent sample
        TorchGenerator returned = TorchGenerator.fromProto(response.getRngState());
        assertArrayEquals(diffusers.randn(2 * latent), returned.randn(2 * latent), "add_noise draw for a batch of 2");
        float[] expected = VaeReference.scaledLatents(testCase, "vae_latent_parameters_masked", diffusers.randn(latent));
        float[] actual = TensorCodec.toFloats(response.getMaskedImageLatents(), "masked_image_latents");
        assertTrue(ReferenceData.maxAbsDiff(expected, actual) <= 1e-5, "masked image latents differ by "
                + ReferenceData.maxAbsDiff(expected, actual));
        assertArrayEquals(new long[]{1, 4, 8, 8}, TensorCodec.shape(response.getLatents()), "one image's latents");
    }

    @Test
    void useMeanTakesTheDistributionMeanAndDrawsNothing() {
        JsonNode testCase = VaeReference.firstCase("img2img");
        VaeEncodeResponse response = service.encode(VaeEncodeRequest.newBuilder()
                .setImage(ByteString.copyFrom(VaeReference.bytes(testCase, "init_image.png")))
                .setWidth(testCase.path("width").asInt()).setHeight(testCase.path("height").asInt())
                .setSeed(testCase.path("seed").asLong()).setUseMean(true).build());
        float[] expected = VaeReference.scaledLatents(testCase, "vae_latent_parameters", null);
        float[] actual = TensorCodec.toFloats(response.getLatents(), "latents");
        assertTrue(ReferenceData.maxAbsDiff(expected, actual) <= 1e-5, "mean differs by " + ReferenceData.maxAbsDiff(expected, actual));
        TorchGenerator fresh = new TorchGenerator(testCase.path("seed").asLong());
        assertArrayEquals(fresh.randn(16), TorchGenerator.fromProto(response.getRngState()).randn(16));
    }

    @Test
    void modelsAreLoadedOnceAndUnknownOnesAreNotFound() {
        assertSame(models.get("model"), models.get(""));
        ModelException e = assertThrows(ModelException.class, () -> models.get("no-such-model"));
        assertEquals(ModelException.Kind.NOT_FOUND, e.kind());
    }
}
