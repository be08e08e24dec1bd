package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The optimised-model cache on the reference model: written on the first load, read on the next, same numbers. */
class OptimizedModelCacheTest {
    @TempDir
    Path cacheDir;

    @ParameterizedTest
    @ValueSource(strings = {"text_encoder", "unet", "vae_decoder"})
    void secondLoadReadsTheCopyTheFirstWroteAndComputesTheSame(String part) throws Exception {
        Path source = ReferenceData.model().resolve(part).resolve("model.onnx");
        SessionFactory cached = factory("all", cacheDir);

        float[] uncachedOut;
        try (OnnxModel uncached = factory("all", null).open(source)) {
            uncachedOut = runOnSeededInputs(uncached);
        }
        try (OnnxModel first = cached.open(source)) {
            assertEquals(source, first.loadedFrom());
            assertTrue(ReferenceData.maxAbsDiff(uncachedOut, runOnSeededInputs(first)) <= 1e-6);
        }
        Path copy = single(cachedFiles());
        assertTrue(copy.getFileName().toString().contains("." + ExecutionProvider.CPU + ".all_opt."),
                "name encodes provider and level: " + copy.getFileName());
        try (OnnxModel second = cached.open(source)) {
            assertEquals(copy, second.loadedFrom());
            double diff = ReferenceData.maxAbsDiff(uncachedOut, runOnSeededInputs(second));
            assertTrue(diff <= 1e-6, part + " from the cache differs by " + diff);
        }
    }

    @Test
    void anotherOptimisationLevelGetsItsOwnCopy() throws Exception {
        Path source = ReferenceData.model().resolve("vae_decoder/model.onnx");
        factory("all", cacheDir).open(source).close();
        try (OnnxModel basic = factory("basic", cacheDir).open(source)) {
            assertEquals(source, basic.loadedFrom());
        }
        assertEquals(2, cachedFiles().size());
    }

    @Test
    void copyOlderThanItsSourceIsRebuilt() throws Exception {
        Path source = ReferenceData.model().resolve("vae_decoder/model.onnx");
        SessionFactory cached = factory("all", cacheDir);
        cached.open(source).close();
        Path copy = single(cachedFiles());
        FileTime beforeSource = FileTime.fromMillis(Files.getLastModifiedTime(source).toMillis() - 60_000);
        Files.setLastModifiedTime(copy, beforeSource);

        try (OnnxModel reloaded = cached.open(source)) {
            assertEquals(source, reloaded.loadedFrom());
        }
        assertTrue(Files.getLastModifiedTime(copy).compareTo(Files.getLastModifiedTime(source)) > 0, "copy rewritten");
        try (OnnxModel third = cached.open(source)) {
            assertEquals(copy, third.loadedFrom());
        }
    }

    @Test
    void unreadableCopyIsRebuiltFromTheSource() throws Exception {
        Path source = ReferenceData.model().resolve("vae_decoder/model.onnx");
        SessionFactory cached = factory("all", cacheDir);
        cached.open(source).close();
        Path copy = single(cachedFiles());
        Files.writeString(copy, "not an ONNX model");

        try (OnnxModel reloaded = cached.open(source)) {
            assertEquals(source, reloaded.loadedFrom());
        }
        assertNotEquals("not an ONNX model".length(), Files.size(copy), "copy rewritten");
        try (OnnxModel third = cached.open(source)) {
            assertEquals(copy, third.loadedFrom());
        }
    }

    @Test
    void modelWithExternalWeightsIsNotCached(@TempDir Path modelDir) throws Exception {
        // A link, not a copy: the reference data is read in place. The empty data file only marks the layout.
        Path link = Files.createSymbolicLink(modelDir.resolve("model.onnx"),
                ReferenceData.model().resolve("vae_decoder/model.onnx"));
        Files.createFile(modelDir.resolve("model.onnx_data"));

        try (OnnxModel model = factory("all", cacheDir).open(link)) {
            assertEquals(link, model.loadedFrom());
        }
        assertEquals(List.of(), cachedFiles());
    }

    private static SessionFactory factory(String level, Path cache) {
        return new SessionFactory(new SessionSettings(ExecutionProvider.CPU, 1, 1, level, cache));
    }

    private List<Path> cachedFiles() throws IOException {
        try (Stream<Path> files = Files.list(cacheDir)) {
            return files.toList();
        }
    }

    private static Path single(List<Path> files) {
        assertEquals(1, files.size(), "cache files: " + files);
        return files.get(0);
    }

    /**
     * Runs the graph on inputs drawn from a fixed seed, whatever its inputs are: symbolic axes become 1 for the batch
     * and 8 elsewhere (a valid size for every part of the tiny model), floats are normal, integers are token ids.
     */
    private static float[] runOnSeededInputs(OnnxModel model) throws Exception {
        Random random = new Random(42);
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (String name : model.inputNames()) {
                long[] shape = model.inputShape(name).clone();
                for (int axis = 0; axis < shape.length; axis++) {
                    if (shape[axis] < 0) shape[axis] = axis == 0 ? 1 : 8;
                }
                int count = 1;
                for (long n : shape) count *= (int) n;
                if (model.inputType(name) == OnnxJavaType.INT32 || model.inputType(name) == OnnxJavaType.INT64) {
                    feeds.put(name, model.longInput(name, random.longs(count, 0, 49408).toArray(), shape));
                } else {
                    float[] values = new float[count];
                    for (int i = 0; i < count; i++) values[i] = (float) random.nextGaussian();
                    feeds.put(name, model.floatInput(name, values, shape));
                }
            }
            try (OrtSession.Result result = model.run(feeds, null)) {
                return OnnxModel.floats(result.get(0));
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }
}
