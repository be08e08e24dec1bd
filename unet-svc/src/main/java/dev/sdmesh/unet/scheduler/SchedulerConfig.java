package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;

/**
 * A diffusers scheduler config ({@code scheduler_config.json} plus per-request overrides): the same keys and JSON
 * values diffusers uses, read with each scheduler's own defaults. Immutable.
 */
public final class SchedulerConfig {
    /** diffusers writes -Infinity (lambda_min_clipped) into configs: accept Python's non-numeric numbers. */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private final ObjectNode values;

    private SchedulerConfig(ObjectNode values) {
        this.values = values;
    }

    public static SchedulerConfig empty() {
        return new SchedulerConfig(JsonNodeFactory.instance.objectNode());
    }

    public static SchedulerConfig of(JsonNode json) {
        return new SchedulerConfig(json == null ? JsonNodeFactory.instance.objectNode() : json.deepCopy());
    }

    /** Parses a JSON object text. */
    public static SchedulerConfig parse(String json) {
        try {
            return of(JSON.readTree(json));
        } catch (Exception e) {
            throw new IllegalArgumentException("scheduler config is not a JSON object: " + e.getMessage(), e);
        }
    }

    /**
     * Returns a copy with the given overrides; each value is a JSON literal ({@code true}, {@code 2}, {@code "trailing"})
     * or, when it does not parse as JSON, a plain string ({@code trailing}).
     */
    public SchedulerConfig withOverrides(Map<String, String> overrides) {
        ObjectNode copy = values.deepCopy();
        overrides.forEach((key, text) -> copy.set(key, parseLiteral(text)));
        return new SchedulerConfig(copy);
    }

    public SchedulerConfig with(String key, Object value) {
        ObjectNode copy = values.deepCopy();
        copy.set(key, JSON.valueToTree(value));
        return new SchedulerConfig(copy);
    }

    private static JsonNode parseLiteral(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception notJson) {
            return JsonNodeFactory.instance.textNode(text);
        }
    }

    public boolean has(String key) {
        JsonNode v = values.get(key);
        return v != null && !v.isNull();
    }

    public Iterable<String> keys() {
        return values::fieldNames;
    }

    public JsonNode raw(String key) {
        return values.get(key);
    }

    public double getDouble(String key, double defaultValue) {
        return has(key) ? values.get(key).asDouble() : defaultValue;
    }

    public int getInt(String key, int defaultValue) {
        return has(key) ? values.get(key).asInt() : defaultValue;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        return has(key) ? values.get(key).asBoolean() : defaultValue;
    }

    public String getString(String key, String defaultValue) {
        return has(key) ? values.get(key).asText() : defaultValue;
    }

    /** {@code trained_betas} as doubles, or null. */
    public double[] getDoubleArray(String key) {
        if (!has(key)) return null;
        JsonNode array = values.get(key);
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }

    public ObjectNode toJson() {
        return values.deepCopy();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
