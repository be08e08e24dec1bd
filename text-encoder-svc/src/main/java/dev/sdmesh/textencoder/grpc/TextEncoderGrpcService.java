package dev.sdmesh.textencoder.grpc;

import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.TextEncoderGrpc;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.textencoder.pipeline.PromptEncoder;
import dev.sdmesh.textencoder.service.TextEncoderModels;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.concurrent.CompletableFuture;

/** gRPC adapter of the text encoder: checks the request, hands it to the model's batcher, answers when it has run. */
@GrpcService
public class TextEncoderGrpcService extends TextEncoderGrpc.TextEncoderImplBase {
    private static final Logger LOG = Logger.getLogger(TextEncoderGrpcService.class);

    @Inject
    TextEncoderModels models;
    @Inject
    EncodeRequestMapper mapper;

    // Blocking: the first request for a model loads it, and limits are checked by tokenizing.
    @Override
    @Blocking
    public void encode(EncodeRequest request, StreamObserver<EncodeResponse> observer) {
        TextEncoderModels.Loaded model;
        CompletableFuture<PromptEncoder.Encoded> result;
        try {
            model = models.get(request.getModel());
            result = model.batcher().submit(mapper.toRequest(request, model));
        } catch (RuntimeException e) {
            observer.onError(GrpcErrors.toStatus(e));
            return;
        }
        int rowLength = model.tokenizer().maxLength();
        result.whenComplete((encoded, error) -> {
            // A client that cancelled or ran past its deadline is gone; answering it would throw.
            if (((ServerCallStreamObserver<EncodeResponse>) observer).isCancelled()) return;
            if (error != null) {
                LOG.debugf("request %s failed: %s", request.getRequestId(), error.getMessage());
                observer.onError(GrpcErrors.toStatus(error));
                return;
            }
            observer.onNext(EncodeRequestMapper.toResponse(encoded, rowLength));
            observer.onCompleted();
        });
    }

    @Override
    @Blocking
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> observer) {
        TokenizeResponse response;
        try {
            response = mapper.tokenize(request, models.get(request.getModel()));
        } catch (RuntimeException e) {
            observer.onError(GrpcErrors.toStatus(e));
            return;
        }
        observer.onNext(response);
        observer.onCompleted();
    }
}
