package dev.sdmesh.bench;

import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the floor on the diffusers-made reference model: every part opens and runs with the inputs the floor builds. */
class FloorBenchmarkTest {

    @Test
    void measuresEveryPartOfTheReferenceModel() throws Exception {
        ModelFolder model = new ModelFolder("model", ReferenceData.model());
        Floor floor = new FloorBenchmark(new SessionFactory(SessionSettings.cpuDefaults()), 1, 5).measure(model, 64, 64);
        assertEquals("cpu", floor.provider());
        for (Summary s : new Summary[]{floor.textEncoder(), floor.unetBatch1(), floor.unetBatch2(), floor.vaeDecode()}) {
            assertEquals(5, s.count());
            assertTrue(s.min() > 0 && s.min() <= s.median() && s.median() <= s.max());
        }
        assertEquals(ModelGeometry.of(model), new ModelGeometry(77, 32, 4, 4, 8, 2));
    }
}
