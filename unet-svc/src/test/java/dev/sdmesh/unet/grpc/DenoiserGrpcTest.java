package dev.sdmesh.unet.grpc;

import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiserGrpc;
import dev.sdmesh.proto.v1.ListSchedulersRequest;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.tensor.Npy;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.unet.pipeline.UnetEngine;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import grpc.health.v1.HealthGrpc;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Denoiser through a real gRPC server on a random loopback port, on the reference model. */
@QuarkusTest
class DenoiserGrpcTest {
    private static final String CASE = "cases/t2i_ddim_s20_g7.5_neg/";

    @TestHTTPResource("/")
    URL url;
    @Inject
    UnetEngine engine;

    private ManagedChannel channel;
    private DenoiserGrpc.DenoiserBlockingStub denoiser;

    @BeforeEach
    void connect() throws Exception {
        ReferenceData.require();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        denoiser = DenoiserGrpc.newBlockingStub(channel);
        awaitServing();
    }

    @AfterEach
    void close() throws InterruptedException {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private void awaitServing() throws InterruptedException {
        var health = HealthGrpc.newBlockingStub(channel);
        for (int i = 0; i < 600; i++) {
            if (health.check(HealthCheckRequest.newBuilder().setService("sdmesh.v1.Denoiser").build()).getStatus()
                    == HealthCheckResponse.ServingStatus.SERVING) return;
            Thread.sleep(100);
        }
        throw new AssertionError("unet-svc never became SERVING");
    }

    private static DenoiseRequest referenceRequest() {
        Npy.Array cond = ReferenceData.npy(CASE + "cond_embeds.npy");
        Npy.Array uncond = ReferenceData.npy(CASE + "uncond_embeds.npy");
        return DenoiseRequest.newBuilder().setRequestId("ref").setModel("model")
                .setCondEmbeddings(TensorCodec.floats(cond.toFloats(), cond.shape()))
                .setUncondEmbeddings(TensorCodec.floats(uncond.toFloats(), uncond.shape()))
                .setWidth(64).setHeight(64).setSeed(42).setScheduler("DDIMScheduler")
                .setSteps(20).setGuidanceScale(7.5f).build();
    }

    private record Outcome(float[] latents, int progressEvents, int previews, long seed) {
    }

    private Outcome run(DenoiseRequest request) {
        Iterator<DenoiseEvent> events = denoiser.withDeadlineAfter(5, TimeUnit.MINUTES).denoise(request);
        int progress = 0;
        int previews = 0;
        while (events.hasNext()) {
            DenoiseEvent event = events.next();
            switch (event.getEventCase()) {
                case PROGRESS -> progress++;
                case PREVIEW -> {
                    assertTrue(event.getPreview().getPng().size() > 8);
                    previews++;
                }
                case RESULT -> {
                    return new Outcome(TensorCodec.toFloats(event.getResult().getLatents(), "latents"), progress,
                            previews, event.getResult().getSeed());
                }
                default -> throw new AssertionError("empty event");
            }
        }
        throw new AssertionError("stream ended without a result");
    }

    @Test
    void seedAloneReproducesDiffusersAndProgressCountsUnetCalls() {
        Outcome outcome = run(referenceRequest().toBuilder().setPreviewEvery(5).build());
        float[] expected = ReferenceData.npy(CASE + "final_latents.npy").toFloats();
        assertTrue(ReferenceData.relativeL2(expected, outcome.latents()) < 1e-4);
        assertEquals(20, outcome.progressEvents());
        assertEquals(3, outcome.previews(), "previews after calls 5, 10 and 15 (none after the last)");
        assertEquals(42, outcome.seed());
    }

    @Test
    void missingSeedIsDrawnAndReported() {
        Outcome a = run(referenceRequest().toBuilder().clearSeed().setSteps(2).build());
        Outcome b = run(referenceRequest().toBuilder().setSeed(a.seed()).setSteps(2).build());
        assertArrayEquals(a.latents(), b.latents());
    }

    @Test
    void concurrentRequestsAreBatchedWithoutChangingResults() throws Exception {
        DenoiseRequest first = referenceRequest().toBuilder().setRequestId("a").setSeed(1).setSteps(6).build();
        DenoiseRequest second = referenceRequest().toBuilder().setRequestId("b").setSeed(2).setSteps(6).build();
        Outcome aloneFirst = run(first);
        Outcome aloneSecond = run(second);
        long callsBefore = engine.unetCalls();
        var together1 = CompletableFuture.supplyAsync(() -> run(first));
        var together2 = CompletableFuture.supplyAsync(() -> run(second));
        Outcome batchedFirst = together1.get(2, TimeUnit.MINUTES);
        Outcome batchedSecond = together2.get(2, TimeUnit.MINUTES);
        assertTrue(ReferenceData.maxAbsDiff(aloneFirst.latents(), batchedFirst.latents()) < 1e-4);
        assertTrue(ReferenceData.maxAbsDiff(aloneSecond.latents(), batchedSecond.latents()) < 1e-4);
        long calls = engine.unetCalls() - callsBefore;
        assertTrue(calls < 12, "12 steps in " + calls + " UNet calls: at least one step was batched");
    }

    @Test
    void cancellationStopsTheRunAndTheServiceGoesOn() throws Exception {
        DenoiseRequest slow = referenceRequest().toBuilder().setSteps(150).build();
        // The cancelled call gets a connection of its own: the follow-up request must succeed on a fresh one
        // regardless of how the server's HTTP/2 layer winds the reset stream down.
        ManagedChannel own = ManagedChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext().build();
        try {
            var cancellable = io.grpc.Context.current().withCancellation();
            List<DenoiseEvent> seen = new ArrayList<>();
            StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> cancellable.run(() -> {
                Iterator<DenoiseEvent> events = DenoiserGrpc.newBlockingStub(own).denoise(slow);
                while (events.hasNext()) {
                    seen.add(events.next());
                    if (seen.size() == 2) cancellable.cancel(null);
                }
            }));
            assertEquals(Status.Code.CANCELLED, error.getStatus().getCode());
        } finally {
            own.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        awaitIdle();
        assertTrue(run(referenceRequest().toBuilder().setSteps(2).build()).latents().length > 0);
    }

    @Test
    void deadlineStopsTheRun() throws Exception {
        DenoiseRequest slow = referenceRequest().toBuilder().setSteps(150).build();
        ManagedChannel own = ManagedChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext().build();
        try {
            StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> {
                Iterator<DenoiseEvent> events = DenoiserGrpc.newBlockingStub(own)
                        .withDeadlineAfter(300, TimeUnit.MILLISECONDS).denoise(slow);
                while (events.hasNext()) events.next();
            });
            assertEquals(Status.Code.DEADLINE_EXCEEDED, error.getStatus().getCode());
        } finally {
            own.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        awaitIdle();
    }

    private void awaitIdle() throws InterruptedException {
        for (int i = 0; i < 200 && engine.queueDepth() > 0; i++) Thread.sleep(50);
        assertEquals(0, engine.queueDepth(), "the cancelled run left the engine");
    }

    @Test
    void badInputNamesTheFieldAndTheLimit() {
        assertInvalid("width", "multiple of 8", r -> r.setWidth(60));
        // A multiple of 8 under the 2048 hard cap, over the configured maximum.
        assertInvalid("width", "1024", r -> r.setWidth(1032));
        assertInvalid("height", "1024", r -> r.setHeight(4096));
        assertInvalid("steps", "1..150", r -> r.setSteps(0));
        assertInvalid("steps", "1..150", r -> r.setSteps(151));
        assertInvalid("guidance_scale", "0..50", r -> r.setGuidanceScale(Float.NaN));
        assertInvalid("guidance_scale", "0..50", r -> r.setGuidanceScale(51));
        assertInvalid("guidance_scale", "0..50", r -> r.setGuidanceScale(-1));
        assertInvalid("guidance_scale", "0..50", r -> r.setGuidanceScale(Float.POSITIVE_INFINITY));
        assertInvalid("scheduler", "NoSuchScheduler", r -> r.setScheduler("NoSuchScheduler"));
        assertInvalid("scheduler_options.not_a_key", "diffusers scheduler config key",
                r -> r.putSchedulerOptions("not_a_key", "1"));
        assertInvalid("cond_embeddings", "cross-attention size 32",
                r -> r.setCondEmbeddings(TensorCodec.floats(new float[77 * 16], 1, 77, 16)));
        assertInvalid("uncond_embeddings", "guidance_scale > 1", r -> r.clearUncondEmbeddings());
        float[] latents = new float[4 * 8 * 8];
        UnaryOperator<DenoiseRequest.Builder> img2img = r -> r.setInitLatents(TensorCodec.floats(latents, 1, 4, 8, 8));
        assertInvalid("strength", "(0, 1]", r -> img2img.apply(r).setStrength(1.5f));
        assertInvalid("strength", "(0, 1]", r -> img2img.apply(r).setStrength(-0.5f));
        assertInvalid("strength", "(0, 1]", r -> img2img.apply(r).setStrength(Float.NaN));
        assertInvalid("strength", "no denoising step", r -> img2img.apply(r).setStrength(0.01f));
        assertInvalid("mask", "[*, 1, 8, 8]", r -> img2img.apply(r).setMask(TensorCodec.floats(new float[16], 1, 1, 4, 4)));
        // A key of another scheduler's config is ignored, as diffusers ignores it in from_config.
        assertEquals(2, run(referenceRequest().toBuilder().setSteps(2).putSchedulerOptions("solver_order", "2").build())
                .progressEvents());
    }

    private void assertInvalid(String field, String limit, UnaryOperator<DenoiseRequest.Builder> change) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> run(change.apply(referenceRequest().toBuilder()).build()), field);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), field + ": " + e.getStatus());
        assertEquals(field, GrpcErrors.violatedField(e), e.getStatus().getDescription());
        assertTrue(e.getStatus().getDescription().contains(limit),
                field + " names the limit '" + limit + "': " + e.getStatus().getDescription());
    }

    @Test
    void nonFiniteLatentsFailThatRequestAndTheServiceGoesOn() {
        // Finite input that the UNet and the scheduler step overflow: the latents after the first call are not finite.
        float[] huge = new float[4 * 8 * 8];
        java.util.Arrays.fill(huge, Float.MAX_VALUE);
        DenoiseRequest diverging = referenceRequest().toBuilder().setSteps(3)
                .setInitialLatents(TensorCodec.floats(huge, 1, 4, 8, 8)).build();
        StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> run(diverging));
        assertEquals(Status.Code.INTERNAL, error.getStatus().getCode(), error.getStatus().toString());
        String message = error.getStatus().getDescription();
        assertTrue(message.contains("latents became") && message.contains("at UNet call 1 of 3"), message);
        assertEquals(0, engine.queueDepth(), "the failed run left the engine");

        Outcome healthy = run(referenceRequest().toBuilder().setSteps(3).build());
        assertEquals(3, healthy.progressEvents());
        for (float v : healthy.latents()) assertTrue(Float.isFinite(v));
    }

    @Test
    void guidanceUpToOneRunsOneTextPassAndIgnoresTheNegative() {
        DenoiseRequest unguided = referenceRequest().toBuilder().setGuidanceScale(1.0f).setSteps(3).build();
        Npy.Array cond = ReferenceData.npy(CASE + "cond_embeds.npy");
        float[] otherNegative = cond.toFloats();
        for (int i = 0; i < otherNegative.length; i++) otherNegative[i] = -otherNegative[i];

        Outcome withReferenceNegative = run(unguided);
        assertEquals(1, engine.lastBatchRows(), "one UNet row for one image without guidance");
        Outcome withOtherNegative = run(unguided.toBuilder()
                .setUncondEmbeddings(TensorCodec.floats(otherNegative, cond.shape())).build());
        Outcome withoutNegative = run(unguided.toBuilder().clearUncondEmbeddings().build());
        Outcome belowOne = run(unguided.toBuilder().setGuidanceScale(0.5f).build());
        assertArrayEquals(withReferenceNegative.latents(), withOtherNegative.latents());
        assertArrayEquals(withReferenceNegative.latents(), withoutNegative.latents());
        assertArrayEquals(withReferenceNegative.latents(), belowOne.latents(), "any scale <= 1 is the text pass alone");

        run(unguided.toBuilder().setGuidanceScale(1.5f).build());
        assertEquals(2, engine.lastBatchRows(), "with guidance the image takes an uncond and a cond row");
    }

    @Test
    void listsSchedulersWithA1111Names() {
        var names = denoiser.listSchedulers(ListSchedulersRequest.getDefaultInstance()).getSchedulersList();
        assertTrue(names.stream().anyMatch(s -> s.getName().equals("EulerAncestralDiscreteScheduler")
                && s.getAliasesList().contains("Euler a")));
        assertTrue(names.size() >= 15);
    }
}
