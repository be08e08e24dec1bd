package dev.sdmesh.orchestrator.pipeline;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * AUTOMATIC1111's "infotext" (the PNG {@code parameters} text), built as {@code processing.create_infotext} does:
 * prompt, an optional {@code Negative prompt:} line, then {@code key: value} pairs in A1111's order joined by ", ",
 * values quoted as JSON when they contain ',', ':' or a newline. Written here because the runtime module's infotext
 * builder did not exist when the orchestrator was written.
 */
public final class Infotext {
    private Infotext() {
    }

    /**
     * @param sampler  A1111 sampler name, or the diffusers scheduler class when the request named one
     * @param strength img2img denoising strength, null for txt2img
     * @param clipSkip A1111 "Clip skip" (shown only when above 1, as A1111 does)
     */
    public static String build(String prompt, String negativePrompt, int steps, String sampler, double cfgScale,
                               String seed, int width, int height, String model, Double strength, int clipSkip) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("Steps", Integer.toString(steps));
        params.put("Sampler", sampler);
        params.put("CFG scale", pythonFloat(cfgScale));
        params.put("Seed", seed);
        params.put("Size", width + "x" + height);
        params.put("Model", model);
        params.put("Denoising strength", strength == null ? null : pythonFloat(strength));
        params.put("Clip skip", clipSkip > 1 ? Integer.toString(clipSkip) : null);
        String paramsText = params.entrySet().stream()
                .filter(e -> e.getValue() != null && !e.getValue().isEmpty())
                .map(e -> e.getKey() + ": " + quote(e.getValue()))
                .collect(Collectors.joining(", "));
        String negative = negativePrompt == null || negativePrompt.isEmpty() ? "" : "\nNegative prompt: " + negativePrompt;
        return (nullToEmpty(prompt) + negative + "\n" + paramsText).strip();
    }

    /** Python's {@code str(float)} for the values A1111 prints (7.0, 7.5, 0.75). */
    static String pythonFloat(double value) {
        return Double.toString(value);
    }

    /** A1111's {@code quote}: JSON string when the value would break the comma/colon list. */
    static String quote(String text) {
        if (text.indexOf(',') < 0 && text.indexOf('\n') < 0 && text.indexOf(':') < 0) return text;
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        return out.append('"').toString();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
