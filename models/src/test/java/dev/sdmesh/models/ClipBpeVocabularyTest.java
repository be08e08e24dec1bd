package dev.sdmesh.models;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipBpeVocabularyTest {

    @Test
    void tinyVocabularyHasClipLayoutWithLearnedMerges() {
        ClipBpeVocabulary v = ClipBpeVocabulary.build(0);
        List<String> tokens = v.tokens();
        assertEquals(512 + v.merges().size() + 2, v.size());
        assertTrue(v.merges().size() >= 200 && v.merges().size() <= 1000, v.merges().size() + " merges");
        // CLIP's byte order starts with the printable ASCII run, and every symbol has a word-final twin.
        assertEquals("!", tokens.get(0));
        assertEquals("!</w>", tokens.get(256));
        assertEquals(ClipBpeVocabulary.BOS, tokens.get(v.size() - 2));
        assertEquals(ClipBpeVocabulary.EOS, tokens.get(v.size() - 1));
        assertConsistent(v);
    }

    @Test
    void fullSizeVocabularyFitsClipTokenizersMergeLimit() {
        ClipBpeVocabulary v = ClipBpeVocabulary.build(49408);
        assertEquals(49408, v.size());
        assertEquals(ClipBpeVocabulary.MAX_MERGES, v.merges().size());
        assertEquals(49406, v.encoder().get(ClipBpeVocabulary.BOS));
        assertEquals(49407, v.encoder().get(ClipBpeVocabulary.EOS));
        assertEquals(ClipBpeVocabulary.build(0).merges(), v.merges().subList(0, ClipBpeVocabulary.build(0).merges().size()));
        assertConsistent(v);
    }

    /** Every merge joins two existing tokens into the next new one, so the BPE can only produce known tokens. */
    private static void assertConsistent(ClipBpeVocabulary v) {
        Set<String> known = new HashSet<>(v.tokens().subList(0, 512));
        assertEquals(512, known.size());
        for (int i = 0; i < v.merges().size(); i++) {
            String[] pair = v.merges().get(i).split(" ");
            assertEquals(2, pair.length);
            assertTrue(known.contains(pair[0]) && known.contains(pair[1]), "merge " + i + " uses unknown tokens");
            assertTrue(!pair[0].endsWith("</w>"), "merge " + i + " continues past a word end");
            assertEquals(pair[0] + pair[1], v.tokens().get(512 + i));
            assertTrue(known.add(pair[0] + pair[1]), "merge " + i + " repeats a token");
        }
    }
}
