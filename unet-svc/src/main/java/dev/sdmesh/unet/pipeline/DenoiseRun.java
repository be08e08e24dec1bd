package dev.sdmesh.unet.pipeline;

import dev.sdmesh.unet.scheduler.Scheduler;

import java.util.Arrays;

/**
 * The per-request state of diffusers' denoising loop (StableDiffusionPipeline, Img2Img and the legacy 4-channel
 * Inpaint path of diffusers 0.25), advanced one UNet call at a time so that the engine can put the calls of several
 * requests into one batch. Every random draw happens here, in diffusers' order.
 */
public final class DenoiseRun {
    private final DenoiseJob job;
    private final UnetModel unet;
    private final Scheduler scheduler;
    private final int latentChannels;
    private final int latentSize;
    private final double[] timesteps;
    private final long startNanos = System.nanoTime();

    private float[] latents;
    /** The noise drawn for img2img/inpaint, reused by the inpaint blend at every step. */
    private float[] noise;
    private float[] imageLatents;
    private float[] maskPerImage;
    private float[] maskedImageLatents;
    private int index;

    public DenoiseRun(DenoiseJob job, UnetModel unet) {
        this.job = job;
        this.unet = unet;
        this.scheduler = job.scheduler();
        this.latentChannels = unet.latentChannels();
        this.latentSize = latentChannels * job.latentHeight() * job.latentWidth();
        scheduler.setBatchSize(job.batch());
        scheduler.setTimesteps(job.steps());
        this.timesteps = job.strength() > 0 ? img2imgTimesteps(scheduler.timesteps(), job.steps(), job.strength(),
                scheduler.order()) : scheduler.timesteps();
        prepareLatents();
    }

    /**
     * diffusers' {@code get_timesteps}: {@code init_timestep = min(int(steps * strength), steps)},
     * {@code t_start = max(steps - init_timestep, 0)}, then {@code timesteps[t_start * order:]}.
     */
    static double[] img2imgTimesteps(double[] all, int steps, float strength, int order) {
        int initTimestep = initTimestep(steps, strength);
        int tStart = Math.max(steps - initTimestep, 0);
        return Arrays.copyOfRange(all, Math.min(tStart * order, all.length), all.length);
    }

    /**
     * Python's {@code min(int(steps * strength), steps)} for the strength the client wrote: the proto carries it as a
     * float32, whose widened value (0.7f = 0.69999998…) truncates one step lower than Python's double 0.7 does, so the
     * float is read back as the shortest decimal that names it.
     */
    public static int initTimestep(int steps, float strength) {
        double asSent = Double.parseDouble(Float.toString(strength));
        return Math.min((int) (steps * asSent), steps);
    }

    private void prepareLatents() {
        int b = job.batch();
        if (!job.isImageToImage()) {
            latents = job.initialLatents() != null ? job.initialLatents().clone() : job.generator().randn(b * latentSize);
            scale(latents, scheduler.initNoiseSigma());
            return;
        }
        imageLatents = repeatToBatch(job.initLatents(), latentSize, b);
        noise = job.generator().randn(b * latentSize);
        double latentTimestep = timesteps[0];
        boolean strengthMax = job.strength() >= 1.0f;
        if (job.isInpainting()) {
            // diffusers encodes the masked image with the same generator right after drawing the noise; the sample
            // is only used by 9-channel UNets, but its draw must be consumed either way to keep the stream aligned.
            job.generator().randn(job.initLatents().length);
            maskPerImage = repeatToBatch(job.mask(), job.latentHeight() * job.latentWidth(), b);
            if (unet.isInpaintingUnet()) maskedImageLatents = repeatToBatch(job.maskedImageLatents(), latentSize, b);
            if (strengthMax) {
                latents = noise.clone();
                scale(latents, scheduler.initNoiseSigma());
            } else {
                latents = scheduler.addNoise(imageLatents, noise, latentTimestep);
            }
        } else {
            latents = scheduler.addNoise(imageLatents, noise, latentTimestep);
        }
    }

    /** diffusers repeats a single image's latents (or mask) to the batch; B distinct ones are taken as they are. */
    private static float[] repeatToBatch(float[] values, int perImage, int b) {
        if (values.length == perImage * b) return values;
        if (values.length != perImage) {
            throw new IllegalArgumentException(values.length + " values are neither 1 nor " + b + " images of " + perImage);
        }
        float[] out = new float[perImage * b];
        for (int i = 0; i < b; i++) System.arraycopy(values, 0, out, i * perImage, perImage);
        return out;
    }

    private static void scale(float[] values, float factor) {
        if (factor == 1.0f) return;
        for (int i = 0; i < values.length; i++) values[i] *= factor;
    }

    public DenoiseJob job() {
        return job;
    }

    public UnetModel unet() {
        return unet;
    }

    public boolean done() {
        return index >= timesteps.length;
    }

    public int completedCalls() {
        return index;
    }

    public int totalCalls() {
        return timesteps.length;
    }

    public double[] timesteps() {
        return timesteps;
    }

    public long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** The timestep of the next UNet call. */
    public double currentTimestep() {
        return timesteps[index];
    }

    /** Rows this run adds to a UNet batch: 2B with guidance ([uncond…, cond…]), else B. */
    public int unetRows() {
        return job.classifierFreeGuidance() ? 2 * job.batch() : job.batch();
    }

