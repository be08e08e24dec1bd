package dev.sdmesh.unet.scheduler;

import java.util.HashSet;
import java.util.Set;

/**
 * State and behaviour common to diffusers' sigma-based schedulers: the float32 {@code sigmas} and timesteps of the
 * current schedule, the step index found from the first timestep seen ({@code _init_step_index}, so img2img can start
 * mid-schedule), {@code init_noise_sigma}, {@code scale_model_input} and {@code add_noise}.
 */
abstract class SigmaScheduler implements Scheduler {
    /** The {@code __init__} keys every sigma-based scheduler has. */
    static final Set<String> COMMON_CONFIG_KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end",
            "beta_schedule", "trained_betas", "prediction_type", "timestep_spacing", "steps_offset");

    final int numTrainTimesteps;
    final String timestepSpacing;
    final int stepsOffset;
    final String predictionType;
    /** Training sigmas, ascending with the training timestep, and their float32 logs. */
    final float[] trainSigmas;
    final float[] logSigmas;

    /** diffusers' {@code scheduler.timesteps} (float32 values, or float64 where diffusers keeps float64). */
    double[] timesteps;
    /** diffusers' {@code scheduler.sigmas}, float32, indexed by the step index. */
    float[] sigmas;
    int stepIndex = -1;

    SigmaScheduler(SchedulerConfig config, float[] alphasCumprod, boolean supportsSamplePrediction) {
        this.numTrainTimesteps = config.getInt("num_train_timesteps", 1000);
        this.timestepSpacing = config.getString("timestep_spacing", "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
        this.predictionType = Sigmas.predictionType(config, supportsSamplePrediction);
        this.trainSigmas = Sigmas.fromAlphasCumprod(alphasCumprod);
        this.logSigmas = Sigmas.log(trainSigmas);
        // Fail on a bad spacing when the scheduler is built, not at the first request.
        Sigmas.spacedTimesteps(timestepSpacing, numTrainTimesteps, 1, stepsOffset);
    }

    /** The timesteps of {@code set_timesteps} for the configured spacing, before any Karras remapping. */
    double[] spacedTimesteps(int numInferenceSteps) {
        return Sigmas.spacedTimesteps(timestepSpacing, numTrainTimesteps, numInferenceSteps, stepsOffset);
    }

    /** The float32 sigmas (with the final 0) and timesteps that {@code set_timesteps} starts from. */
    record BaseSchedule(double[] timesteps, float[] sigmas) {
    }

    /**
     * The ends of a Karras schedule; null takes the end of the interpolated schedule. Euler, Heun and both KDPM2
     * classes read {@code sigma_min}/{@code sigma_max} with {@code hasattr(self.config, ...)}, and diffusers'
     * {@code from_config} keeps every key of the config it was given, so those apply even to a class without these
     * arguments. LMS always uses the schedule's ends.
     */
    record KarrasBounds(Double sigmaMin, Double sigmaMax) {
        static final KarrasBounds SCHEDULE_ENDS = new KarrasBounds(null, null);

        static KarrasBounds of(SchedulerConfig config) {
            return new KarrasBounds(config.has("sigma_min") ? config.getDouble("sigma_min", 0) : null,
                    config.has("sigma_max") ? config.getDouble("sigma_max", 0) : null);
        }
    }

    /**
     * The training alphas_cumprod of a class whose {@code __init__} has no {@code rescale_betas_zero_snr} (LMS, Heun,
     * KDPM2): such a key from another class's config is kept by {@code from_config} but never applied.
     */
    static float[] alphasCumprodWithoutZeroSnr(SchedulerConfig config, double betaStartDefault, double betaEndDefault) {
        return Sigmas.noiseSchedule(config.with("rescale_betas_zero_snr", false), betaStartDefault, betaEndDefault)
                .alphasCumprod;
    }

    /**
     * The common part of {@code set_timesteps}: the spaced timesteps (float32) and their linearly interpolated
     * training sigmas; with Karras sigmas ({@code karrasBounds} non-null; null: {@code use_karras_sigmas} is off),
     * the timesteps mapped back from those sigmas, float64 as diffusers keeps them ({@code round} for KDPM2, which
     * rounds them).
     */
    BaseSchedule baseSchedule(int numInferenceSteps, KarrasBounds karrasBounds, boolean roundKarrasTimesteps) {
        double[] spaced = spacedTimesteps(numInferenceSteps);
        double[] inferenceSigmas = Sigmas.interp(spaced, trainSigmas);
        if (karrasBounds == null) return new BaseSchedule(toFloat32(spaced), Sigmas.withFinalZero(inferenceSigmas));
        double[] karras = Sigmas.karras(inferenceSigmas, numInferenceSteps, karrasBounds.sigmaMin(),
                karrasBounds.sigmaMax());
        double[] karrasTimesteps = new double[karras.length];
        for (int i = 0; i < karras.length; i++) {
            double t = Sigmas.sigmaToT(karras[i], logSigmas);
            karrasTimesteps[i] = roundKarrasTimesteps ? Math.rint(t) : t;
        }
        return new BaseSchedule(karrasTimesteps, Sigmas.withFinalZero(karras));
    }

    @Override
    public double[] timesteps() {
        return requireTimesteps().clone();
    }

    @Override
    public boolean integerTimesteps() {
        return false;
    }

    @Override
    public int order() {
        return 1;
    }

    @Override
    public float initNoiseSigma() {
        requireTimesteps();
        return Sigmas.initNoiseSigma(sigmas, timestepSpacing);
    }

    @Override
    public float[] scaleModelInput(float[] sample, double timestep) {
        initStepIndex(timestep);
        return Sigmas.scale(sample, sigmas[stepIndex]);
    }

    @Override
    public float[] addNoise(float[] originalSamples, float[] noise, double timestep) {
        int index = Sigmas.indexForTimestep(requireTimesteps(), timestep);
        return Sigmas.addNoise(originalSamples, noise, sigmas[index]);
    }

    /** diffusers' {@code scheduler.sigmas} after {@link #setTimesteps}. */
    public float[] sigmas() {
        requireTimesteps();
        return sigmas.clone();
    }

    /** Starts a new schedule: the next {@code scale_model_input}/{@code step} locates its timestep again. */
    void resetSchedule(double[] timesteps, float[] sigmas) {
        this.timesteps = timesteps;
        this.sigmas = sigmas;
        this.stepIndex = -1;
    }

    void initStepIndex(double timestep) {
        if (stepIndex < 0) stepIndex = Sigmas.indexForTimestep(requireTimesteps(), timestep);
    }

    double[] requireTimesteps() {
        if (timesteps == null) throw new IllegalStateException("call setTimesteps first");
        return timesteps;
    }

    static double[] toFloat32(double[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) values[i];
        return out;
    }

    static Set<String> keys(String... extra) {
        HashSet<String> keys = new HashSet<>(COMMON_CONFIG_KEYS);
        keys.addAll(Set.of(extra));
        return Set.copyOf(keys);
    }
}
