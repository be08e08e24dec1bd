package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.proto.v1.GenerationEvent;
import dev.sdmesh.proto.v1.GenerationRequest;
import dev.sdmesh.proto.v1.ImageGenerationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/** {@code sdmesh.v1.ImageGeneration/GenerateStream}; the images are read from storage by key. */
final class GrpcGenerationClient implements GenerationClient {
    private final ManagedChannel channel;

    GrpcGenerationClient(String target) {
        channel = ManagedChannelBuilder.forTarget(target).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    @Override
    public JsonNode run(ObjectNode request, ProgressBar progress, Duration timeout) throws Exception {
        GenerationRequest.Builder proto = GenerationRequest.newBuilder()
                .setRequestId(request.path("requestId").asText())
                .setPrompt(request.path("prompt").asText());
        if (request.has("negativePrompt")) proto.setNegativePrompt(request.get("negativePrompt").asText());
        if (request.has("seed")) proto.setSeed(request.get("seed").bigIntegerValue().longValue());
        if (request.has("steps")) proto.setSteps(request.get("steps").asInt());
        if (request.has("scheduler")) proto.setScheduler(request.get("scheduler").asText());
        if (request.has("model")) proto.setModel(request.get("model").asText());
        if (request.has("guidanceScale")) proto.setGuidanceScale((float) request.get("guidanceScale").asDouble());
        if (request.has("batchSize")) proto.setBatchSize(request.get("batchSize").asInt());
        if (request.has("width")) proto.setWidth(request.get("width").asInt());
        if (request.has("height")) proto.setHeight(request.get("height").asInt());
        Iterator<GenerationEvent> events = ImageGenerationGrpc.newBlockingStub(channel)
                .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .generateStream(proto.build());
        while (events.hasNext()) {
            GenerationEvent event = events.next();
            JsonNode json = GenerateCommand.JSON.readTree(event.getJson().isEmpty() ? "{}" : event.getJson());
            switch (event.getType()) {
                case "progress" -> progress.update(event.getGeneration().getStep(), event.getGeneration().getTotal());
                case "completed" -> {
                    return json.has("images") ? json : imagesOf(event);
                }
                case "failed", "cancelled" -> throw new IllegalStateException("request " + request.path("requestId").asText()
                        + " " + event.getType() + ": " + event.getGeneration().getErrorMessage());
                default -> {
                    // accepted: nothing to show
                }
            }
        }
        throw new IllegalStateException("the stream ended without a terminal event");
    }

    private static JsonNode imagesOf(GenerationEvent event) {
        ObjectNode node = GenerateCommand.JSON.createObjectNode();
        var images = node.putArray("images");
        event.getGeneration().getImagesList().forEach(i -> images.addObject().put("index", i.getIndex()).put("key", i.getKey()));
        return node;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
