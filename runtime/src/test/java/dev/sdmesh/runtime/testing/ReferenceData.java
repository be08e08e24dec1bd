package dev.sdmesh.runtime.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sdmesh.runtime.tensor.Npy;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The diffusers-made reference data in {@code ../shared/reference}, read in place (never copied into the project).
 * Tests that need it call {@link #require()}, which skips them with a clear message when the folder is absent.
 */
public final class ReferenceData {
    /** The reference JSON holds -Infinity (log-sigma schedules), which Python writes and strict JSON lacks. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private ReferenceData() {
    }

    /** The reference folder: system property {@code sdmesh.reference.dir}, else {@code ../shared/reference}. */
    public static Path dir() {
        String configured = System.getProperty("sdmesh.reference.dir");
        Path dir = configured != null ? Path.of(configured) : Path.of("..", "shared", "reference");
        if (!Files.isDirectory(dir)) {
            // Maven runs a module's tests from the module folder; the checkout root is one level up.
            Path fromModule = Path.of("..", "..", "shared", "reference");
            if (Files.isDirectory(fromModule)) dir = fromModule;
        }
        return dir.toAbsolutePath().normalize();
    }

    /** Skips the calling test unless the reference data is present. */
    public static Path require() {
        Path dir = dir();
        Assumptions.assumeTrue(Files.isDirectory(dir.resolve("public")),
                "reference data not found at " + dir + " (expected ../shared/reference beside the checkout); skipping");
        return dir;
    }

    public static Path model() {
        return require().resolve("model");
    }

    public static Path publicDir() {
        return require().resolve("public");
    }

    public static JsonNode json(String relativeToPublic) {
        try {
            return JSON.readTree(publicDir().resolve(relativeToPublic).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Npy.Array npy(String relativeToPublic) {
        try {
            return Npy.read(publicDir().resolve(relativeToPublic));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Largest absolute difference. */
    public static double maxAbsDiff(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double max = 0;
        for (int i = 0; i < expected.length; i++) max = Math.max(max, Math.abs((double) expected[i] - actual[i]));
        return max;
    }

    /** ||actual - expected||₂ / ||expected||₂. */
    public static double relativeL2(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
    }
}
