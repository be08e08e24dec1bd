package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Validates a generation request JSON against the rules of {@code generation-request.schema.json} (the same rules,
 * written once here for the Kafka, REST and gRPC entries) and the stages' limits. Every error is an
 * {@link InvalidFieldException} naming the field and the limit it broke.
 */
public final class RequestParser {
    /** Safe as a storage key segment and a Kafka key. */
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]*");
    private static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** Best-effort requestId of a record that is not valid JSON, so that its failure can still be reported. */
    private static final Pattern RAW_REQUEST_ID = Pattern.compile("\"requestId\"\\s*:\\s*\"([^\"\\\\]{1,128})\"");
    private static final BigInteger MAX_U64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    private static final Set<String> FIELDS = Set.of("requestId", "model", "prompt", "negativePrompt", "promptSyntax",
            "seed", "steps", "guidanceScale", "scheduler", "schedulerOptions", "width", "height", "batchSize", "clipSkip",
            "strength", "initImage", "mask", "previewEvery", "returnLatents", "priority", "metadata");

    private final ObjectMapper json;
    private final RequestLimits limits;

    public RequestParser(ObjectMapper json, RequestLimits limits) {
        this.json = json;
        this.limits = limits;
    }

    /** Parses raw record text; malformed JSON is an error on the field "" (the whole record). */
    public GenerationRequest parse(String text) {
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidFieldException("", "not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null) throw new InvalidFieldException("", "empty record");
        return parse(node);
    }

    public GenerationRequest parse(JsonNode node) {
        if (!node.isObject()) throw new InvalidFieldException("", "must be a JSON object");
        node.fieldNames().forEachRemaining(name -> {
            if (!FIELDS.contains(name)) throw new InvalidFieldException(name, "unknown field");
        });
        String requestId = string(node, "requestId", RequestLimits.MAX_REQUEST_ID_CHARS);
        if (requestId == null || requestId.isEmpty()) throw new InvalidFieldException("requestId", "is required");
        if (!REQUEST_ID.matcher(requestId).matches()) {
            throw new InvalidFieldException("requestId", "must match " + REQUEST_ID.pattern());
        }
        String model = string(node, "model", 128);
        if (model != null && !model.isEmpty() && !MODEL_ID.matcher(model).matches()) {
            throw new InvalidFieldException("model", "must be a model folder name matching " + MODEL_ID.pattern());
        }
        String syntax = string(node, "promptSyntax", 16);
        if (syntax != null && !syntax.equals(GenerationRequest.SYNTAX_A1111) && !syntax.equals(GenerationRequest.SYNTAX_NONE)) {
            throw new InvalidFieldException("promptSyntax", "must be \"a1111\" or \"none\"");
        }
        Double guidance = number(node, "guidanceScale", 0, RequestLimits.MAX_GUIDANCE, false);
        Double strength = number(node, "strength", 0, 1, true);
        String initImage = string(node, "initImage", Integer.MAX_VALUE);
        String mask = string(node, "mask", Integer.MAX_VALUE);
        if (mask != null && !mask.isEmpty() && (initImage == null || initImage.isEmpty())) {
            throw new InvalidFieldException("mask", "needs initImage (inpainting repaints an init image)");
        }
        if (strength != null && (initImage == null || initImage.isEmpty())) {
            throw new InvalidFieldException("strength", "needs initImage (strength applies to img2img and inpaint)");
        }
        return new GenerationRequest(
                requestId,
                model == null || model.isEmpty() ? null : model,
                string(node, "prompt", RequestLimits.MAX_PROMPT_CHARS),
                string(node, "negativePrompt", RequestLimits.MAX_PROMPT_CHARS),
                syntax,
                seed(node),
                integer(node, "steps", 1, RequestLimits.MAX_STEPS),
                guidance,
                emptyToNull(string(node, "scheduler", 64)),
                schedulerOptions(node),
                size(node, "width"),
                size(node, "height"),
                integer(node, "batchSize", 1, RequestLimits.MAX_BATCH),
                integer(node, "clipSkip", 0, RequestLimits.MAX_CLIP_SKIP),
                strength,
                emptyToNull(initImage),
                emptyToNull(mask),
                integer(node, "previewEvery", 0, RequestLimits.MAX_STEPS),
                bool(node, "returnLatents"),
                integer(node, "priority", Integer.MIN_VALUE, Integer.MAX_VALUE),
                metadata(node));
    }

    /** The requestId of a record that failed validation, if one can be read; null otherwise. */
    public String requestIdOf(String text) {
        try {
            JsonNode node = json.readTree(text);
            JsonNode id = node == null ? null : node.get("requestId");
            return id != null && id.isTextual() && validId(id.asText()) ? id.asText() : null;
        } catch (JsonProcessingException e) {
            Matcher m = RAW_REQUEST_ID.matcher(text);
            return m.find() && validId(m.group(1)) ? m.group(1) : null;
        }
    }

    private static boolean validId(String id) {
        return id.length() <= RequestLimits.MAX_REQUEST_ID_CHARS && REQUEST_ID.matcher(id).matches();
    }

    private Integer size(JsonNode node, String field) {
        Integer v = integer(node, field, RequestLimits.SIZE_MULTIPLE, limits.maxSize());
        if (v != null && v % RequestLimits.SIZE_MULTIPLE != 0) {
            throw new InvalidFieldException(field, "must be a multiple of " + RequestLimits.SIZE_MULTIPLE + ", got " + v);
        }
        return v;
    }

    private static JsonNode present(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    private static String string(JsonNode node, String field, int maxChars) {
        JsonNode v = present(node, field);
        if (v == null) return null;
        if (!v.isTextual()) throw new InvalidFieldException(field, "must be a string");
        String s = v.asText();
        if (s.length() > maxChars) throw new InvalidFieldException(field, "must be at most " + maxChars + " characters, got " + s.length());
        return s;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static Integer integer(JsonNode node, String field, long min, long max) {
        JsonNode v = present(node, field);
        if (v == null) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new InvalidFieldException(field, "must be an integer");
        long x = v.asLong();
        if (x < min || x > max) throw new InvalidFieldException(field, "must be in [" + min + ", " + max + "], got " + x);
        return (int) x;
    }

    /** A finite number in [min, max], or in (min, max] when {@code exclusiveMin}. */
    private static Double number(JsonNode node, String field, double min, double max, boolean exclusiveMin) {
        JsonNode v = present(node, field);
        if (v == null) return null;
        if (!v.isNumber()) throw new InvalidFieldException(field, "must be a number");
        double x = v.asDouble();
        boolean aboveMin = exclusiveMin ? x > min : x >= min;
        if (!Double.isFinite(x) || !aboveMin || x > max) {
            throw new InvalidFieldException(field, "must be a finite number in " + (exclusiveMin ? "(" : "[") + min + ", " + max + "], got " + v.asText());
        }
        return x;
    }

    private static Boolean bool(JsonNode node, String field) {
        JsonNode v = present(node, field);
        if (v == null) return null;
        if (!v.isBoolean()) throw new InvalidFieldException(field, "must be a boolean");
        return v.asBoolean();
    }

    /** -1 (A1111's "random") and absence both mean a random seed. */
    private static Long seed(JsonNode node) {
        JsonNode v = present(node, "seed");
        if (v == null) return null;
        if (!v.isIntegralNumber()) throw new InvalidFieldException("seed", "must be an integer");
        BigInteger x = v.bigIntegerValue();
        if (x.equals(BigInteger.ONE.negate())) return null;
        if (x.signum() < 0 || x.compareTo(MAX_U64) > 0) {
            throw new InvalidFieldException("seed", "must be in [0, 18446744073709551615] or -1 for random, got " + x);
        }
        return x.longValue();
    }

    /** Values are sent to the UNet as JSON literals, so any JSON scalar is accepted and kept in its JSON form. */
    private static Map<String, String> schedulerOptions(JsonNode node) {
        JsonNode v = present(node, "schedulerOptions");
        if (v == null) return null;
        if (!v.isObject()) throw new InvalidFieldException("schedulerOptions", "must be an object");
        Map<String, String> out = new LinkedHashMap<>();
        v.fields().forEachRemaining(e -> {
            JsonNode value = e.getValue();
            if (!value.isValueNode() || value.isNull()) {
                throw new InvalidFieldException("schedulerOptions." + e.getKey(), "must be a string, number or boolean");
            }
            out.put(e.getKey(), value.toString());
        });
        return out;
    }

    private static Map<String, String> metadata(JsonNode node) {
        JsonNode v = present(node, "metadata");
        if (v == null) return null;
        if (!v.isObject()) throw new InvalidFieldException("metadata", "must be an object of strings");
        if (v.size() > RequestLimits.MAX_METADATA_ENTRIES) {
            throw new InvalidFieldException("metadata", "must have at most " + RequestLimits.MAX_METADATA_ENTRIES + " entries");
        }
        Map<String, String> out = new LinkedHashMap<>();
        v.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) throw new InvalidFieldException("metadata." + e.getKey(), "must be a string");
            out.put(e.getKey(), e.getValue().asText());
        });
        return out;
    }
}
