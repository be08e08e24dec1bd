package dev.sdmesh.runtime.image;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InfotextTest {

    private static Infotext.Settings settings(String prompt, String negative, String model, Map<String, String> extra) {
        return new Infotext.Settings(prompt, negative, 20, "Euler a", null, 7, 1, 64, 64, model, null, extra);
    }

    @Test
    void formatsAsA1111() {
        assertEquals("a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: tiny",
                Infotext.format(settings("a cat", "blurry", "tiny", null)));
        // No negative prompt: no line for it. Optional fields in A1111's order, floats as Python prints them.
        var img2img = new Infotext.Settings("a cat", "", 25, "DPM++ 2M", "Karras", 7.5, 42, 96, 64, null, 0.75, null);
        assertEquals("a cat\nSteps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 42, Size: 96x64, "
                + "Denoising strength: 0.75", Infotext.format(img2img));
    }

    @Test
    void quotesValuesWithCommasColonsAndQuotes() {
        assertEquals("plain", Infotext.quote("plain"));
        assertEquals("\"a, b\"", Infotext.quote("a, b"));
        assertEquals("\"say \\\"hi\\\": now\"", Infotext.quote("say \"hi\": now"));
        assertEquals("\"x\\ny\"", Infotext.quote("x\ny"));
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("Lora hashes", "a: 1, b: 2");
        String text = Infotext.format(settings("p", "", "model: v1, pruned", extra));
        assertEquals("p\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: \"model: v1, pruned\", "
                + "Lora hashes: \"a: 1, b: 2\"", text);
    }

    @Test
    void parsesWhatItFormats() {
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("Clip skip", "2");
        extra.put("Note", "commas, \"quotes\" and: colons");
        var original = new Infotext.Settings("line one\nline two, with comma", "ugly\nbad", 30, "Euler", "Karras", 6.5,
                4294967295L, 512, 768, "sd15", 0.4, extra);
        String text = Infotext.format(original);
        assertEquals(original, Infotext.parse(text));
        assertTrue(text.endsWith("Denoising strength: 0.4, Clip skip: 2, Note: \"commas, \\\"quotes\\\" and: colons\""), text);
    }

    @Test
    void parsesA1111Text() {
        Map<String, String> p = Infotext.parseParameters("masterpiece, (cat:1.2)\nNegative prompt: lowres\n"
                + "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: abc, Version: v1.9.4");
        assertEquals("masterpiece, (cat:1.2)", p.get("Prompt"));
        assertEquals("lowres", p.get("Negative prompt"));
        assertEquals("512", p.get("Size-1"));
        assertEquals("768", p.get("Size-2"));
        assertEquals("v1.9.4", p.get("Version"));
        // A last line with fewer than three parameters is part of the prompt.
        assertEquals("a: b", Infotext.parseParameters("a: b").get("Prompt"));
        assertThrows(IllegalArgumentException.class, () -> Infotext.parse("just a prompt"));
    }
}
