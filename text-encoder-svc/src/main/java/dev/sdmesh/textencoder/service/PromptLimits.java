package dev.sdmesh.textencoder.service;

import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.textencoder.prompt.PromptChunker;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;

import java.util.List;

/**
 * Bounds on what one request may ask of the text encoder, so that a single caller cannot make a run arbitrarily
 * large. Violations name the field and the configuration key of the limit.
 *
 * @param maxPromptChars characters per prompt ({@code sdmesh.text-encoder.max-prompt-chars})
 * @param maxChunks      75-token chunks per prompt in A1111 mode ({@code sdmesh.text-encoder.max-chunks})
 */
public record PromptLimits(int maxPromptChars, int maxChunks) {
    /** Prompts per request: the largest batch a UNet request accepts. */
    public static final int MAX_PROMPTS = 16;

    /** Checks a request's prompt list (field {@code field}): 1..16 entries, each within the limits. */
    public void checkPrompts(String field, List<String> prompts, PromptChunker chunker, Mode mode) {
        if (prompts.isEmpty()) throw new InvalidFieldException(field, "at least one prompt is required");
        if (prompts.size() > MAX_PROMPTS) {
            throw new InvalidFieldException(field, prompts.size() + " prompts exceed the limit of " + MAX_PROMPTS + " per request");
        }
        for (int i = 0; i < prompts.size(); i++) checkPrompt(field + "[" + i + "]", prompts.get(i), chunker, mode);
    }

    /** Checks one prompt's length and, in A1111 mode, its chunk count. */
    public void checkPrompt(String field, String prompt, PromptChunker chunker, Mode mode) {
        if (prompt.length() > maxPromptChars) {
            throw new InvalidFieldException(field, prompt.length() + " characters exceed the limit of " + maxPromptChars
                    + " (sdmesh.text-encoder.max-prompt-chars)");
        }
        // NONE mode always truncates to one row; only A1111 grows with the prompt.
        if (mode == Mode.A1111) {
            int chunks = chunker.chunk(prompt, mode).chunks().size();
            if (chunks > maxChunks) {
                throw new InvalidFieldException(field, chunks + " chunks of 75 tokens exceed the limit of " + maxChunks
                        + " (sdmesh.text-encoder.max-chunks)");
            }
        }
    }
}
