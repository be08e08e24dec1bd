package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.util.Map;

/**
 * AUTOMATIC1111 web-UI API bodies ({@code /sdapi/v1/txt2img}, {@code /img2img}) mapped to generation requests, with
 * A1111's field names and its API defaults ({@code StableDiffusionProcessing}: steps 50, cfg_scale 7.0, 512x512,
 * seed -1, batch_size 1, n_iter 1, sampler "Euler", img2img denoising_strength 0.75). Fields A1111 has and the mesh
 * does not (restore_faces, hires fix, scripts...) are accepted and ignored, as existing clients send them.
 */
public final class A1111Mapping {
    public static final int DEFAULT_STEPS = 50;
    public static final double DEFAULT_CFG_SCALE = 7.0;
    public static final int DEFAULT_SIZE = 512;
    public static final String DEFAULT_SAMPLER = "Euler";
    public static final double DEFAULT_DENOISING_STRENGTH = 0.75;

    /** Our request field → the A1111 field it came from, to name A1111's field in errors. */
    private static final Map<String, String> A1111_FIELDS = Map.ofEntries(
            Map.entry("prompt", "prompt"),
            Map.entry("negativePrompt", "negative_prompt"),
            Map.entry("seed", "seed"),
            Map.entry("scheduler", "sampler_name"),
            Map.entry("steps", "steps"),
            Map.entry("guidanceScale", "cfg_scale"),
            Map.entry("width", "width"),
            Map.entry("height", "height"),
            Map.entry("batchSize", "batch_size"),
            Map.entry("strength", "denoising_strength"),
            Map.entry("initImage", "init_images"),
            Map.entry("mask", "mask"),
            Map.entry("clipSkip", "override_settings.CLIP_stop_at_last_layers"),
            Map.entry("model", "override_settings.sd_model_checkpoint"));

    private final ObjectMapper json;

    public A1111Mapping(ObjectMapper json) {
        this.json = json;
    }

    /** A1111's {@code parameters} echo: the body with A1111's defaults filled in for the fields the mesh uses. */
    public ObjectNode parameters(JsonNode body, boolean img2img) {
        ObjectNode p = body != null && body.isObject() ? body.deepCopy() : json.createObjectNode();
        putIfAbsent(p, "prompt", "");
        putIfAbsent(p, "negative_prompt", "");
        if (!p.hasNonNull("seed")) p.put("seed", -1);
        if (!p.hasNonNull("sampler_name")) {
            p.put("sampler_name", p.hasNonNull("sampler_index") ? p.get("sampler_index").asText() : DEFAULT_SAMPLER);
        }
        if (!p.hasNonNull("batch_size")) p.put("batch_size", 1);
        if (!p.hasNonNull("n_iter")) p.put("n_iter", 1);
        if (!p.hasNonNull("steps")) p.put("steps", DEFAULT_STEPS);
        if (!p.hasNonNull("cfg_scale")) p.put("cfg_scale", DEFAULT_CFG_SCALE);
        if (!p.hasNonNull("width")) p.put("width", DEFAULT_SIZE);
        if (!p.hasNonNull("height")) p.put("height", DEFAULT_SIZE);
        if (img2img && !p.hasNonNull("denoising_strength")) p.put("denoising_strength", DEFAULT_DENOISING_STRENGTH);
        return p;
    }

    /**
     * The generation request for an A1111 body (already through {@link #parameters}). n_iter batches are folded into
     * one batch of batch_size * n_iter images.
     */
    public ObjectNode toRequest(ObjectNode p, boolean img2img, String requestId) {
        ObjectNode r = json.createObjectNode();
        r.put("requestId", requestId);
        r.set("prompt", p.get("prompt"));
        r.set("negativePrompt", p.get("negative_prompt"));
        r.set("seed", p.get("seed"));
        r.set("scheduler", p.get("sampler_name"));
        r.set("steps", p.get("steps"));
        r.set("guidanceScale", p.get("cfg_scale"));
        r.set("width", p.get("width"));
        r.set("height", p.get("height"));
        JsonNode batch = p.get("batch_size");
        JsonNode iterations = p.get("n_iter");
        if (!iterations.isIntegralNumber() || iterations.asLong() < 1) throw new InvalidFieldException("n_iter", "must be an integer >= 1");
        r.set("batchSize", iterations.asInt() == 1 || !batch.isIntegralNumber() ? batch
                : json.getNodeFactory().numberNode(batch.asLong() * iterations.asLong()));
        JsonNode overrides = p.path("override_settings");
        if (overrides.hasNonNull("CLIP_stop_at_last_layers")) r.set("clipSkip", overrides.get("CLIP_stop_at_last_layers"));
        if (overrides.hasNonNull("sd_model_checkpoint")) {
            // A1111 titles look like "name.safetensors [hash]"; the mesh's model id is the folder name.
            String title = overrides.get("sd_model_checkpoint").asText();
            r.put("model", title.replaceFirst("\\s*\\[[0-9a-fA-F]*]$", "").replaceFirst("\\.(safetensors|ckpt)$", ""));
        }
        if (img2img) {
            JsonNode images = p.path("init_images");
            if (!images.isArray() || images.isEmpty()) throw new InvalidFieldException("init_images", "must hold one base64 image");
            r.set("initImage", images.get(0));
            r.set("strength", p.get("denoising_strength"));
            if (p.hasNonNull("mask")) r.set("mask", p.get("mask"));
        }
        return r;
    }

    /** Re-labels an error on our field with the A1111 field it came from. */
    public static InvalidFieldException inA1111Terms(InvalidFieldException e) {
        String field = A1111_FIELDS.getOrDefault(e.field(), e.field());
        return new InvalidFieldException(field, e.description());
    }

    private static void putIfAbsent(ObjectNode node, String field, String value) {
        if (!node.hasNonNull(field)) node.put(field, value);
    }
}
