package dev.sdmesh.runtime.random;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.proto.v1.RngState;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bit-exact parity with torch's CPU generator on every vector of {@code public/rng.json}. */
class TorchGeneratorTest {

    @TestFactory
    List<DynamicTest> singleDrawsMatchTorchBitForBit() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode vector : ReferenceData.json("rng.json").get("vectors")) {
            String fn = vector.get("fn").asText();
            if (fn.equals("randn_sequence")) continue;
            tests.add(DynamicTest.dynamicTest(vector.get("file").asText(), () -> {
                TorchGenerator generator = new TorchGenerator(vector.get("seed").asLong());
                int n = elementCount(vector.get("shape_arg"));
                float[] actual = switch (fn) {
                    case "randn" -> generator.randn(n);
                    case "rand" -> generator.rand(n);
                    default -> throw new AssertionError("unknown fn " + fn);
                };
                assertBitExact(vector.get("file").asText(), actual);
            }));
        }
        assertFalse(tests.isEmpty(), "rng.json lists no single-draw vectors");
        return tests;
    }

    @TestFactory
    List<DynamicTest> drawSequencesOnOneGeneratorMatchTorch() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<Long, List<JsonNode>> sequence : sequencesBySeed().entrySet()) {
            tests.add(DynamicTest.dynamicTest("seed " + Long.toUnsignedString(sequence.getKey()), () -> {
                TorchGenerator generator = new TorchGenerator(sequence.getKey());
                for (JsonNode draw : sequence.getValue()) {
                    assertBitExact(draw.get("file").asText(), generator.randn(elementCount(draw.get("shape_arg"))));
                }
            }));
        }
        assertFalse(tests.isEmpty(), "rng.json lists no draw sequences");
        return tests;
    }

    /** Hands the state over after each draw of the sequence, as one stage does to the next. */
    @Test
    void stateRoundTripsThroughProtoMidSequence() throws Exception {
        for (Map.Entry<Long, List<JsonNode>> sequence : sequencesBySeed().entrySet()) {
            TorchGenerator generator = new TorchGenerator(sequence.getKey());
            for (JsonNode draw : sequence.getValue()) {
                RngState state = generator.toProto();
                generator = TorchGenerator.fromProto(RngState.parseFrom(state.toByteString()));
                assertEquals(sequence.getKey(), generator.seed());
                assertEquals(state, generator.toProto());
                assertBitExact(draw.get("file").asText(), generator.randn(elementCount(draw.get("shape_arg"))));
            }
        }
    }

    /** An odd number of scalar-path normals leaves the Box–Muller sine cached; the proto must carry it. */
    @Test
    void cachedScalarNormalSurvivesRoundTrip() {
        TorchGenerator original = new TorchGenerator(4294967295L);
        original.randn(3);
        RngState state = original.toProto();
        assertTrue(state.getHasNextDoubleNormal());
        assertEquals(Mt19937.N, state.getMtCount());
        TorchGenerator restored = TorchGenerator.fromProto(state);
        assertEquals(floatBits(original.randn(5)), floatBits(restored.randn(5)));
        assertEquals(floatBits(original.randn(40)), floatBits(restored.randn(40)));
    }

    /** torch seeds mt19937 from the low 32 bits only, but reports the full 64-bit seed. */
    @Test
    void seedIsUnsigned64BitWhoseLowWordSeedsTheEngine() {
        long seed = 0xFFFF_FFFF_0000_002AL;
        TorchGenerator wide = new TorchGenerator(seed);
        assertEquals("18446744069414584362", Long.toUnsignedString(wide.seed()));
        assertEquals(floatBits(new TorchGenerator(42).randn(20)), floatBits(wide.randn(20)));
    }

    private static Map<Long, List<JsonNode>> sequencesBySeed() {
        Map<Long, List<JsonNode>> bySeed = new HashMap<>();
        for (JsonNode vector : ReferenceData.json("rng.json").get("vectors")) {
            if (!vector.get("fn").asText().equals("randn_sequence")) continue;
            bySeed.computeIfAbsent(vector.get("seed").asLong(), s -> new ArrayList<>()).add(vector);
        }
        bySeed.values().forEach(draws -> draws.sort((a, b) -> a.get("draw").asInt() - b.get("draw").asInt()));
        return bySeed;
    }

    private static int elementCount(JsonNode shape) {
        int n = 1;
        for (JsonNode dim : shape) n *= dim.asInt();
        return n;
    }

    private static void assertBitExact(String file, float[] actual) {
        float[] expected = ReferenceData.npy(file).toFloats();
        assertEquals(expected.length, actual.length, file + ": element count");
        int mismatches = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                if (first < 0) first = i;
                mismatches++;
            }
        }
        if (mismatches > 0) {
            throw new AssertionError(file + ": " + mismatches + " of " + expected.length + " elements differ; first at "
                    + first + ": expected " + expected[first] + " got " + actual[first]);
        }
    }

    private static List<Integer> floatBits(float[] values) {
        List<Integer> bits = new ArrayList<>(values.length);
        for (float v : values) bits.add(Float.floatToRawIntBits(v));
        return bits;
    }
}
