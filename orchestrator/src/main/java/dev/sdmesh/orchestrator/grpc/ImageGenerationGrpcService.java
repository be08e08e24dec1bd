package dev.sdmesh.orchestrator.grpc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.OrchestratorConfig;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.pipeline.GenerationIntake;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.orchestrator.rest.EventStreams;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.proto.v1.CancelGenerationRequest;
import dev.sdmesh.proto.v1.GetGenerationRequest;
import dev.sdmesh.proto.v1.Generation;
import dev.sdmesh.proto.v1.GenerationImage;
import dev.sdmesh.proto.v1.ImageGenerationGrpc;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;

import java.math.BigInteger;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The gRPC front door ({@code sdmesh.v1.ImageGeneration}); requests are mapped to the Kafka request JSON, validated,
 * published to the requests topic and run by whichever replica consumes them, with the same pipeline and events. The
 * call's server span (a child of the caller's {@code traceparent} metadata, or a new trace) continues through Kafka and
 * the stages. The unary call waits for the terminal event until the caller's deadline or
 * {@code sdmesh.generation.sync-timeout}, whichever comes first; the generation itself goes on and can be read by id.
 */
@GrpcService
public class ImageGenerationGrpcService extends ImageGenerationGrpc.ImageGenerationImplBase {
    @Inject
    GenerationIntake intake;
    @Inject
    StatusStore statuses;
    @Inject
    ObjectMapper json;
    @Inject
    OrchestratorConfig config;
    @Inject
    GenerationTracing tracing;

