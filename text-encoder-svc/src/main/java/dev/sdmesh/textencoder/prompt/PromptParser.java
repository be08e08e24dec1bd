package dev.sdmesh.textencoder.prompt;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's prompt attention syntax ({@code parse_prompt_attention} in modules/prompt_parser.py):
 * {@code (text)} multiplies by 1.1, {@code [text]} divides by 1.1, {@code (text:1.3)} sets a factor, nesting
 * multiplies, brackets still open at the end close there, {@code \( \) \[ \] \\} are literal, and {@code BREAK}
 * becomes a chunk separator. Adjacent runs of equal weight are merged.
 */
public final class PromptParser {
    /** A1111's alternatives in its order; Python's {@code re} \s and \d are Unicode-aware, hence the flag. */
    private static final Pattern RE_ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern RE_BREAK = Pattern.compile("\\s*\\bBREAK\\b\\s*",
            Pattern.DOTALL | Pattern.UNICODE_CHARACTER_CLASS);
    private static final double ROUND_BRACKET_MULTIPLIER = 1.1;
    private static final double SQUARE_BRACKET_MULTIPLIER = 1 / 1.1;

    /**
     * One run of text with its attention weight. A chunk separator is A1111's {@code ["BREAK", -1]}; like A1111,
     * a BREAK inside brackets gets its weight multiplied and is then no longer a separator.
     */
    public record Run(String text, double weight) {
        static final double BREAK_WEIGHT = -1;

        public boolean isBreak() {
            return weight == BREAK_WEIGHT && text.equals("BREAK");
        }
    }

    private PromptParser() {
    }

    /**
     * The weighted runs of {@code prompt}; never empty ({@code ""} gives one run {@code ("", 1.0)}).
     *
     * @throws IllegalArgumentException for a weight such as {@code (a:1.2.3)} that Python's float() rejects
     */
    public static List<Run> parse(String prompt) {
        List<String> texts = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        List<Integer> roundBrackets = new ArrayList<>();
        List<Integer> squareBrackets = new ArrayList<>();

        Matcher m = RE_ATTENTION.matcher(prompt);
        while (m.find()) {
            String text = m.group();
            String weight = m.group(1);
            if (text.startsWith("\\")) {
                texts.add(text.substring(1));
                weights.add(1.0);
            } else if (text.equals("(")) {
                roundBrackets.add(texts.size());
            } else if (text.equals("[")) {
                squareBrackets.add(texts.size());
            } else if (weight != null && !roundBrackets.isEmpty()) {
                multiplyRange(weights, pop(roundBrackets), parseWeight(weight, prompt));
            } else if (text.equals(")") && !roundBrackets.isEmpty()) {
                multiplyRange(weights, pop(roundBrackets), ROUND_BRACKET_MULTIPLIER);
            } else if (text.equals("]") && !squareBrackets.isEmpty()) {
                multiplyRange(weights, pop(squareBrackets), SQUARE_BRACKET_MULTIPLIER);
            } else {
                String[] parts = RE_BREAK.split(text, -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        texts.add("BREAK");
                        weights.add(Run.BREAK_WEIGHT);
                    }
                    texts.add(parts[i]);
                    weights.add(1.0);
                }
            }
        }
        for (int pos : roundBrackets) multiplyRange(weights, pos, ROUND_BRACKET_MULTIPLIER);
        for (int pos : squareBrackets) multiplyRange(weights, pos, SQUARE_BRACKET_MULTIPLIER);

        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            int last = runs.size() - 1;
            if (last >= 0 && runs.get(last).weight() == weights.get(i)) {
                runs.set(last, new Run(runs.get(last).text() + texts.get(i), weights.get(i)));
            } else {
                runs.add(new Run(texts.get(i), weights.get(i)));
            }
        }
        if (runs.isEmpty()) runs.add(new Run("", 1.0));
        return runs;
    }

    private static int pop(List<Integer> stack) {
        return stack.remove(stack.size() - 1);
    }

    private static void multiplyRange(List<Double> weights, int start, double multiplier) {
        for (int p = start; p < weights.size(); p++) weights.set(p, weights.get(p) * multiplier);
    }

    private static double parseWeight(String weight, String prompt) {
        StringBuilder ascii = new StringBuilder(weight.length());
        // Python's float() accepts any Unicode decimal digit, Java's parser only ASCII ones.
        weight.codePoints().forEach(c -> ascii.append(Character.isDigit(c) ? (char) ('0' + Character.digit(c, 10)) : (char) c));
        try {
            return Double.parseDouble(ascii.toString());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid attention weight '" + weight + "' in prompt: " + prompt, e);
        }
    }
}
