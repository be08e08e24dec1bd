package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;

import java.util.Arrays;

/** Reference-data access the sigma-scheduler tests share beyond {@link SchedulerTraceReplay}. */
final class SigmaReference {

    private SigmaReference() {
    }

    static JsonNode pipelineCase(String id) {
        for (JsonNode c : SchedulerTraceReplay.publicJson("cases.json").get("cases")) {
            if (c.get("id").asText().equals(id)) return c;
        }
        throw new AssertionError("no pipeline case " + id);
    }

    static float[] file(JsonNode entry, String key) {
        return ReferenceData.npy(entry.get("files").get(key).get("file").asText()).toFloats();
    }

    static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }

    static float[] row(float[] stacked, int index, int rowLength) {
        return Arrays.copyOfRange(stacked, index * rowLength, (index + 1) * rowLength);
    }

    /** The scheduler-trace fake model: {@code 0.1 * scaled + F}. */
    static float[] fakeModel(float[] scaled, float[] fixedF) {
        float[] out = new float[scaled.length];
        for (int i = 0; i < out.length; i++) out[i] = 0.1f * scaled[i] + fixedF[i];
        return out;
    }

    /** The trace inputs drawn afresh: {@code x_init_unscaled} and {@code fixed_F} from {@code manual_seed(2024)}. */
    static float[][] traceInputs(int size) {
        TorchGenerator generator = new TorchGenerator(2024);
        return new float[][] {generator.randn(size), generator.randn(size)};
    }
}
