package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.tensor.Npy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationsTest {
    private final FakeStages stages = new FakeStages();
    private final MemoryImageStore store = new MemoryImageStore();
    private final List<GenerationEvent> published = new CopyOnWriteArrayList<>();
    private final StatusStore statuses = new StatusStore();
    private final Generations generations = TestGenerations.of(stages, store, statuses, (event, traceparent) -> published.add(event),
            Long.MAX_VALUE);

    @AfterEach
    void close() {
        generations.close();
    }

    private static GenerationRequest request(String id) {
        return new GenerationRequest(id, null, "a cat", "blurry", null, 42L, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, Map.of("user", "u1"));
    }

    private static GenerationEvent await(CompletableFuture<GenerationEvent> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    private List<String> types(String id) {
        return published.stream().filter(e -> e.requestId().equals(id)).map(GenerationEvent::type).toList();
    }

    @Test
    void txt2imgRunsTheStagesWithDefaultsAndStoresThePngs() throws Exception {
        GenerationEvent done = await(generations.submit(request("r1"), "00-trace"));

        assertEquals(GenerationEvent.COMPLETED, done.type());
        EncodeRequest encode = stages.callsOf(EncodeRequest.class).get(0);
        assertEquals(List.of("a cat"), encode.getPromptsList());
        assertEquals(List.of("blurry"), encode.getNegativePromptsList());
        assertTrue(encode.getIncludeUnconditional(), "guidance 7.5 > 1 needs the unconditional pass");
        DenoiseRequest denoise = stages.callsOf(DenoiseRequest.class).get(0);
        assertEquals(20, denoise.getSteps());
        assertEquals(7.5f, denoise.getGuidanceScale());
        assertEquals(64, denoise.getWidth());
        assertEquals(64, denoise.getHeight());
        assertEquals(42, denoise.getSeed());
        assertEquals("PNDMScheduler", denoise.getScheduler());
        assertTrue(denoise.hasUncondEmbeddings());
        DecodeRequest decode = stages.callsOf(DecodeRequest.class).get(0);
        assertEquals(List.of(done.infotext()), decode.getInfotextsList());
        assertEquals("a cat\nNegative prompt: blurry\nSteps: 20, Sampler: PNDMScheduler, CFG scale: 7.5, Seed: 42, Size: 64x64, Model: tiny",
                done.infotext());

        GenerationEvent.ImageRef image = done.images().get(0);
        assertTrue(image.key().matches("\\d{4}/\\d{2}/\\d{2}/r1/0\\.png"), image.key());
        assertEquals("png-0", new String(store.get(image.key())));
        assertEquals("http://store/" + image.key() + "?signed", image.url());
        assertEquals(List.of("42"), done.seeds());
        assertTrue(done.timingsMs().keySet().containsAll(List.of("textEncoder", "unet", "vae", "storage", "total")));
        assertEquals(Map.of("user", "u1"), done.metadata());
        assertEquals(List.of("accepted", "progress", "completed"), types("r1"));
        assertEquals(GenerationStatus.SUCCEEDED, statuses.get("r1").status());
    }

    @Test
    void progressEventsAreRateLimitedButTheLastStepIsAlwaysSent() throws Exception {
        await(generations.submit(request("r2"), null));
        List<GenerationEvent> progress = published.stream().filter(e -> e.type().equals(GenerationEvent.PROGRESS)).toList();
        assertEquals(1, progress.size());
        assertEquals(20, progress.get(0).step());
        assertEquals(20, progress.get(0).total());
    }

    @Test
    void aRedeliveredFinishedRequestIsNotGeneratedAgain() throws Exception {
        GenerationEvent first = await(generations.submit(request("r3"), null));
        GenerationEvent again = await(generations.submit(request("r3"), null));
        assertEquals(1, stages.callsOf(DenoiseRequest.class).size());
        assertEquals(GenerationEvent.COMPLETED, again.type());
        assertEquals(first.images(), again.images());
        assertEquals(List.of("accepted", "progress", "completed", "completed"), types("r3"));
    }

    @Test
    void aRedeliveredRequestWhoseImagesAreGoneIsGeneratedAgain() throws Exception {
        GenerationEvent first = await(generations.submit(request("r4"), null));
        store.objects.remove(first.images().get(0).key());
        await(generations.submit(request("r4"), null));
        assertEquals(2, stages.callsOf(DenoiseRequest.class).size());
    }

    @Test
    void cancellingReachesTheRunningUnetCallAndEndsInOneCancelledEvent() throws Exception {
        stages.holdDenoise = true;
        CompletableFuture<GenerationEvent> running = generations.submit(request("r5"), null);
        assertTrue(stages.denoiseStarted.await(30, TimeUnit.SECONDS));
        assertSame(running, generations.submit(request("r5"), null), "a duplicate joins the running generation");
        generations.cancel("r5");
        assertEquals(GenerationEvent.CANCELLED, await(running).type());
        assertEquals(1, stages.callsOf(DenoiseRequest.class).size());
        assertEquals(1, types("r5").stream().filter(t -> !t.equals("accepted") && !t.equals("progress")).count());
        assertEquals(GenerationStatus.CANCELLED, statuses.get("r5").status());
    }

    @Test
    void aStageErrorFailsWithTheFieldTheStageNamed() throws Exception {
        stages.denoiseFailure = GrpcErrors.invalidArgument("scheduler", "unknown scheduler 'Foo'");
        GenerationEvent failed = await(generations.submit(request("r6"), null));
        assertEquals(GenerationEvent.FAILED, failed.type());
        assertEquals("invalid_argument", failed.error().code());
        assertEquals("scheduler", failed.error().field());
        assertTrue(failed.error().message().contains("unknown scheduler"));
        assertEquals(GenerationStatus.FAILED, statuses.get("r6").status());
        assertEquals(List.of("accepted", "failed"), types("r6"));
    }

    @Test
    void anUnknownModelIsRefusedBeforeAnythingIsPublished() {
        GenerationRequest r = new GenerationRequest("r7", "nope", "x", null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null);
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> generations.submit(r, null));
        assertEquals("model", e.field());
        assertTrue(published.isEmpty());
        assertNull(statuses.get("r7"));
    }

    @Test
    void img2imgEncodesTheInitImageFirstAndPassesTheGeneratorStateOn() throws Exception {
        store.put("inputs/cat.png", new byte[]{1, 2, 3}, "image/png");
        GenerationRequest r = new GenerationRequest("r8", null, "a cat", null, null, 7L, 10, 5.0, "Euler a", null, 128,
                64, 2, null, null, "s3://sdmesh-images/inputs/cat.png", null, null, null, null, null);
        GenerationEvent done = await(generations.submit(r, null));
        assertEquals(GenerationEvent.COMPLETED, done.type());
        VaeEncodeRequest encode = stages.callsOf(VaeEncodeRequest.class).get(0);
        assertArrayEquals(new byte[]{1, 2, 3}, encode.getImage().toByteArray());
        assertEquals(7, encode.getSeed());
        assertEquals(2, encode.getBatch());
        assertEquals(128, encode.getWidth());
        DenoiseRequest denoise = stages.callsOf(DenoiseRequest.class).get(0);
        assertEquals(17, denoise.getRngState().getMtIndex(), "the VAE encoder's generator state reaches the UNet");
        assertEquals(0.75f, denoise.getStrength());
        assertTrue(denoise.hasInitLatents());
        assertEquals("Euler a", denoise.getScheduler());
        assertTrue(done.infotext().contains("Sampler: Euler a") && done.infotext().contains("Denoising strength: 0.75"));
        assertEquals(2, done.images().size());
    }

    @Test
    void badInitImageFailsNamingTheField() throws Exception {
        GenerationRequest r = new GenerationRequest("r9", null, "x", null, null, null, null, null, null, null, null,
                null, null, null, null, "s3://missing.png", null, null, null, null, null);
        GenerationEvent failed = await(generations.submit(r, null));
        assertEquals("initImage", failed.error().field());
    }

    @Test
    void returnLatentsStoresOneNpyPerImage() throws Exception {
        GenerationRequest r = new GenerationRequest("r10", null, "x", null, null, 1L, 2, null, null, null, 64, 64, 2,
                null, null, null, null, null, true, null, null);
        GenerationEvent done = await(generations.submit(r, null));
        GenerationEvent.ImageRef second = done.images().get(1);
        assertNotNull(second.latentsKey());
        assertTrue(second.latentsKey().endsWith("/r10/1.npy"));
        Npy.Array latents = Npy.parse(store.get(second.latentsKey()), second.latentsKey());
        assertArrayEquals(new long[]{1, 4, 8, 8}, latents.shape());
        assertEquals(256f, latents.toFloats()[0], "image 1 starts after image 0's 4*8*8 values");
    }

    @Test
    void guidanceAtMostOneSkipsTheUnconditionalPass() throws Exception {
        GenerationRequest r = new GenerationRequest("r11", null, "x", null, "none", 1L, 1, 1.0, null, null, null, null,
                null, null, null, null, null, null, null, null, null);
        await(generations.submit(r, null));
        EncodeRequest encode = stages.callsOf(EncodeRequest.class).get(0);
        assertTrue(!encode.getIncludeUnconditional());
        assertEquals(dev.sdmesh.proto.v1.PromptSyntax.NONE, encode.getPromptSyntax());
        assertTrue(!stages.callsOf(DenoiseRequest.class).get(0).hasUncondEmbeddings());
    }
}
