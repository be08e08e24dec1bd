package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** {@code POST /v1/generations}, then polls {@code GET /v1/generations/{id}} and fetches the PNGs over HTTP. */
final class RestGenerationClient implements GenerationClient {
    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;

    RestGenerationClient(String base) {
        this.base = base;
    }

    @Override
    public JsonNode run(ObjectNode request, ProgressBar progress, Duration timeout) throws Exception {
        String body = GenerateCommand.JSON.writeValueAsString(request);
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/generations"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (accepted.statusCode() / 100 != 2) {
            throw new IllegalStateException("POST /v1/generations answered " + accepted.statusCode() + ": " + accepted.body());
        }
        String id = request.path("requestId").asText();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/generations/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode generation = GenerateCommand.JSON.readTree(status.body());
            JsonNode p = generation.path("progress");
            progress.update(p.path("step").asInt(generation.path("step").asInt()), p.path("total").asInt(generation.path("total").asInt()));
            switch (generation.path("status").asText()) {
                case "succeeded" -> {
                    return generation;
                }
                case "failed", "cancelled" -> throw new IllegalStateException(
                        "request " + id + " " + generation.path("status").asText() + ": " + GenerationClient.failureMessage(generation));
                default -> Thread.sleep(200);
            }
        }
        throw new java.util.concurrent.TimeoutException("request " + id + " did not finish within " + timeout.toSeconds() + " s");
    }

    @Override
    public byte[] download(MeshState state, String requestId, JsonNode image) throws Exception {
        HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(URI.create(
                        base + "/v1/generations/" + requestId + "/images/" + image.path("index").asInt())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (png.statusCode() != 200) throw new IllegalStateException("image download answered " + png.statusCode());
        return png.body();
    }
}
