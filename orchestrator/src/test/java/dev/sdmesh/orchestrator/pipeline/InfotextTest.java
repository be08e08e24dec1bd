package dev.sdmesh.orchestrator.pipeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class InfotextTest {
    @Test
    void txt2imgLinesFollowA1111() {
        assertEquals("a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x768, Model: tiny",
                Infotext.build("a cat", "blurry", 20, "Euler a", 7.5, "42", 512, 768, "tiny", null, 0));
    }

    @Test
    void emptyNegativePromptLineIsLeftOutAndClipSkipShownAboveOne() {
        assertEquals("a cat\nSteps: 50, Sampler: Euler, CFG scale: 7.0, Seed: 1, Size: 64x64, Model: m, Denoising strength: 0.75, Clip skip: 2",
                Infotext.build("a cat", "", 50, "Euler", 7.0, "1", 64, 64, "m", 0.75, 2));
        assertEquals("x\nSteps: 1, Sampler: DDIM, CFG scale: 1.0, Seed: 1, Size: 8x8, Model: m",
                Infotext.build("x", null, 1, "DDIM", 1.0, "1", 8, 8, "m", null, 1));
    }

    @Test
    void valuesWithCommasOrColonsAreJsonQuoted() {
        assertEquals("\"a, b\"", Infotext.quote("a, b"));
        assertEquals("\"k: \\\"v\\\"\"", Infotext.quote("k: \"v\""));
        assertEquals("plain", Infotext.quote("plain"));
        assertEquals("p\nSteps: 1, Sampler: \"x:y\", CFG scale: 2.5, Seed: 3, Size: 8x8, Model: m",
                Infotext.build("p", "", 1, "x:y", 2.5, "3", 8, 8, "m", null, 0));
    }
}
