package dev.sdmesh.orchestrator.stage;

import dev.sdmesh.orchestrator.pipeline.Cancellation;
import dev.sdmesh.orchestrator.pipeline.StageContext;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseProgress;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiserGrpc;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.TextEncoderGrpc;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The balancing and retry policy against real gRPC servers on loopback ports (a stopped server's port stands for a
 * replica that is down), and cancellation of the UNet stream as the server sees it.
 */
class ReplicaSetTest {
    private final List<Server> servers = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();
    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetrySdk openTelemetry = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build();

    /** A text encoder replica that counts its calls and answers with {@code answer} (null = OK). */
    private static final class Encoder extends TextEncoderGrpc.TextEncoderImplBase {
        final AtomicInteger calls = new AtomicInteger();
        final StatusRuntimeException answer;

        Encoder(StatusRuntimeException answer) {
            this.answer = answer;
        }

        @Override
        public void encode(EncodeRequest request, StreamObserver<EncodeResponse> response) {
            calls.incrementAndGet();
            if (answer != null) {
                response.onError(answer);
                return;
            }
            response.onNext(EncodeResponse.newBuilder().setChunks(1).build());
            response.onCompleted();
        }
    }

    private String start(io.grpc.ServerServiceDefinition service) throws IOException {
        Server server = ServerBuilder.forPort(0).addService(service).build().start();
        servers.add(server);
        return "127.0.0.1:" + server.getPort();
    }

    private String downReplica() throws Exception {
        Server server = ServerBuilder.forPort(0).build().start();
        int port = server.getPort();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        return "127.0.0.1:" + port;
    }

    private ReplicaSet replicas(List<String> addresses) {
        ReplicaSet set = new ReplicaSet("text-encoder", addresses, 64 << 20);
        clients.add(set);
        return set;
    }

    private static EncodeResponse encode(ReplicaSet set) {
        return set.call(ch -> TextEncoderGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .encode(EncodeRequest.newBuilder().addPrompts("x").build()));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) c.close();
        for (Server s : servers) s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void callsAreSpreadOverLiveReplicasAndSkipOneThatIsDown() throws Exception {
        Encoder a = new Encoder(null);
        Encoder b = new Encoder(null);
        ReplicaSet set = replicas(List.of(downReplica(), start(a.bindService()), start(b.bindService())));
        for (int i = 0; i < 9; i++) assertEquals(1, encode(set).getChunks());
        assertEquals(9, a.calls.get() + b.calls.get());
        assertTrue(a.calls.get() >= 3 && b.calls.get() >= 3, "round robin: " + a.calls + " / " + b.calls);
    }

