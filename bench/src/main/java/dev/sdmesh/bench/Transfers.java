package dev.sdmesh.bench;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Payload bytes one single-image request moves between processes. Each tensor crosses two hops because the
 * orchestrator sits in the middle: the embeddings text-encoder-svc → orchestrator → unet-svc, the final latents
 * unet-svc → orchestrator → vae-svc, the PNG vae-svc → orchestrator → S3. Float32 on the wire; protobuf framing and
 * the small Kafka events are left out.
 *
 * @param embeddingsBytes cond (and uncond with guidance) hidden states, {@code rows × sequence × hidden × 4}
 * @param latentsBytes    {@code latentChannels × h/8 × w/8 × 4}
 * @param pngBytes        the stored image as the mesh encoded it
 */
public record Transfers(long embeddingsBytes, long latentsBytes, long pngBytes) {
    private static final int FLOAT32 = 4;
    private static final int HOPS = 2;

    public static Transfers of(ModelGeometry g, RequestSpec request, long pngBytes) {
        long rows = request.guidance() ? 2 : 1;
        long embeddings = rows * g.sequenceLength() * g.hiddenSize() * FLOAT32;
        long latents = (long) g.latentChannels() * g.latentHeight(request.height()) * g.latentWidth(request.width()) * FLOAT32;
        return new Transfers(embeddings, latents, pngBytes);
    }

    @JsonProperty
    public long perRequestBytes() {
        return HOPS * (embeddingsBytes + latentsBytes + pngBytes);
    }
}
