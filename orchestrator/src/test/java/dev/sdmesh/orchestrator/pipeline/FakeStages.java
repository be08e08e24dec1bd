package dev.sdmesh.orchestrator.pipeline;

import com.google.protobuf.ByteString;
import dev.sdmesh.proto.v1.DataType;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseProgress;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiseResult;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.ListSchedulersResponse;
import dev.sdmesh.proto.v1.RngState;
import dev.sdmesh.proto.v1.Tensor;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Stages that answer from memory, recording each request. Latents hold their element index so that a test can check
 * how the batch was split; PNG bytes name the image. Denoising can be held until cancelled.
 */
class FakeStages implements Stages {
    final List<Object> calls = new CopyOnWriteArrayList<>();
    final CountDownLatch denoiseStarted = new CountDownLatch(1);
    volatile boolean holdDenoise;
    volatile RuntimeException denoiseFailure;

    static Tensor embeddings(int batch) {
        return floats(new long[]{batch, 77, 4});
    }

    static Tensor floats(long[] shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(i);
        Tensor.Builder t = Tensor.newBuilder().setDtype(DataType.FLOAT32).setData(ByteString.copyFrom(b.array()));
        for (long d : shape) t.addShape(d);
        return t.build();
    }

    @Override
    public EncodeResponse encode(EncodeRequest request, StageContext context) {
        calls.add(request);
        EncodeResponse.Builder r = EncodeResponse.newBuilder().setCondEmbeddings(embeddings(request.getPromptsCount())).setChunks(1);
        if (request.getIncludeUnconditional()) r.setUncondEmbeddings(embeddings(request.getPromptsCount()));
        return r.build();
    }

    @Override
    public TokenizeResponse tokenize(TokenizeRequest request, StageContext context) {
        calls.add(request);
        return TokenizeResponse.getDefaultInstance();
    }

    @Override
    public VaeEncodeResponse encodeImage(VaeEncodeRequest request, StageContext context) {
        calls.add(request);
        return VaeEncodeResponse.newBuilder()
                .setLatents(floats(new long[]{request.getBatch(), 4, request.getHeight() / 8, request.getWidth() / 8}))
                .setRngState(RngState.newBuilder().setSeed(request.getSeed()).setMtIndex(17))
                .build();
    }

    @Override
    public DenoiseResult denoise(DenoiseRequest request, StageContext context, Consumer<DenoiseEvent> updates) {
        calls.add(request);
        denoiseStarted.countDown();
        if (denoiseFailure != null) throw denoiseFailure;
        CountDownLatch cancelled = new CountDownLatch(1);
        context.cancellation().onCancel(cancelled::countDown);
        for (int step = 1; step <= request.getSteps(); step++) {
            updates.accept(DenoiseEvent.newBuilder().setProgress(DenoiseProgress.newBuilder().setStep(step).setTotal(request.getSteps())).build());
        }
        if (holdDenoise) {
            try {
                if (!cancelled.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("never cancelled");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw io.grpc.Status.CANCELLED.withDescription("call cancelled").asRuntimeException();
        }
        long batch = request.getCondEmbeddings().getShape(0);
        return DenoiseResult.newBuilder()
                .setLatents(floats(new long[]{batch, 4, request.getHeight() / 8, request.getWidth() / 8}))
                .setSeed(request.getSeed()).setScheduler("PNDMScheduler").build();
    }

    @Override
    public DecodeResponse decode(DecodeRequest request, StageContext context) {
        calls.add(request);
        DecodeResponse.Builder r = DecodeResponse.newBuilder();
        for (int i = 0; i < request.getLatents().getShape(0); i++) r.addPngs(ByteString.copyFromUtf8("png-" + i));
        return r.build();
    }

    @Override
    public ListSchedulersResponse schedulers(StageContext context) {
        return ListSchedulersResponse.getDefaultInstance();
    }

    <T> List<T> callsOf(Class<T> type) {
        return calls.stream().filter(type::isInstance).map(type::cast).toList();
    }
}
