package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * diffusers {@code PNDMScheduler} (0.25): pseudo numerical methods. With {@code skip_prk_steps} (Stable Diffusion)
 * it is PLMS, which repeats the second timestep; otherwise 12 Runge-Kutta (PRK) calls on the last four timesteps
 * of the ascending schedule come first. Deterministic; the generator is never used.
 */
public final class PNDMScheduler extends AlphasCumprodScheduler {
    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "skip_prk_steps",
            "set_alpha_to_one", "prediction_type", "timestep_spacing", "steps_offset");
    private static final int PNDM_ORDER = 4;
    // diffusers' Python-float coefficients, rounded to float32 when they multiply a tensor
    private static final float ONE_SIXTH = (float) (1.0 / 6);
    private static final float ONE_THIRD = (float) (1.0 / 3);
    private static final float ONE_24TH = (float) (1.0 / 24);

    private final float finalAlphaCumprod;
    private final boolean skipPrkSteps;
    private long[] prkTimesteps = new long[0];

    // running values of diffusers' step(): the model-output history (ets), the RK accumulator and the RK/PLMS sample
    private final List<float[]> ets = new ArrayList<>();
    private float[] curModelOutput;
    private float[] curSample;
    private int counter;

    public PNDMScheduler(SchedulerConfig config) {
        // PNDM's __init__ has no rescale_betas_zero_snr; diffusers ignores the key if a shared config carries it.
        super(config, NoiseSchedule.from(config.with("rescale_betas_zero_snr", false)));
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", false) ? 1.0f : alphasCumprod[0];
        this.skipPrkSteps = config.getBoolean("skip_prk_steps", false);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        checkInferenceSteps(numInferenceSteps);
        this.numInferenceSteps = numInferenceSteps;
        long[] descending = spacedTimesteps(numInferenceSteps);
        int n = descending.length;
        long[] plmsTimesteps;
        if (skipPrkSteps) {
            // PLMS (crowsonkb): the descending schedule with its second entry repeated (a single step is not)
            prkTimesteps = new long[0];
            plmsTimesteps = new long[n == 1 ? 1 : n + 1];
            plmsTimesteps[0] = descending[0];
            if (n > 1) {
                plmsTimesteps[1] = descending[1];
                System.arraycopy(descending, 1, plmsTimesteps, 2, n - 1);
            }
        } else {
            prkTimesteps = prkTimesteps(descending);
            plmsTimesteps = new long[Math.max(n - 3, 0)];
            System.arraycopy(descending, 3, plmsTimesteps, 0, plmsTimesteps.length);
        }
        timesteps = new long[prkTimesteps.length + plmsTimesteps.length];
        System.arraycopy(prkTimesteps, 0, timesteps, 0, prkTimesteps.length);
        System.arraycopy(plmsTimesteps, 0, timesteps, prkTimesteps.length, plmsTimesteps.length);
        ets.clear();
        counter = 0;
        curModelOutput = null;
        curSample = null;
    }

    /**
     * The last four ascending timesteps, each followed by its half-step, as
     * {@code (ts[-4:].repeat(2) + tile([0, ratio // 2], 4))[:-1].repeat(2)[1:-1][::-1]}.
     */
    private long[] prkTimesteps(long[] descending) {
        if (descending.length < PNDM_ORDER) {
            throw new IllegalArgumentException("PNDM with PRK steps needs at least " + PNDM_ORDER + " inference steps");
        }
        long halfStep = numTrainTimesteps / numInferenceSteps / 2;
        long[] withHalves = new long[2 * PNDM_ORDER - 1];
        for (int k = 0; k < withHalves.length; k++) {
            withHalves[k] = descending[PNDM_ORDER - 1 - k / 2] + (k % 2 == 1 ? halfStep : 0);
        }
        long[] doubled = new long[2 * withHalves.length - 2];
        for (int k = 0; k < doubled.length; k++) doubled[k] = withHalves[(k + 1) / 2];
        long[] reversed = new long[doubled.length];
        for (int k = 0; k < doubled.length; k++) reversed[k] = doubled[doubled.length - 1 - k];
        return reversed;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        checkTimestepsSet();
        int t = trainIndex(timestep);
        float[] prevSample = counter < prkTimesteps.length && !skipPrkSteps
                ? stepPrk(modelOutput, t, sample)
                : stepPlms(modelOutput, t, sample);
        return new StepOutput(prevSample, null);
    }

    private float[] stepPrk(float[] modelOutput, int timestep, float[] sample) {
        int diffToPrev = counter % 2 == 1 ? 0 : numTrainTimesteps / numInferenceSteps / 2;
        int prevTimestep = timestep - diffToPrev;
        int t = (int) prkTimesteps[counter / 4 * 4];

        switch (counter % 4) {
            case 0 -> {
                curModelOutput = scaled(ONE_SIXTH, modelOutput);
                ets.add(modelOutput);
                curSample = sample;
            }
            case 1, 2 -> curModelOutput = plus(curModelOutput, scaled(ONE_THIRD, modelOutput));
            default -> {
                modelOutput = plus(curModelOutput, scaled(ONE_SIXTH, modelOutput));
                curModelOutput = null;
            }
        }
        float[] base = curSample != null ? curSample : sample;
        float[] prevSample = prevSample(base, t, prevTimestep, modelOutput);
        counter++;
        return prevSample;
    }

    private float[] stepPlms(float[] modelOutput, int timestep, float[] sample) {
        if (!skipPrkSteps && ets.size() < 3) {
            throw new IllegalStateException("PLMS can only run after 12 PRK steps");
        }
        int stepRatio = numTrainTimesteps / numInferenceSteps;
        int prevTimestep = timestep - stepRatio;
        if (counter != 1) {
            ets.add(modelOutput);
        } else {
            // The repeated timestep: this second call corrects the first step (a Heun-like average).
            prevTimestep = timestep;
            timestep = timestep + stepRatio;
        }

        int n = sample.length;
        float[] combined = new float[n];
        int history = ets.size();
        if (history == 1 && counter == 0) {
            combined = modelOutput;
            curSample = sample;
        } else if (history == 1 && counter == 1) {
            float[] e1 = ets.get(0);
            for (int i = 0; i < n; i++) combined[i] = (modelOutput[i] + e1[i]) / 2;
            sample = curSample;
            curSample = null;
        } else if (history == 2) {
            float[] e1 = ets.get(history - 1), e2 = ets.get(history - 2);
            for (int i = 0; i < n; i++) combined[i] = (3 * e1[i] - e2[i]) / 2;
        } else if (history == 3) {
            float[] e1 = ets.get(history - 1), e2 = ets.get(history - 2), e3 = ets.get(history - 3);
            for (int i = 0; i < n; i++) combined[i] = (23 * e1[i] - 16 * e2[i] + 5 * e3[i]) / 12;
        } else {
            float[] e1 = ets.get(history - 1), e2 = ets.get(history - 2);
            float[] e3 = ets.get(history - 3), e4 = ets.get(history - 4);
            for (int i = 0; i < n; i++) {
                combined[i] = ONE_24TH * (55 * e1[i] - 59 * e2[i] + 37 * e3[i] - 9 * e4[i]);
            }
        }
        float[] prevSample = prevSample(sample, timestep, prevTimestep, combined);
        counter++;
        return prevSample;
    }

    /** diffusers {@code _get_prev_sample}: formula (9) of the PNDM paper. */
    private float[] prevSample(float[] sample, int timestep, int prevTimestep, float[] modelOutput) {
        float alphaProdT = alphasCumprod[timestep];
        float alphaProdTPrev = prevTimestep >= 0 ? alphasCumprod[prevTimestep] : finalAlphaCumprod;
        float betaProdT = 1.0f - alphaProdT;
        float betaProdTPrev = 1.0f - alphaProdTPrev;

        String predictionType = config.getString("prediction_type", "epsilon");
        if (predictionType.equals("v_prediction")) {
            float sqrtAlpha = sqrt(alphaProdT);
            float sqrtBeta = sqrt(betaProdT);
            float[] epsilon = new float[sample.length];
            for (int i = 0; i < epsilon.length; i++) epsilon[i] = sqrtAlpha * modelOutput[i] + sqrtBeta * sample[i];
            modelOutput = epsilon;
        } else if (!predictionType.equals("epsilon")) {
            throw new IllegalArgumentException("prediction_type given as " + predictionType
                    + " must be one of `epsilon` or `v_prediction`");
        }

        // (α_{t-δ} - α_t) / (sqrt(α_t) * (sqrt(α_{t-δ}) + sqrt(α_t))) rewritten as sqrt(α_{t-δ} / α_t) for x_t
        float sampleCoeff = sqrt(alphaProdTPrev / alphaProdT);
        float modelOutputDenomCoeff = alphaProdT * sqrt(betaProdTPrev)
                + sqrt(alphaProdT * betaProdT * alphaProdTPrev);
        float alphaDelta = alphaProdTPrev - alphaProdT;
        float[] prev = new float[sample.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = sampleCoeff * sample[i] - alphaDelta * modelOutput[i] / modelOutputDenomCoeff;
        }
        return prev;
    }

    private static float[] scaled(float factor, float[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = factor * values[i];
        return out;
    }

    private static float[] plus(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < out.length; i++) out[i] = a[i] + b[i];
        return out;
    }
}
