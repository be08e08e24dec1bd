package dev.sdmesh.vae.grpc;

import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.proto.v1.VaeGrpc;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.vae.service.DecodeService;
import dev.sdmesh.vae.service.EncodeService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.function.Supplier;

/** gRPC adapter of the VAE: runs the use cases on a worker thread and maps their errors to statuses. */
@GrpcService
public class VaeGrpcService extends VaeGrpc.VaeImplBase {
    private static final Logger LOG = Logger.getLogger(VaeGrpcService.class);

    @Inject
    DecodeService decodeService;
    @Inject
    EncodeService encodeService;

    @Override
    @Blocking
    public void decode(DecodeRequest request, StreamObserver<DecodeResponse> observer) {
        respond(request.getRequestId(), observer, () -> decodeService.decode(request));
    }

    @Override
    @Blocking
    public void encode(VaeEncodeRequest request, StreamObserver<VaeEncodeResponse> observer) {
        respond(request.getRequestId(), observer, () -> encodeService.encode(request));
    }

    private static <T> void respond(String requestId, StreamObserver<T> observer, Supplier<T> call) {
        T response;
        try {
            response = call.get();
        } catch (RuntimeException e) {
            StatusRuntimeException status = GrpcErrors.toStatus(e);
            // Bad input and unknown models are the caller's to fix; anything else is ours to look at.
            if (status.getStatus().getCode() == Status.Code.INTERNAL) LOG.warnf(e, "request %s failed", requestId);
            observer.onError(status);
            return;
        }
        observer.onNext(response);
        observer.onCompleted();
    }
}
