package dev.sdmesh.textencoder.prompt;

import dev.sdmesh.textencoder.prompt.PromptParser.Run;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of A1111's {@code parse_prompt_attention} docstring, plus escapes, BREAK and bad input. */
class PromptParserTest {
    private static final double UP = 1.1;
    private static final double DOWN = 1 / 1.1;

    @Test
    void a1111DocstringTable() {
        assertEquals(List.of(new Run("normal text", 1.0)), PromptParser.parse("normal text"));
        assertEquals(List.of(new Run("an ", 1.0), new Run("important", UP), new Run(" word", 1.0)),
                PromptParser.parse("an (important) word"));
        assertEquals(List.of(new Run("unbalanced", UP)), PromptParser.parse("(unbalanced"));
        assertEquals(List.of(new Run("(literal]", 1.0)), PromptParser.parse("\\(literal\\]"));
        assertEquals(List.of(new Run("unnecessaryparens", UP)), PromptParser.parse("(unnecessary)(parens)"));
        assertEquals(List.of(
                        new Run("a ", 1.0),
                        new Run("house", 1.3 * UP * UP),
                        new Run(" ", UP),
                        new Run("on", UP * DOWN),
                        new Run(" a ", UP),
                        new Run("hill", 0.5 * UP),
                        new Run(", sun, ", UP),
                        new Run("sky", UP * UP * UP * UP),
                        new Run(".", UP)),
                PromptParser.parse("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."));
    }

    @Test
    void nestingMultipliesAndSquareBracketsDivide() {
        assertEquals(List.of(new Run("x", UP * UP)), PromptParser.parse("((x))"));
        assertEquals(List.of(new Run("x", DOWN * DOWN)), PromptParser.parse("[[x]]"));
        assertEquals(List.of(new Run("a", 1.5 * 0.5)), PromptParser.parse("((a:1.5):0.5)"));
        assertEquals(List.of(new Run("a ", 1.0), new Run("b", 1.3), new Run(" c", 1.0)), PromptParser.parse("a (b: 1.3 ) c"));
        assertEquals(List.of(new Run("open", DOWN)), PromptParser.parse("[open"));
    }

    @Test
    void escapesAndStrayCharactersAreText() {
        assertEquals(List.of(new Run("a\\b", 1.0)), PromptParser.parse("a\\\\b"));
        assertEquals(List.of(new Run("(x)", 1.0)), PromptParser.parse("\\(x\\)"));
        assertEquals(List.of(new Run("[y]", 1.0)), PromptParser.parse("\\[y\\]"));
        assertEquals(List.of(new Run("a:b c)", 1.0)), PromptParser.parse("a:b c)"));
        assertEquals(List.of(new Run("x:1.2)", 1.0)), PromptParser.parse("x:1.2)"));
    }

    @Test
    void emptyPromptIsOneEmptyRun() {
        assertEquals(List.of(new Run("", 1.0)), PromptParser.parse(""));
        assertEquals(List.of(new Run("", 1.0)), PromptParser.parse("()"));
    }

    @Test
    void breakSeparatesChunksOnlyAsAWholeWordOutsideBrackets() {
        List<Run> runs = PromptParser.parse("a cat BREAK a dog");
        assertEquals(List.of("a cat", "BREAK", "a dog"), runs.stream().map(Run::text).toList());
        assertTrue(runs.get(1).isBreak());
        assertEquals(List.of(new Run("aBREAKb", 1.0)), PromptParser.parse("aBREAKb"));
        assertFalse(PromptParser.parse("(x BREAK y)").stream().anyMatch(Run::isBreak));
        assertEquals(3, PromptParser.parse("BREAK").size());
    }

    @Test
    void malformedWeightIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptParser.parse("(a:1.2.3)"));
        assertTrue(e.getMessage().contains("1.2.3"));
        assertThrows(IllegalArgumentException.class, () -> PromptParser.parse("(a:.)"));
    }
}