    @Override
    @Blocking
    public void generate(dev.sdmesh.proto.v1.GenerationRequest request, StreamObserver<Generation> response) {
        try {
            GenerationIntake.Admitted admitted = intake.admit(toJson(request));
            CompletableFuture<GenerationEvent> terminal = statuses.nextTerminal(admitted.requestId());
            try {
                intake.send(admitted, tracing.currentTraceparent());
                GenerationEvent end = terminal.get(waitMillis(), TimeUnit.MILLISECONDS);
                response.onNext(toProto(GenerationStatus.fold(statuses.get(admitted.requestId()), end)));
                response.onCompleted();
            } finally {
                terminal.cancel(false);
            }
        } catch (TimeoutException e) {
            response.onError(Status.DEADLINE_EXCEEDED.withDescription("generation did not finish in time").asRuntimeException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            response.onError(Status.CANCELLED.asRuntimeException());
        } catch (Exception e) {
            response.onError(toStatus(e));
        }
    }

    private long waitMillis() {
        long wait = config.generation().syncTimeout().toMillis();
        Deadline deadline = Context.current().getDeadline();
        return deadline == null ? wait : Math.max(0, Math.min(wait, deadline.timeRemaining(TimeUnit.MILLISECONDS)));
    }

    @Override
    @Blocking
    public void generateStream(dev.sdmesh.proto.v1.GenerationRequest request,
                               StreamObserver<dev.sdmesh.proto.v1.GenerationEvent> response) {
        GenerationIntake.Admitted admitted;
        try {
            admitted = intake.admit(toJson(request));
        } catch (RuntimeException e) {
            response.onError(toStatus(e));
            return;
        }
        ServerCallStreamObserver<dev.sdmesh.proto.v1.GenerationEvent> call =
                (ServerCallStreamObserver<dev.sdmesh.proto.v1.GenerationEvent>) response;
        // Subscribe before sending so the accepted event is in the stream.
        var subscription = EventStreams.follow(statuses, admitted.requestId()).subscribe().with(
                event -> call.onNext(toProto(event)),
                error -> call.onError(toStatus(error)),
                call::onCompleted);
        call.setOnCancelHandler(subscription::cancel);
        try {
            intake.send(admitted, tracing.currentTraceparent());
        } catch (RuntimeException e) {
            subscription.cancel();
            call.onError(toStatus(e));
        }
    }

    @Override
    @Blocking
    public void getGeneration(GetGenerationRequest request, StreamObserver<Generation> response) {
        GenerationStatus status = statuses.get(request.getRequestId());
        if (status == null) {
            response.onError(Status.NOT_FOUND.withDescription("no generation " + request.getRequestId()).asRuntimeException());
            return;
        }
        response.onNext(toProto(status));
        response.onCompleted();
    }

    @Override
    @Blocking
    public void cancelGeneration(CancelGenerationRequest request, StreamObserver<Generation> response) {
        GenerationStatus status = intake.cancel(request.getRequestId());
        if (status == null) {
            response.onError(Status.NOT_FOUND.withDescription("no generation " + request.getRequestId()).asRuntimeException());
            return;
        }
        response.onNext(toProto(status));
        response.onCompleted();
    }

    /** A full queue is RESOURCE_EXHAUSTED (REST's 429); the rest as the stages map their errors. */
    private static StatusRuntimeException toStatus(Throwable e) {
        if (e instanceof RejectedExecutionException) return Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
        return GrpcErrors.toStatus(e);
    }

    /** The proto request as the Kafka JSON: only set fields, so unset ones take the same defaults. */
    ObjectNode toJson(dev.sdmesh.proto.v1.GenerationRequest p) {
        ObjectNode o = json.createObjectNode();
        o.put("requestId", p.getRequestId().isEmpty() ? UUID.randomUUID().toString() : p.getRequestId());
        if (!p.getModel().isEmpty()) o.put("model", p.getModel());
        if (!p.getPrompt().isEmpty()) o.put("prompt", p.getPrompt());
        if (!p.getNegativePrompt().isEmpty()) o.put("negativePrompt", p.getNegativePrompt());
        if (!p.getPromptSyntax().isEmpty()) o.put("promptSyntax", p.getPromptSyntax());
        if (p.hasSeed()) o.put("seed", new BigInteger(Long.toUnsignedString(p.getSeed())));
        if (p.hasSteps()) o.put("steps", Integer.toUnsignedLong(p.getSteps()));
        if (p.hasGuidanceScale()) o.put("guidanceScale", (double) p.getGuidanceScale());
        if (!p.getScheduler().isEmpty()) o.put("scheduler", p.getScheduler());
        if (p.getSchedulerOptionsCount() > 0) {
            ObjectNode options = o.putObject("schedulerOptions");
            // Values are JSON literals on the wire; text that is not one is taken as a string.
            p.getSchedulerOptionsMap().forEach((k, v) -> {
                try {
                    options.set(k, json.readTree(v));
                } catch (JsonProcessingException e) {
                    options.put(k, v);
                }
            });
        }
        if (p.hasWidth()) o.put("width", Integer.toUnsignedLong(p.getWidth()));
        if (p.hasHeight()) o.put("height", Integer.toUnsignedLong(p.getHeight()));
        if (p.hasBatchSize()) o.put("batchSize", Integer.toUnsignedLong(p.getBatchSize()));
        if (p.hasClipSkip()) o.put("clipSkip", Integer.toUnsignedLong(p.getClipSkip()));
        if (p.hasStrength()) o.put("strength", (double) p.getStrength());
        if (!p.getInitImage().isEmpty()) o.put("initImage", p.getInitImage());
        if (!p.getMask().isEmpty()) o.put("mask", p.getMask());
        if (p.hasPreviewEvery()) o.put("previewEvery", Integer.toUnsignedLong(p.getPreviewEvery()));
        if (p.getReturnLatents()) o.put("returnLatents", true);
        if (p.getPriority() != 0) o.put("priority", p.getPriority());
        if (p.getMetadataCount() > 0) {
            ObjectNode metadata = o.putObject("metadata");
            p.getMetadataMap().forEach(metadata::put);
        }
        return o;
    }

    static Generation toProto(GenerationStatus s) {
        Generation.Builder g = Generation.newBuilder().setRequestId(s.requestId()).setStatus(s.status());
        if (s.step() != null) g.setStep(s.step());
        if (s.total() != null) g.setTotal(s.total());
        if (s.images() != null) {
            for (GenerationEvent.ImageRef image : s.images()) {
                g.addImages(GenerationImage.newBuilder().setIndex(image.index()).setKey(image.key())
                        .setUrl(image.url() == null ? "" : image.url()).setSeed(Long.parseUnsignedLong(image.seed())));
            }
        }
        if (s.error() != null) {
            g.setErrorCode(s.error().code()).setErrorMessage(s.error().message() == null ? "" : s.error().message())
                    .setErrorField(s.error().field() == null ? "" : s.error().field());
        }
        if (s.infotext() != null) g.setInfotext(s.infotext());
        if (s.timingsMs() != null) g.putAllTimingsMs(s.timingsMs());
        return g.build();
    }

    private dev.sdmesh.proto.v1.GenerationEvent toProto(GenerationEvent event) {
        String text;
        try {
            text = json.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return dev.sdmesh.proto.v1.GenerationEvent.newBuilder().setType(event.type()).setJson(text)
                .setGeneration(toProto(GenerationStatus.fold(statuses.get(event.requestId()), event))).build();
    }
}
