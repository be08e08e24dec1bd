package dev.sdmesh.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The request one benchmark configuration sends: one image of {@code model} at {@code width×height} with
 * {@code steps} steps of DDIM, which makes exactly one UNet call per step as the floor counts them (the SD default,
 * PNDM, makes steps + 1).
 *
 * @param guidanceScale CFG scale; above 1 the UNet runs cond and uncond rows together (diffusers' rule)
 */
public record RequestSpec(String model, int width, int height, int steps, double guidanceScale) {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "a photograph of an astronaut riding a horse";
    static final String SCHEDULER = "DDIMScheduler";

    public boolean guidance() {
        return guidanceScale > 1;
    }

    /** The request document for {@code sdmesh.generation.requests}. */
    public ObjectNode toRequest(String requestId, long seed) {
        ObjectNode request = JSON.createObjectNode();
        request.put("requestId", requestId);
        request.put("prompt", PROMPT);
        request.put("model", model);
        request.put("width", width);
        request.put("height", height);
        request.put("steps", steps);
        request.put("scheduler", SCHEDULER);
        request.put("guidanceScale", guidanceScale);
        request.put("seed", seed);
        return request;
    }

    public String label() {
        return model + " " + width + "x" + height + " / " + steps + " steps";
    }
}
