package dev.sdmesh.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** One connection to the running mesh's front door; used by one thread at a time. */
public interface MeshClient extends AutoCloseable {

    /** Publishes the request and blocks until its {@code completed} event, which it returns; a failure throws. */
    JsonNode generate(ObjectNode request) throws Exception;

    /** Size of the first stored image of a completed event. */
    long firstImageBytes(JsonNode completed) throws Exception;

    /** Opens a client; the mesh benchmark opens one per concurrent worker. */
    @FunctionalInterface
    interface Factory {
        MeshClient open() throws Exception;
    }
}
