package dev.sdmesh.unet.grpc;

import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoisePreview;
import dev.sdmesh.proto.v1.DenoiseProgress;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiseResult;
import dev.sdmesh.proto.v1.DenoiserGrpc;
import dev.sdmesh.proto.v1.ListSchedulersRequest;
import dev.sdmesh.proto.v1.ListSchedulersResponse;
import dev.sdmesh.proto.v1.SchedulerInfo;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.unet.pipeline.DenoiseJob;
import dev.sdmesh.unet.pipeline.DenoiseListener;
import dev.sdmesh.unet.pipeline.DenoiseRun;
import dev.sdmesh.unet.pipeline.LatentPreview;
import dev.sdmesh.unet.pipeline.UnetEngine;
import dev.sdmesh.unet.pipeline.UnetModels;
import dev.sdmesh.unet.scheduler.Schedulers;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.util.Arrays;

/** gRPC adapter of the denoiser: maps the request, submits it to the engine, streams progress and the result. */
@GrpcService
public class DenoiserGrpcService extends DenoiserGrpc.DenoiserImplBase {
    private static final Logger LOG = Logger.getLogger(DenoiserGrpcService.class);

    @Inject
    UnetModels models;
    @Inject
    UnetEngine engine;
    @Inject
    DenoiseRequestMapper mapper;
    @ConfigProperty(name = "sdmesh.unet.progress-interval-ms")
    long progressIntervalMillis;

    @Override
    @Blocking
    public void denoise(DenoiseRequest request, StreamObserver<DenoiseEvent> responseObserver) {
        ServerCallStreamObserver<DenoiseEvent> observer = (ServerCallStreamObserver<DenoiseEvent>) responseObserver;
        DenoiseRun run;
        UnetModels.Loaded model;
        try {
            model = models.get(request.getModel());
            DenoiseJob job = mapper.toJob(request, model);
            run = new DenoiseRun(job, model.unet());
        } catch (RuntimeException e) {
            observer.onError(GrpcErrors.toStatus(e));
            return;
        }
        DenoiseJob job = run.job();
        int channels = model.unet().latentChannels();
        ProgressThrottle throttle = new ProgressThrottle(progressIntervalMillis, System::nanoTime);
        UnetEngine.Handle handle = engine.submit(run, new DenoiseListener() {
            @Override
            public void progress(int completedCalls, int totalCalls, long elapsedMillis) {
                if (observer.isCancelled() || !throttle.stream(completedCalls, totalCalls)) return;
                synchronized (observer) {
                    observer.onNext(DenoiseEvent.newBuilder().setProgress(DenoiseProgress.newBuilder()
                            .setStep(completedCalls).setTotal(totalCalls).setElapsedMs(elapsedMillis)).build());
                }
            }

            @Override
            public void preview(int completedCalls, float[] latents) {
                if (observer.isCancelled()) return;
                byte[] png = LatentPreview.png(latents, channels, job.latentHeight(), job.latentWidth());
                synchronized (observer) {
                    observer.onNext(DenoiseEvent.newBuilder().setPreview(DenoisePreview.newBuilder()
                            .setStep(completedCalls).setPng(com.google.protobuf.ByteString.copyFrom(png))).build());
                }
            }
        });
        // Client cancellation and deadline expiry both arrive here.
        observer.setOnCancelHandler(handle::cancel);
        handle.result().whenComplete((latents, error) -> {
            if (observer.isCancelled()) return;
            synchronized (observer) {
                if (error != null) {
                    if (!(error instanceof java.util.concurrent.CancellationException)) {
                        LOG.warnf("request %s failed: %s", request.getRequestId(), error.getMessage());
                    }
                    observer.onError(error instanceof DenoiseRun.NonFiniteLatentsException
                            ? io.grpc.Status.INTERNAL.withDescription(error.getMessage()).asRuntimeException()
                            : GrpcErrors.toStatus(error));
                    return;
                }
                DenoiseResult.Builder result = DenoiseResult.newBuilder()
                        .setLatents(TensorCodec.floats(latents, job.batch(), channels, job.latentHeight(), job.latentWidth()))
                        .setSeed(job.generator().seed())
                        .setScheduler(job.scheduler().getClass().getSimpleName());
                Arrays.stream(run.timesteps()).forEach(result::addTimesteps);
                observer.onNext(DenoiseEvent.newBuilder().setResult(result).build());
                observer.onCompleted();
            }
        });
    }

    @Override
    public void listSchedulers(ListSchedulersRequest request, StreamObserver<ListSchedulersResponse> observer) {
        ListSchedulersResponse.Builder response = ListSchedulersResponse.newBuilder();
        for (Schedulers.Entry entry : Schedulers.classes()) {
            response.addSchedulers(SchedulerInfo.newBuilder().setName(entry.className())
                    .addAllAliases(Schedulers.aliasesOf(entry.className())));
        }
        observer.onNext(response.build());
        observer.onCompleted();
    }
}
