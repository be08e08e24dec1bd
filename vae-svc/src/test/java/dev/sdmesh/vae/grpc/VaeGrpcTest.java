package dev.sdmesh.vae.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.proto.v1.VaeGrpc;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.image.PngWriter;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.vae.service.VaeReference;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vae service through a real gRPC server on a random loopback port, on the reference model. */
@QuarkusTest
class VaeGrpcTest {
    private static final String INFOTEXT = "a photo of an astronaut\nSteps: 20, Sampler: DDIM, CFG scale: 7.5, Seed: 42, "
            + "Size: 64x64, Model: model";

    @TestHTTPResource("/")
    URL url;
    @Inject
    MeterRegistry metrics;
    @ConfigProperty(name = "sdmesh.vae.max-image-bytes")
    long maxImageBytes;

    private ManagedChannel channel;
    private VaeGrpc.VaeBlockingStub vae;

    @BeforeEach
    void connect() throws Exception {
        ReferenceData.require();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        vae = VaeGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES);
        awaitServing();
    }

    @AfterEach
    void close() throws InterruptedException {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private void awaitServing() throws InterruptedException {
        var health = HealthGrpc.newBlockingStub(channel);
        for (int i = 0; i < 600; i++) {
            if (health.check(HealthCheckRequest.newBuilder().setService("sdmesh.v1.Vae").build()).getStatus()
                    == HealthCheckResponse.ServingStatus.SERVING) {
                assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                        health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("vae-svc never became SERVING");
    }

    private static DecodeRequest decodeRequest(JsonNode testCase) {
        var latents = ReferenceData.npy(VaeReference.file(testCase, "final_latents.npy"));
        return DecodeRequest.newBuilder().setRequestId(testCase.path("id").asText()).setModel("model")
                .setLatents(TensorCodec.floats(latents.toFloats(), latents.shape()))
                .setPng(true).setRawRgb(true).addInfotexts(INFOTEXT)
                .setRequestJson("{\"seed\":" + testCase.path("seed").asLong() + "}").build();
    }

    @Test
    void decodesEveryPublicCaseAsDiffusersWithA1111Parameters() throws IOException {
        for (JsonNode testCase : VaeReference.cases()) {
            String id = testCase.path("id").asText();
            DecodeResponse response = vae.decode(decodeRequest(testCase));
            var expected = ReferenceData.npy(VaeReference.file(testCase, "image_uint8.npy"));
            long[] shape = expected.shape();
            assertArrayEquals(shape, TensorCodec.shape(response.getRgb()), id);
            byte[] rgb = TensorCodec.toBytes(response.getRgb(), "rgb");
            assertEqualExceptAtRoundingTies(id, VaeReference.floats(testCase, "image_float"), expected.toBytes(), rgb,
                    (int) shape[1], (int) shape[2]);

            assertEquals(shape[0], response.getPngsCount(), id);
            byte[] png = response.getPngs(0).toByteArray();
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
            assertEquals(shape[2], image.getWidth(), id);
            assertEquals(shape[1], image.getHeight(), id);
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int o = (y * image.getWidth() + x) * 3;
                    int expectedRgb = (rgb[o] & 0xff) << 16 | (rgb[o + 1] & 0xff) << 8 | rgb[o + 2] & 0xff;
                    assertEquals(expectedRgb, image.getRGB(x, y) & 0xffffff, id + " PNG pixel " + x + "," + y);
                }
            }
            var text = PngWriter.readText(png);
            assertEquals(INFOTEXT, text.get(PngWriter.PARAMETERS), id);
            assertEquals("{\"seed\":" + testCase.path("seed").asLong() + "}", text.get(PngWriter.SDMESH), id);
        }
    }

    /**
     * ONNX Runtime and torch agree within ~1e-6, so a pixel whose torch value lies that close to a .5 step of
     * {@code x * 255} may round the other way; it may differ by one, every other pixel must be equal.
     */
    private static void assertEqualExceptAtRoundingTies(String id, float[] imageFloat, byte[] expected, byte[] actual,
                                                        int height, int width) {
        int plane = height * width;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == actual[i]) continue;
            int b = i / (plane * 3), p = (i / 3) % plane, c = i % 3;
            double scaled = Math.min(Math.max(imageFloat[(b * 3 + c) * plane + p] / 2.0 + 0.5, 0), 1) * 255;
            double fromTie = Math.abs(scaled - Math.floor(scaled) - 0.5);
            assertTrue(fromTie < 255 * 1e-5 && Math.abs((expected[i] & 0xff) - (actual[i] & 0xff)) == 1,
                    id + ": uint8 value " + i + " is " + (actual[i] & 0xff) + ", diffusers " + (expected[i] & 0xff));
        }
    }

    @Test
    void batchDecodeGivesEachImageItsOwnInfotext() {
        var sameSize = VaeReference.cases().stream().filter(c -> c.path("width").asInt() == 64
                && c.path("height").asInt() == 64 && c.path("batch_size").asInt() == 1).limit(2).toList();
        float[] a = VaeReference.floats(sameSize.get(0), "final_latents");
        float[] b = VaeReference.floats(sameSize.get(1), "final_latents");
        float[] both = new float[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        DecodeResponse batch = vae.decode(DecodeRequest.newBuilder().setLatents(TensorCodec.floats(both, 2, 4, 8, 8))
                .setPng(true).addInfotexts("first").addInfotexts("second").build());
        assertEquals(2, batch.getPngsCount());
        assertEquals("first", PngWriter.readText(batch.getPngs(0).toByteArray()).get(PngWriter.PARAMETERS));
        assertEquals("second", PngWriter.readText(batch.getPngs(1).toByteArray()).get(PngWriter.PARAMETERS));
        DecodeResponse second = vae.decode(decodeRequest(sameSize.get(1)).toBuilder().clearInfotexts()
                .addInfotexts("second").clearRequestJson().build());
        assertEquals(second.getPngs(0), batch.getPngs(1), "a batch decodes each image as alone");
    }

    @Test
    void tiledDecodeWithOneTileIsTheFullDecode() {
        DecodeRequest request = decodeRequest(VaeReference.cases().get(0)).toBuilder().setPng(false).build();
        assertEquals(vae.decode(request).getRgb(), vae.decode(request.toBuilder().setTiled(true).build()).getRgb());
    }

    @Test
    void encodeReproducesDiffusersImg2ImgAndHandsTheGeneratorOn() {
        JsonNode testCase = VaeReference.firstCase("img2img");
        double before = counter("sdmesh.vae.encodes");
        VaeEncodeResponse response = vae.encode(encodeRequest(testCase).build());
        float[] expected = VaeReference.floats(testCase, "init_latents");
        float[] actual = TensorCodec.toFloats(response.getLatents(), "latents");
        assertArrayEquals(new long[]{1, 4, 8, 8}, TensorCodec.shape(response.getLatents()));
        assertTrue(ReferenceData.maxAbsDiff(expected, actual) <= 1e-5, "init_latents differ by "
                + ReferenceData.maxAbsDiff(expected, actual));
        float[] noise = VaeReference.floats(testCase, "add_noise_noise");
        assertArrayEquals(noise, TorchGenerator.fromProto(response.getRngState()).randn(noise.length),
                "the returned state draws diffusers' add_noise noise next");
        assertEquals(before + 1, counter("sdmesh.vae.encodes"));

        // Continuing from a state is the same as starting from the seed that made it.
        VaeEncodeResponse continued = vae.encode(encodeRequest(testCase).setSeed(12345)
                .setRngState(new TorchGenerator(testCase.path("seed").asLong()).toProto()).build());
        assertEquals(response.getLatents(), continued.getLatents());
    }

    @Test
    void encodeReproducesDiffusersInpaint() {
        JsonNode testCase = VaeReference.firstCase("inpaint");
        VaeEncodeResponse response = vae.encode(encodeRequest(testCase)
                .setMask(ByteString.copyFrom(VaeReference.bytes(testCase, "mask_image.png"))).setBatch(1).build());
        assertTrue(ReferenceData.maxAbsDiff(VaeReference.floats(testCase, "init_latents"),
                TensorCodec.toFloats(response.getLatents(), "latents")) <= 1e-5);
        float[] mask = TensorCodec.toFloats(response.getMask(), "mask");
        assertArrayEquals(new long[]{1, 1, 8, 8}, TensorCodec.shape(response.getMask()));
        float[] maskLatents = VaeReference.floats(testCase, "mask_latents");
        // diffusers duplicates the mask for classifier-free guidance; the first copy is the image's.
        assertArrayEquals(java.util.Arrays.copyOf(maskLatents, mask.length), mask);

        float[] noise = VaeReference.floats(testCase, "add_noise_noise");
        assertArrayEquals(noise, TorchGenerator.fromProto(response.getRngState()).randn(noise.length));
        float[] expectedMasked = VaeReference.scaledLatents(testCase, "vae_latent_parameters_masked",
                VaeReference.floats(testCase, "randn_draw_02"));
        float[] masked = TensorCodec.toFloats(response.getMaskedImageLatents(), "masked_image_latents");
        assertTrue(ReferenceData.maxAbsDiff(expectedMasked, masked) <= 1e-5, "masked image latents differ by "
                + ReferenceData.maxAbsDiff(expectedMasked, masked));
    }

    private static VaeEncodeRequest.Builder encodeRequest(JsonNode testCase) {
        return VaeEncodeRequest.newBuilder().setRequestId(testCase.path("id").asText()).setModel("model")
                .setImage(ByteString.copyFrom(VaeReference.bytes(testCase, "init_image.png")))
                .setWidth(testCase.path("width").asInt()).setHeight(testCase.path("height").asInt())
                .setSeed(testCase.path("seed").asLong());
    }

    @Test
    void requestsAboveTheDefaultMessageSizePass() {
        // Noise does not compress: a 320x320 RGB PNG is about 300 KiB, over gRPC's 256 KiB default.
        byte[] png = noisePng(320, 320);
        VaeEncodeRequest request = encodeRequest(VaeReference.firstCase("img2img")).setImage(ByteString.copyFrom(png))
                .setResizeMode(dev.sdmesh.proto.v1.ResizeMode.CROP_AND_RESIZE).build();
        assertTrue(request.getSerializedSize() > 256 * 1024, request.getSerializedSize() + " bytes");
        assertArrayEquals(new long[]{1, 4, 8, 8}, TensorCodec.shape(vae.encode(request).getLatents()));
    }

    @Test
    void badEncodeInputNamesTheField() {
        JsonNode testCase = VaeReference.firstCase("img2img");
        assertInvalid("width", () -> vae.encode(encodeRequest(testCase).setWidth(60).build()));
        assertInvalid("height", () -> vae.encode(encodeRequest(testCase).setHeight(0).build()));
        assertInvalid("width", () -> vae.encode(encodeRequest(testCase).setWidth(4104).build()));
        assertInvalid("image", () -> vae.encode(encodeRequest(testCase).clearImage().build()));
        assertInvalid("image", () -> vae.encode(encodeRequest(testCase)
                .setImage(ByteString.copyFromUtf8("this is not an image")).build()));
        byte[] png = VaeReference.bytes(testCase, "init_image.png");
        assertInvalid("image", () -> vae.encode(encodeRequest(testCase)
                .setImage(ByteString.copyFrom(png, 0, png.length / 2)).build()));
        // A tiny file whose header claims 5000x8: refused from the header, nothing is allocated.
        assertInvalid("image", () -> vae.encode(encodeRequest(testCase)
                .setImage(ByteString.copyFrom(withClaimedSize(noisePng(8, 8), 5000, 8))).build()));
        byte[] huge = new byte[Math.toIntExact(maxImageBytes) + 1];
        System.arraycopy(png, 0, huge, 0, png.length);
        assertInvalid("image", () -> vae.encode(encodeRequest(testCase).setImage(ByteString.copyFrom(huge)).build()));
        assertInvalid("mask", () -> vae.encode(encodeRequest(testCase).setMask(ByteString.copyFromUtf8("no mask")).build()));
        assertInvalid("resize_mode", () -> vae.encode(encodeRequest(testCase).setResizeModeValue(7).build()));
        assertInvalid("batch", () -> vae.encode(encodeRequest(testCase).setBatch(17).build()));
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
                () -> vae.encode(encodeRequest(testCase).setModel("no-such-model").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    }

    @Test
    void badDecodeInputNamesTheField() {
        DecodeRequest good = decodeRequest(VaeReference.cases().get(0));
        assertInvalid("latents", () -> vae.decode(good.toBuilder().clearLatents().build()));
        assertInvalid("latents", () -> vae.decode(good.toBuilder()
                .setLatents(TensorCodec.floats(new float[3 * 64], 1, 3, 8, 8)).build()));
        float[] nan = new float[4 * 64];
        nan[7] = Float.NaN;
        assertInvalid("latents", () -> vae.decode(good.toBuilder().setLatents(TensorCodec.floats(nan, 1, 4, 8, 8)).build()));
        assertInvalid("latents", () -> vae.decode(good.toBuilder()
                .setLatents(TensorCodec.floats(new float[4 * 513], 1, 4, 513, 1)).build()));
        assertInvalid("infotexts", () -> vae.decode(good.toBuilder().addInfotexts("second").build()));
        assertInvalid("png", () -> vae.decode(good.toBuilder().setPng(false).setRawRgb(false).build()));
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
                () -> vae.decode(good.toBuilder().setModel("no-such-model").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    }

    @Test
    void decodesAndPixelsAreCounted() {
        double decodes = counter("sdmesh.vae.decodes"), pixels = counter("sdmesh.vae.pixels");
        vae.decode(decodeRequest(VaeReference.cases().get(0)));
        assertEquals(decodes + 1, counter("sdmesh.vae.decodes"));
        assertEquals(pixels + 64 * 64, counter("sdmesh.vae.pixels"), 0.0);
    }

    private double counter(String name) {
        return metrics.find(name).functionCounters().stream().mapToDouble(c -> c.count()).sum();
    }

    private static void assertInvalid(String field, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run, field);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), field + ": " + e.getStatus());
        assertEquals(field, GrpcErrors.violatedField(e), e.getStatus().getDescription());
    }

    private static byte[] noisePng(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(7);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) image.setRGB(x, y, random.nextInt(1 << 24));
        }
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The PNG with its IHDR width and height rewritten (and the chunk's CRC fixed), pixel data untouched. */
    private static byte[] withClaimedSize(byte[] png, int width, int height) {
        byte[] out = png.clone();
        ByteBuffer buffer = ByteBuffer.wrap(out);
        // Signature (8), IHDR length (4), "IHDR" (4), then width and height; the CRC follows the 13 data bytes.
        buffer.putInt(16, width).putInt(20, height);
        CRC32 crc = new CRC32();
        crc.update(out, 12, 4 + 13);
        buffer.putInt(12 + 4 + 13, (int) crc.getValue());
        return out;
    }
}
