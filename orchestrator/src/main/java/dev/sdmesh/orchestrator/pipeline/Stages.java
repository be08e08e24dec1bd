package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiseResult;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.ListSchedulersResponse;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;

import java.util.function.Consumer;

/**
 * The three stage services as the pipeline sees them (text-encoder-svc, unet-svc, vae-svc). Failures are gRPC
 * {@code StatusRuntimeException}s; replica choice, retries and deadlines are the implementation's business.
 */
public interface Stages {
    EncodeResponse encode(EncodeRequest request, StageContext context);

    TokenizeResponse tokenize(TokenizeRequest request, StageContext context);

    VaeEncodeResponse encodeImage(VaeEncodeRequest request, StageContext context);

    /** Runs the denoising loop, passing on its progress and preview events; returns the final latents. Stops when cancelled. */
    DenoiseResult denoise(DenoiseRequest request, StageContext context, Consumer<DenoiseEvent> updates);

    DecodeResponse decode(DecodeRequest request, StageContext context);

    ListSchedulersResponse schedulers(StageContext context);
}
