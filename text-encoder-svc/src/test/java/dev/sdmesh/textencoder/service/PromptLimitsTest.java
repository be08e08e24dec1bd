package dev.sdmesh.textencoder.service;

import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.prompt.PromptChunker;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptLimitsTest {
    private static PromptChunker chunker;

    @BeforeAll
    static void load() {
        chunker = new PromptChunker(ClipTokenizer.load(ReferenceData.model().resolve("tokenizer")), TextualInversionLibrary.empty());
    }

    /** "cat" is one token, so n of them fill n/75 chunks. */
    private static String cats(int n) {
        return String.join(" ", Collections.nCopies(n, "cat"));
    }

    @Test
    void aPromptOverTheCharacterLimitNamesTheFieldAndTheLimit() {
        PromptLimits limits = new PromptLimits(10, 20);
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> limits.checkPrompts("prompts", List.of("short", "a much longer prompt"), chunker, Mode.NONE));
        assertEquals("prompts[1]", e.field());
        assertTrue(e.getMessage().contains("max-prompt-chars"), e.getMessage());
        assertDoesNotThrow(() -> limits.checkPrompt("prompt", "0123456789", chunker, Mode.A1111));
    }

    @Test
    void chunksAreLimitedInA1111ModeOnly() {
        PromptLimits limits = new PromptLimits(4096, 2);
        assertDoesNotThrow(() -> limits.checkPrompt("prompt", cats(150), chunker, Mode.A1111));
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> limits.checkPrompt("prompt", cats(151), chunker, Mode.A1111));
        assertEquals("prompt", e.field());
        assertTrue(e.getMessage().contains("3 chunks") && e.getMessage().contains("max-chunks"), e.getMessage());
        assertDoesNotThrow(() -> limits.checkPrompt("prompt", cats(151), chunker, Mode.NONE));
    }

    @Test
    void aRequestHasOneToSixteenPrompts() {
        PromptLimits limits = new PromptLimits(4096, 20);
        assertEquals("prompts", assertThrows(InvalidFieldException.class,
                () -> limits.checkPrompts("prompts", List.of(), chunker, Mode.A1111)).field());
        assertDoesNotThrow(() -> limits.checkPrompts("prompts", Collections.nCopies(16, "x"), chunker, Mode.A1111));
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> limits.checkPrompts("prompts", Collections.nCopies(17, "x"), chunker, Mode.A1111));
        assertTrue(e.getMessage().contains("16"), e.getMessage());
    }
}