    @Test
    void invalidArgumentIsNeverRetried() throws Exception {
        Encoder a = new Encoder(GrpcErrors.invalidArgument("prompts", "too many"));
        Encoder b = new Encoder(GrpcErrors.invalidArgument("prompts", "too many"));
        ReplicaSet set = replicas(List.of(start(a.bindService()), start(b.bindService())));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> encode(set));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals("prompts", GrpcErrors.violatedField(e));
        assertEquals(1, a.calls.get() + b.calls.get());
    }

    @Test
    void unavailableFromAReplicaMovesToTheNext() throws Exception {
        Encoder draining = new Encoder(Status.UNAVAILABLE.withDescription("shutting down").asRuntimeException());
        Encoder healthy = new Encoder(null);
        ReplicaSet set = replicas(List.of(start(draining.bindService()), start(healthy.bindService())));
        for (int i = 0; i < 4; i++) encode(set);
        assertEquals(4, healthy.calls.get());
        assertEquals(2, draining.calls.get(), "each replica is tried once per call, starting round robin");
    }

    @Test
    void aConnectionClosedUnderTheCallIsRetriedOnceButOtherInternalErrorsAreNot() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        ReplicaSet set = replicas(List.of(start(new TextEncoderGrpc.TextEncoderImplBase() {
            @Override
            public void encode(EncodeRequest request, StreamObserver<EncodeResponse> response) {
                switch (calls.incrementAndGet()) {
                    case 1 -> response.onError(Status.INTERNAL.withDescription(
                            "Connection closed after GOAWAY. HTTP/2 error code: PROTOCOL_ERROR").asRuntimeException());
                    case 3 -> response.onError(Status.INTERNAL.withDescription("model crashed").asRuntimeException());
                    default -> {
                        response.onNext(EncodeResponse.newBuilder().setChunks(1).build());
                        response.onCompleted();
                    }
                }
            }
        }.bindService())));
        assertEquals(1, encode(set).getChunks());
        assertEquals(2, calls.get(), "the torn-down call ran again on the reconnected channel");
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> encode(set));
        assertEquals("model crashed", e.getStatus().getDescription());
        assertEquals(3, calls.get(), "an application error is the answer");
    }

    @Test
    void allReplicasDownIsUnavailableNamingTheAddresses() throws Exception {
        String down = downReplica();
        ReplicaSet set = replicas(List.of(down));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> encode(set));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(down), e.getStatus().getDescription());
    }

    @Test
    void cancellingTheGenerationCancelsTheDenoiseCallOnTheServer() throws Exception {
        CountDownLatch serverSawCancel = new CountDownLatch(1);
        AtomicReference<String> traceparent = new AtomicReference<>();
        DenoiserGrpc.DenoiserImplBase slow = new DenoiserGrpc.DenoiserImplBase() {
            @Override
            public void denoise(DenoiseRequest request, StreamObserver<DenoiseEvent> response) {
                ServerCallStreamObserver<DenoiseEvent> call = (ServerCallStreamObserver<DenoiseEvent>) response;
                call.setOnCancelHandler(serverSawCancel::countDown);
                call.onNext(DenoiseEvent.newBuilder().setProgress(DenoiseProgress.newBuilder().setStep(1).setTotal(1000)).build());
                // Never finishes on its own: only the client's cancel ends this call.
            }
        };
        ServerInterceptor captureTrace = new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
                traceparent.set(headers.get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER)));
                return next.startCall(call, headers);
            }
        };
        String unet = start(ServerInterceptors.intercept(slow, captureTrace));
        Encoder encoder = new Encoder(null);
        String text = start(encoder.bindService());
        GrpcStages stages = new GrpcStages(new GrpcStages.StageSettings(List.of(text), Duration.ofSeconds(10)),
                new GrpcStages.StageSettings(List.of(unet), Duration.ofSeconds(60)),
                new GrpcStages.StageSettings(List.of(text), Duration.ofSeconds(10)), 64 << 20,
                new GenerationTracing(openTelemetry));
        clients.add(stages);
        clients.add(openTelemetry);
        Cancellation cancellation = new Cancellation();
        String trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        AtomicInteger progress = new AtomicInteger();
        // Cancel as soon as the first progress event arrives: the stream is open and the server is mid-call.
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stages.denoise(
                DenoiseRequest.newBuilder().setSteps(1000).build(), new StageContext(trace, cancellation), p -> {
                    progress.incrementAndGet();
                    cancellation.cancel();
                }));
        assertEquals(Status.Code.CANCELLED, e.getStatus().getCode());
        assertTrue(serverSawCancel.await(10, TimeUnit.SECONDS), "the UNet service saw the call cancelled");
        assertEquals(1, progress.get());

        // The call got its own client span below the generation's, and the UNet service was sent that span's context.
        SpanData call = spans.getFinishedSpanItems().stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
        assertEquals("sdmesh.v1.Denoiser/Denoise", call.getName());
        assertEquals("0af7651916cd43dd8448eb211c80319c", call.getTraceId());
        assertEquals("b7ad6b7169203331", call.getParentSpanId());
        assertEquals(StatusCode.ERROR, call.getStatus().getStatusCode());
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + call.getSpanId() + "-01", traceparent.get());
    }
}
