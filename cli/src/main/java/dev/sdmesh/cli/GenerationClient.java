package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;

import java.time.Duration;

/** One way into the mesh: publishes a request and follows it to its terminal event. */
interface GenerationClient extends AutoCloseable {

    /**
     * Sends the request and blocks until it ends.
     *
     * @return the {@code completed} event (with {@code images}); a failure or cancellation throws
     */
    JsonNode run(ObjectNode request, ProgressBar progress, Duration timeout) throws Exception;

    /** The PNG of one image of a completed event; by default read from the storage key. */
    default byte[] download(MeshState state, String requestId, JsonNode image) throws Exception {
        MinioClient s3 = MinioClient.builder().endpoint(state.s3)
                .credentials(MeshLayout.S3_ACCESS_KEY, MeshLayout.S3_SECRET_KEY).build();
        try (var in = s3.getObject(GetObjectArgs.builder().bucket(MeshLayout.BUCKET).object(image.path("key").asText()).build())) {
            return in.readAllBytes();
        }
    }

    @Override
    default void close() throws Exception {
    }

    /** The message of a {@code failed} event, whichever way the orchestrator nests it. */
    static String failureMessage(JsonNode event) {
        JsonNode error = event.has("error") ? event.get("error") : event;
        String field = error.path("field").asText("");
        return error.path("code").asText("FAILED") + ": " + error.path("message").asText(event.toString())
                + (field.isEmpty() ? "" : " (field " + field + ")");
    }
}
