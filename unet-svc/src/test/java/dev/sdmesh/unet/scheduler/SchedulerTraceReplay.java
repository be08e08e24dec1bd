package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sdmesh.proto.v1.RngState;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Replays one scheduler-only trace of {@code public/scheduler_traces.json} against any {@link Scheduler}, as the
 * reference README describes: x_init = x_init_unscaled * init_noise_sigma; at each t, scaled = scale_model_input,
 * model_output = 0.1 * scaled + fixed_F, sample = step(..., generator = manual_seed(99)).prev_sample. The Java loop
 * runs on its own samples (it never resets to the recorded ones) and every recorded array is checked within
 * {@link #RELATIVE_TOLERANCE} of its largest magnitude.
 */
public final class SchedulerTraceReplay {
    public static final double RELATIVE_TOLERANCE = 1e-5;
    /** The reference JSON holds non-standard numbers (DPM-Solver's {@code lambda_min_clipped: -Infinity}). */
    private static final JsonMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private static final String TRACES = "scheduler_traces.json";
    private static final long STEP_SEED = 99;

    private SchedulerTraceReplay() {
    }

    /**
     * A JSON file of {@code public/}, read with non-standard numbers allowed (skips the calling test when the
     * reference data is absent).
     */
    public static JsonNode publicJson(String relativeToPublic) {
        try {
            return JSON.readTree(ReferenceData.publicDir().resolve(relativeToPublic).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every trace entry. */
    public static List<JsonNode> traces() {
        List<JsonNode> traces = new ArrayList<>();
        publicJson(TRACES).get("traces").forEach(traces::add);
        return traces;
    }

    /** Ids of the traces whose {@code scheduler} field (ddim, euler, dpmpp_2m, ...) is {@code scheduler}. */
    public static List<String> traceIds(String scheduler) {
        return traces().stream().filter(t -> t.get("scheduler").asText().equals(scheduler))
                .map(t -> t.get("id").asText()).toList();
    }

    public static JsonNode trace(String traceId) {
        return traces().stream().filter(t -> t.get("id").asText().equals(traceId)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no scheduler trace '" + traceId + "' in " + TRACES));
    }

    /** The full resolved diffusers config the trace was made with. */
    public static SchedulerConfig config(String traceId) {
        return SchedulerConfig.of(trace(traceId).get("scheduler_config"));
    }

    /** Runs the trace's loop on {@code scheduler} (fresh, built from {@link #config}) and asserts every recorded array. */
    public static void replay(Scheduler scheduler, String traceId) {
        JsonNode trace = trace(traceId);
        int steps = trace.get("num_inference_steps").asInt();
        scheduler.setTimesteps(steps);

        double[] timesteps = scheduler.timesteps();
        assertArrayEquals(doubles(trace.get("timesteps")), timesteps, 1e-9, traceId + ": timesteps");
        assertEquals(trace.get("timesteps_dtype").asText().equals("int64"), scheduler.integerTimesteps(),
                traceId + ": timestep dtype");
        assertEquals(trace.get("order").asInt(), scheduler.order(), traceId + ": order");
        assertEquals(trace.get("init_noise_sigma").asDouble(), scheduler.initNoiseSigma(),
                RELATIVE_TOLERANCE * Math.abs(trace.get("init_noise_sigma").asDouble()), traceId + ": init_noise_sigma");

        float[] xInitUnscaled = array(trace, "x_init_unscaled");
        float[] fixedF = array(trace, "fixed_F");
        int n = xInitUnscaled.length;
        float[] sample = new float[n];
        for (int i = 0; i < n; i++) sample[i] = xInitUnscaled[i] * scheduler.initNoiseSigma();
        assertClose(array(trace, "x_init"), sample, traceId + ": x_init");

        float[][] scaledExpected = rows(trace, "scaled_model_input", timesteps.length);
        float[][] modelOutputExpected = rows(trace, "model_output", timesteps.length);
        float[][] prevSampleExpected = rows(trace, "prev_sample", timesteps.length);
        float[][] predOriginalExpected = trace.get("files").has("pred_original_sample")
                ? rows(trace, "pred_original_sample", timesteps.length) : null;

        TorchGenerator generator = new TorchGenerator(STEP_SEED);
        for (int step = 0; step < timesteps.length; step++) {
            String at = traceId + " step " + step + " (t=" + timesteps[step] + "): ";
            float[] scaled = scheduler.scaleModelInput(sample, timesteps[step]);
            assertClose(scaledExpected[step], scaled, at + "scaled_model_input");
            float[] modelOutput = new float[n];
            for (int i = 0; i < n; i++) modelOutput[i] = 0.1f * scaled[i] + fixedF[i];
            assertClose(modelOutputExpected[step], modelOutput, at + "model_output");

            Scheduler.StepOutput out = scheduler.step(modelOutput, timesteps[step], sample, generator);
            if (predOriginalExpected != null) {
                assertNotNull(out.predOriginalSample(), at + "pred_original_sample is recorded but not returned");
                assertClose(predOriginalExpected[step], out.predOriginalSample(), at + "pred_original_sample");
            }
            assertClose(prevSampleExpected[step], out.prevSample(), at + "prev_sample");
            sample = out.prevSample();
        }
        assertStepNoise(trace, generator, n);
        assertAddNoise(scheduler, trace, xInitUnscaled, fixedF);
    }

    /**
     * The scheduler must have drawn exactly the recorded noise: the recorded draws are successive randn's of
     * manual_seed(99), and after the loop the scheduler's generator stands where those draws leave one.
     */
    private static void assertStepNoise(JsonNode trace, TorchGenerator used, int n) {
        String traceId = trace.get("id").asText();
        int draws = trace.get("num_step_noise_draws").asInt();
        TorchGenerator expected = new TorchGenerator(STEP_SEED);
        float[][] recorded = draws > 0 ? rows(trace, "step_noise", draws) : new float[0][];
        for (int d = 0; d < draws; d++) {
            assertArrayEquals(recorded[d], expected.randn(n), traceId + ": step_noise draw " + d);
        }
        RngState expectedState = expected.toProto();
        RngState actualState = used.toProto();
        assertEquals(expectedState.getMtIndex(), actualState.getMtIndex(),
                traceId + ": the scheduler drew other than " + draws + " randn(" + n + ") in step()");
        assertEquals(expectedState, actualState, traceId + ": generator state after the loop");
    }

    private static void assertAddNoise(Scheduler scheduler, JsonNode trace, float[] original, float[] noise) {
        double[] probes = ReferenceData.npy(file(trace, "add_noise_timesteps")).toDoubles();
        float[][] expected = rows(trace, "add_noise_out", probes.length);
        for (int p = 0; p < probes.length; p++) {
            assertClose(expected[p], scheduler.addNoise(original, noise, probes[p]),
                    trace.get("id").asText() + ": add_noise at t=" + probes[p]);
        }
    }

    /** max |actual - expected| <= tolerance * max |expected|. */
    public static void assertClose(float[] expected, float[] actual, String what) {
        double maxDiff = ReferenceData.maxAbsDiff(expected, actual);
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        if (!(maxDiff <= RELATIVE_TOLERANCE * scale)) {
            throw new AssertionError(what + ": max abs diff " + maxDiff + " exceeds " + RELATIVE_TOLERANCE
                    + " x max |expected| " + scale);
        }
    }

    private static String file(JsonNode trace, String key) {
        JsonNode entry = trace.get("files").get(key);
        if (entry == null) throw new AssertionError(trace.get("id").asText() + " records no '" + key + "'");
        return entry.get("file").asText();
    }

    private static float[] array(JsonNode trace, String key) {
        return ReferenceData.npy(file(trace, key)).toFloats();
    }

    /** A [rows, ...] array split into its rows. */
    private static float[][] rows(JsonNode trace, String key, int count) {
        float[] all = array(trace, key);
        if (all.length % count != 0) throw new AssertionError(key + " does not split into " + count + " rows");
        int size = all.length / count;
        float[][] rows = new float[count][];
        for (int r = 0; r < count; r++) {
            rows[r] = new float[size];
            System.arraycopy(all, r * size, rows[r], 0, size);
        }
        return rows;
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }
}