    /** Writes this run's UNet input rows into {@code sample} at row {@code offset}. */
    public void writeModelInput(float[] sample, int rowOffset) {
        float[] scaled = scheduler.scaleModelInput(latents, currentTimestep());
        int rowSize = unet.inChannels() * job.latentHeight() * job.latentWidth();
        int copies = job.classifierFreeGuidance() ? 2 : 1;
        int plane = job.latentHeight() * job.latentWidth();
        for (int copy = 0; copy < copies; copy++) {
            for (int i = 0; i < job.batch(); i++) {
                int dst = (rowOffset + copy * job.batch() + i) * rowSize;
                System.arraycopy(scaled, i * latentSize, sample, dst, latentSize);
                if (unet.isInpaintingUnet()) {
                    System.arraycopy(maskPerImage, i * plane, sample, dst + latentSize, plane);
                    System.arraycopy(maskedImageLatents, i * latentSize, sample, dst + latentSize + plane, latentSize);
                }
            }
        }
    }

    /** Writes this run's text embeddings rows ([uncond…, cond…] with guidance). */
    public void writeHiddenStates(float[] hidden, int rowOffset) {
        int rowSize = job.sequenceLength() * unet.crossAttentionDim();
        int at = rowOffset * rowSize;
        if (job.classifierFreeGuidance()) {
            System.arraycopy(job.uncond(), 0, hidden, at, job.uncond().length);
            at += job.uncond().length;
        }
        System.arraycopy(job.cond(), 0, hidden, at, job.cond().length);
    }

    /**
     * Takes this run's rows of the UNet output, applies guidance, steps the scheduler and, for the legacy
     * inpainting path, blends the known region back in. {@code unetOutput} is the engine's reused buffer, so nothing
     * of it is kept; the noise prediction handed to the scheduler is a new array each step because schedulers may keep
     * it in their multistep history (PNDM keeps the model outputs themselves).
     */
    public void acceptModelOutput(float[] unetOutput, int rowOffset) {
        int n = job.batch() * latentSize;
        int start = rowOffset * latentSize;
        float[] noisePred;
        if (job.classifierFreeGuidance()) {
            noisePred = new float[n];
            float g = job.guidanceScale();
            for (int i = 0; i < n; i++) {
                float u = unetOutput[start + i];
                float c = unetOutput[start + n + i];
                noisePred[i] = u + g * (c - u);
            }
            if (job.guidanceRescale() > 0) {
                rescaleNoiseCfg(noisePred, unetOutput, start + n, job.guidanceRescale(), job.batch());
            }
        } else {
            noisePred = Arrays.copyOfRange(unetOutput, start, start + n);
        }
        double t = currentTimestep();
        latents = scheduler.step(noisePred, t, latents, job.generator()).prevSample();
        if (job.isInpainting() && !unet.isInpaintingUnet()) blendKnownRegion();
        index++;
        int bad = firstNonFinite(latents);
        if (bad >= 0) {
            throw new NonFiniteLatentsException("latents became " + latents[bad] + " at UNet call " + index + " of "
                    + timesteps.length + " (timestep " + t + "); the model or the settings diverge");
        }
    }

    /** {@code latents = (1 - m) * add_noise(image_latents, noise, t_next) + m * latents}; no re-noise after the last step. */
    private void blendKnownRegion() {
        float[] known = index < timesteps.length - 1
                ? scheduler.addNoise(imageLatents, noise, timesteps[index + 1]) : imageLatents;
        int plane = job.latentHeight() * job.latentWidth();
        for (int b = 0; b < job.batch(); b++) {
            for (int c = 0; c < latentChannels; c++) {
                for (int p = 0; p < plane; p++) {
                    int i = b * latentSize + c * plane + p;
                    float m = maskPerImage[b * plane + p];
                    latents[i] = (1 - m) * known[i] + m * latents[i];
                }
            }
        }
    }

    /**
     * diffusers' rescale_noise_cfg (Lin et al., section 3.4): each image's guided prediction is scaled to the standard
     * deviation of its text prediction (over all of the image's channels and pixels), then mixed with the unscaled one.
     * The text prediction is read in place: {@code noiseCfg.length} values of {@code noiseText} from {@code textFrom}.
     */
    static void rescaleNoiseCfg(float[] noiseCfg, float[] noiseText, int textFrom, float rescale, int images) {
        int imageSize = noiseCfg.length / images;
        for (int b = 0; b < images; b++) {
            int from = b * imageSize;
            double stdText = std(noiseText, textFrom + from, imageSize);
            double stdCfg = std(noiseCfg, from, imageSize);
            for (int i = from; i < from + imageSize; i++) {
                float rescaled = (float) (noiseCfg[i] * (stdText / stdCfg));
                noiseCfg[i] = rescale * rescaled + (1 - rescale) * noiseCfg[i];
            }
        }
    }

    /** torch.std (unbiased) over one image. */
    private static double std(float[] values, int from, int count) {
        double mean = 0;
        for (int i = from; i < from + count; i++) mean += values[i];
        mean /= count;
        double sum = 0;
        for (int i = from; i < from + count; i++) sum += (values[i] - mean) * (values[i] - mean);
        return Math.sqrt(sum / (count - 1));
    }

    private static int firstNonFinite(float[] values) {
        for (int i = 0; i < values.length; i++) if (!Float.isFinite(values[i])) return i;
        return -1;
    }

    /** The current latents [B, C, h, w]. */
    public float[] latents() {
        return latents;
    }

    /** Raised when a step produces NaN or Inf; fails only the request that produced it. */
    public static final class NonFiniteLatentsException extends RuntimeException {
        public NonFiniteLatentsException(String message) {
            super(message);
        }
    }
}
