package dev.sdmesh.runtime.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's "infotext", the {@code parameters} text of its PNGs: the prompt, a {@code Negative prompt: …} line
 * when there is one, then {@code Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 1,
 * Size: 64x64, Model: tiny}. Values holding a comma, colon or newline are JSON-quoted, as A1111's
 * {@code infotext_utils.quote}; {@link #parse} follows its {@code parse_generation_parameters}.
 */
public final class Infotext {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A1111's {@code re_param}: {@code key: value} or {@code key: "quoted, value"}, comma-separated. */
    private static final Pattern PARAM = Pattern.compile("\\s*(\\w[\\w \\-/]+):\\s*(\"(?:\\\\.|[^\\\\\"])+\"|[^,]*)(?:,|$)",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern IMAGE_SIZE = Pattern.compile("^(\\d+)x(\\d+)$");
    private static final String NEGATIVE = "Negative prompt:";

    private Infotext() {
    }

    /**
     * The settings an image was made with.
     *
     * @param negativePrompt    "" for none
     * @param scheduleType      A1111's "Schedule type" (e.g. Karras); null to omit
     * @param model             null to omit
     * @param denoisingStrength img2img/inpaint strength; null to omit
     * @param extra             further {@code key: value} pairs, written after the others in their order
     */
    public record Settings(String prompt, String negativePrompt, int steps, String sampler, String scheduleType,
                           double cfgScale, long seed, int width, int height, String model, Double denoisingStrength,
                           Map<String, String> extra) {
        public Settings {
            prompt = prompt == null ? "" : prompt;
            negativePrompt = negativePrompt == null ? "" : negativePrompt;
            extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        }

        /** The {@code key: value} pairs in A1111's order. */
        public Map<String, String> parameters() {
            Map<String, String> out = new LinkedHashMap<>();
            out.put("Steps", Integer.toString(steps));
            out.put("Sampler", sampler);
            if (scheduleType != null) out.put("Schedule type", scheduleType);
            out.put("CFG scale", number(cfgScale));
            out.put("Seed", Long.toString(seed));
            out.put("Size", width + "x" + height);
            if (model != null) out.put("Model", model);
            if (denoisingStrength != null) out.put("Denoising strength", number(denoisingStrength));
            out.putAll(extra);
            return out;
        }
    }

    /** A1111's {@code create_infotext} text for these settings. */
    public static String format(Settings settings) {
        StringBuilder params = new StringBuilder();
        settings.parameters().forEach((key, value) -> {
            if (value == null) return;
            if (!params.isEmpty()) params.append(", ");
            params.append(key.equals(value) ? key : key + ": " + quote(value));
        });
        String negative = settings.negativePrompt().isEmpty() ? "" : "\n" + NEGATIVE + " " + settings.negativePrompt();
        return (settings.prompt() + negative + "\n" + params).strip();
    }

    /** A1111's {@code quote}: JSON string syntax when the value holds a comma, newline or colon. */
    public static String quote(String value) {
        if (value.indexOf(',') < 0 && value.indexOf('\n') < 0 && value.indexOf(':') < 0) return value;
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A1111's {@code unquote}: a JSON string literal is decoded, anything else returned as it is. */
    public static String unquote(String text) {
        if (text.length() < 2 || text.charAt(0) != '"' || text.charAt(text.length() - 1) != '"') return text;
        try {
            return JSON.readValue(text, String.class);
        } catch (JsonProcessingException e) {
            return text;
        }
    }

    /**
     * The basics of A1111's {@code parse_generation_parameters}: {@code Prompt}, {@code Negative prompt}, and each
     * {@code key: value} of the last line (when it has at least three), with {@code WxH} values split into
     * {@code key-1} and {@code key-2}.
     */
    public static Map<String, String> parseParameters(String text) {
        String[] lines = text.strip().split("\n", -1);
        String last = lines[lines.length - 1];
        int promptLines = lines.length - 1;
        if (count(last) < 3) {
            promptLines = lines.length;
            last = "";
        }
        StringBuilder prompt = new StringBuilder(), negative = new StringBuilder();
        boolean doneWithPrompt = false;
        for (int i = 0; i < promptLines; i++) {
            String line = lines[i].strip();
            if (line.startsWith(NEGATIVE)) {
                doneWithPrompt = true;
                line = line.substring(NEGATIVE.length()).strip();
            }
            StringBuilder into = doneWithPrompt ? negative : prompt;
            if (!into.isEmpty()) into.append('\n');
            into.append(line);
        }
        Map<String, String> result = new LinkedHashMap<>();
        result.put("Prompt", prompt.toString());
        result.put("Negative prompt", negative.toString());
        Matcher m = PARAM.matcher(last);
        while (m.find()) {
            String key = m.group(1), value = unquote(m.group(2));
            Matcher size = IMAGE_SIZE.matcher(value);
            if (size.matches()) {
                result.put(key + "-1", size.group(1));
                result.put(key + "-2", size.group(2));
            } else {
                result.put(key, value);
            }
        }
        return result;
    }

    /** Parses infotext written by {@link #format} (or by A1111) back into settings; other keys land in {@code extra}. */
    public static Settings parse(String text) {
        Map<String, String> p = new LinkedHashMap<>(parseParameters(text));
        try {
            String prompt = p.remove("Prompt"), negative = p.remove("Negative prompt");
            int steps = Integer.parseInt(required(p, "Steps"));
            String sampler = required(p, "Sampler"), scheduleType = p.remove("Schedule type");
            double cfgScale = Double.parseDouble(required(p, "CFG scale"));
            long seed = Long.parseLong(required(p, "Seed"));
            int width = Integer.parseInt(required(p, "Size-1")), height = Integer.parseInt(required(p, "Size-2"));
            String model = p.remove("Model"), denoising = p.remove("Denoising strength");
            return new Settings(prompt, negative, steps, sampler, scheduleType, cfgScale, seed, width, height, model,
                    denoising == null ? null : Double.valueOf(denoising), p);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("infotext has a malformed number: " + e.getMessage(), e);
        }
    }

    private static String required(Map<String, String> params, String key) {
        String value = params.remove(key);
        if (value == null) throw new IllegalArgumentException("infotext has no '" + key + "'");
        return value;
    }

    private static int count(String line) {
        Matcher m = PARAM.matcher(line);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    /** Python's {@code str} of a float the way A1111's UI values print: 7 for 7.0, 7.5, 0.75. */
    private static String number(double value) {
        if (value == Math.rint(value) && Math.abs(value) < 1e15) return Long.toString((long) value);
        return Double.toString(value);
    }
}
