package dev.sdmesh.textencoder.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.load(ReferenceData.model().resolve("tokenizer"));
    }

    @Test
    void everyPublicPromptGivesTransformersIds() {
        JsonNode cases = ReferenceData.json("tokenizer_cases.json").get("cases");
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            int[] raw = ints(c.get("ids_raw"));
            int[] ids77 = ints(c.get("ids_77"));
            List<String> tokens = StreamSupport.stream(c.get("tokens").spliterator(), false).map(JsonNode::asText).toList();
            if (!Arrays.equals(raw, tokenizer.idsRaw(prompt))
                    || !Arrays.equals(ids77, tokenizer.ids77(prompt))
                    || !tokens.equals(tokenizer.tokenize(prompt))) {
                failures.add(prompt + " -> " + tokenizer.tokenize(prompt) + " expected " + tokens);
            }
        }
        assertTrue(cases.size() > 0);
        assertEquals(List.of(), failures);
    }

    @Test
    void specialTokensComeFromTheVocabularyAndConfig() {
        JsonNode meta = ReferenceData.json("tokenizer_cases.json").get("meta");
        assertEquals(meta.get("bos_token_id").asInt(), tokenizer.bos());
        assertEquals(meta.get("eos_token_id").asInt(), tokenizer.eos());
        assertEquals(meta.get("pad_token_id").asInt(), tokenizer.pad());
        assertEquals(meta.get("model_max_length").asInt(), tokenizer.maxLength());
    }

    @Test
    void literalEndOfTextIsTheEosToken() {
        assertArrayEquals(new int[]{tokenizer.eos()}, tokenizer.encode("<|endoftext|>"));
        int[] ids = tokenizer.encode("cat<|endoftext|>dog");
        assertEquals(3, ids.length);
        assertEquals(tokenizer.eos(), ids[1]);
        assertArrayEquals(tokenizer.encode("cat"), new int[]{ids[0]});
    }

    @Test
    void truncatesToFirst75TokensPlusEos() {
        String longPrompt = "cat ".repeat(100);
        int[] ids = tokenizer.ids77(longPrompt);
        assertEquals(77, ids.length);
        assertEquals(tokenizer.eos(), ids[76]);
        assertEquals(tokenizer.encode("cat")[0], ids[75]);
        assertEquals(102, tokenizer.idsRaw(longPrompt).length);
    }

    @Test
    void sd2TokenizerConfigPadsWithExclamationMarkIdZeroAfterTheEos(@TempDir Path sd2) throws IOException {
        Path reference = ReferenceData.model().resolve("tokenizer");
        for (String file : List.of("vocab.json", "merges.txt", "special_tokens_map.json")) {
            Files.copy(reference.resolve(file), sd2.resolve(file));
        }
        ObjectNode config = (ObjectNode) JSON.readTree(reference.resolve("tokenizer_config.json").toFile());
        config.put("pad_token", "!");
        JSON.writeValue(sd2.resolve("tokenizer_config.json").toFile(), config);
        String prompt = "a photo of an astronaut riding a horse on mars";

        ClipTokenizer sd2Tokenizer = ClipTokenizer.load(sd2);
        int[] ids = sd2Tokenizer.ids77(prompt);

        assertEquals(0, sd2Tokenizer.pad());
        int eosAt = tokenizer.encode(prompt).length + 1;
        assertArrayEquals(Arrays.copyOf(tokenizer.ids77(prompt), eosAt + 1), Arrays.copyOf(ids, eosAt + 1));
        assertEquals(tokenizer.eos(), ids[eosAt]);
        assertArrayEquals(new int[77 - eosAt - 1], Arrays.copyOfRange(ids, eosAt + 1, 77));
        assertEquals(tokenizer.eos(), tokenizer.ids77(prompt)[76], "SD 1.x pads with the EOS");
    }

    @Test
    void mojibakeAndControlCharactersNeverCrash() {
        for (String odd : List.of("\u0000\u001B[31mred\u001B[0m", "\uD800 lone surrogate", "Ã", "&#99999999999; &#xZZ; &bogus;",
                "\u0081\u008D\u0090", "ﬁne ﬂower", "a\r\nb\u2028c")) {
            int[] ids = tokenizer.ids77(odd);
            assertEquals(77, ids.length, odd);
        }
        assertEquals(tokenizer.tokenize("fine flower"), tokenizer.tokenize("ﬁne ﬂower"));
        assertEquals(tokenizer.tokenize("red"), tokenizer.tokenize("\u001B[31mred\u001B[0m"));
    }

    @Test
    void htmlIsUnescapedOnlyInLinesWithoutAngleBrackets() {
        assertEquals(tokenizer.tokenize("a & b"), tokenizer.tokenize("a &amp; b"));
        assertNotEquals(tokenizer.tokenize("<b>&"), tokenizer.tokenize("<b>&amp;"));
        // ftfy turns unescaping off for the rest of the text once a line contains '<'.
        assertNotEquals(tokenizer.tokenize("<b>\na & b"), tokenizer.tokenize("<b>\na &amp; b"));
        assertEquals(tokenizer.tokenize("a & b\n<b>"), tokenizer.tokenize("a &amp; b\n<b>"));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
