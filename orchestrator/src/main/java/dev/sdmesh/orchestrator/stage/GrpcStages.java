package dev.sdmesh.orchestrator.stage;

import dev.sdmesh.orchestrator.pipeline.StageContext;
import dev.sdmesh.orchestrator.pipeline.Stages;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiseResult;
import dev.sdmesh.proto.v1.DenoiserGrpc;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.ListSchedulersRequest;
import dev.sdmesh.proto.v1.ListSchedulersResponse;
import dev.sdmesh.proto.v1.TextEncoderGrpc;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.proto.v1.VaeGrpc;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.AbstractStub;

import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The stages over gRPC: one {@link ReplicaSet} per stage, a deadline per stage, cancellation of the UNet stream. */
public final class GrpcStages implements Stages, AutoCloseable {

    /** Addresses and deadline of one stage. */
    public record StageSettings(List<String> addresses, Duration deadline) {
    }

    private final ReplicaSet textEncoder;
    private final ReplicaSet unet;
    private final ReplicaSet vae;
    private final Duration textEncoderDeadline;
    private final Duration unetDeadline;
    private final Duration vaeDeadline;

    public GrpcStages(StageSettings textEncoder, StageSettings unet, StageSettings vae, int maxInboundBytes,
                      GenerationTracing tracing) {
        StageCallTracing trace = new StageCallTracing(tracing);
        this.textEncoder = new ReplicaSet("text-encoder", textEncoder.addresses(), maxInboundBytes, trace);
        this.unet = new ReplicaSet("unet", unet.addresses(), maxInboundBytes, trace);
        this.vae = new ReplicaSet("vae", vae.addresses(), maxInboundBytes, trace);
        this.textEncoderDeadline = textEncoder.deadline();
        this.unetDeadline = unet.deadline();
        this.vaeDeadline = vae.deadline();
    }

    public List<ReplicaSet> replicaSets() {
        return List.of(textEncoder, unet, vae);
    }

    @Override
    public EncodeResponse encode(EncodeRequest request, StageContext context) {
        return textEncoder.call(ch -> with(TextEncoderGrpc.newBlockingStub(ch), textEncoderDeadline, context).encode(request));
    }

    @Override
    public TokenizeResponse tokenize(TokenizeRequest request, StageContext context) {
        return textEncoder.call(ch -> with(TextEncoderGrpc.newBlockingStub(ch), textEncoderDeadline, context).tokenize(request));
    }

    @Override
    public VaeEncodeResponse encodeImage(VaeEncodeRequest request, StageContext context) {
        return vae.call(ch -> with(VaeGrpc.newBlockingStub(ch), vaeDeadline, context).encode(request));
    }

    @Override
    public DecodeResponse decode(DecodeRequest request, StageContext context) {
        return vae.call(ch -> with(VaeGrpc.newBlockingStub(ch), vaeDeadline, context).decode(request));
    }

    @Override
    public ListSchedulersResponse schedulers(StageContext context) {
        return unet.call(ch -> with(DenoiserGrpc.newBlockingStub(ch), textEncoderDeadline, context)
                .listSchedulers(ListSchedulersRequest.getDefaultInstance()));
    }

    /**
     * The stream runs in its own cancellable gRPC context; cancelling the generation cancels that context, which
     * cancels the call on the UNet service (it stops between steps).
     */
    @Override
    public DenoiseResult denoise(DenoiseRequest request, StageContext context, Consumer<DenoiseEvent> updates) {
        return unet.call(ch -> {
            Context.CancellableContext call = Context.current().withCancellation();
            Runnable unregister = context.cancellation().onCancel(() -> call.cancel(new CancellationException("generation cancelled")));
            try {
                return call.call(() -> {
                    Iterator<DenoiseEvent> events = with(DenoiserGrpc.newBlockingStub(ch), unetDeadline, context).denoise(request);
                    DenoiseResult result = null;
                    // Read to the end of the stream even after the result: leaving early cancels the call while the
                    // server writes its trailers, and the unified Quarkus gRPC server then tears down the whole
                    // HTTP/2 connection (quarkusio/quarkus#56268), failing other calls on it.
                    while (events.hasNext()) {
                        DenoiseEvent event = events.next();
                        switch (event.getEventCase()) {
                            case PROGRESS, PREVIEW -> updates.accept(event);
                            case RESULT -> result = event.getResult();
                            default -> {
                                // an event type newer than this client: nothing to pass on
                            }
                        }
                    }
                    if (result == null) {
                        throw Status.INTERNAL.withDescription("unet stream ended without a result").asRuntimeException();
                    }
                    return result;
                });
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                unregister.run();
                call.cancel(null);
            }
        });
    }

    private static <S extends AbstractStub<S>> S with(S stub, Duration deadline, StageContext context) {
        S s = stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
        return context.traceparent() == null ? s : s.withOption(StageCallTracing.GENERATION_TRACEPARENT, context.traceparent());
    }

    @Override
    public void close() {
        replicaSets().forEach(ReplicaSet::close);
    }
}
