package dev.sdmesh.models;

/**
 * Deterministic DDIM step (eta 0) on SD's scaled-linear schedule, enough to drive the UNet like a pipeline, with the
 * conversions that SD 2.x's v-prediction and img2img's noising need.
 */
final class Ddim {
    private static final double[] ALPHAS_CUMPROD = new double[1000];

    static {
        double start = Math.sqrt(0.00085);
        double end = Math.sqrt(0.012);
        double prod = 1;
        for (int t = 0; t < 1000; t++) {
            double beta = Math.pow(start + (end - start) * t / 999, 2);
            prod *= 1 - beta;
            ALPHAS_CUMPROD[t] = prod;
        }
    }

    private Ddim() {
    }

    static float[] step(float[] eps, float[] sample, int t, int prevT) {
        double alpha = ALPHAS_CUMPROD[t];
        double alphaPrev = prevT >= 0 ? ALPHAS_CUMPROD[prevT] : ALPHAS_CUMPROD[0];
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            double x0 = (sample[i] - Math.sqrt(1 - alpha) * eps[i]) / Math.sqrt(alpha);
            out[i] = (float) (Math.sqrt(alphaPrev) * x0 + Math.sqrt(1 - alphaPrev) * eps[i]);
        }
        return out;
    }

    /** The noise the model predicts, from its output under the scheduler's {@code prediction_type}. */
    static float[] epsilon(float[] modelOutput, float[] sample, int t, String predictionType) {
        return switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "v_prediction" -> {
                // v = sqrt(a) * eps - sqrt(1 - a) * x0 and x = sqrt(a) * x0 + sqrt(1 - a) * eps.
                double alpha = ALPHAS_CUMPROD[t];
                float[] eps = new float[sample.length];
                for (int i = 0; i < eps.length; i++) {
                    eps[i] = (float) (Math.sqrt(alpha) * modelOutput[i] + Math.sqrt(1 - alpha) * sample[i]);
                }
                yield eps;
            }
            default -> throw new IllegalArgumentException("prediction_type '" + predictionType
                    + "' is not one of epsilon, v_prediction");
        };
    }

    /** The forward process: {@code original} noised to timestep {@code t}. */
    static float[] addNoise(float[] original, float[] noise, int t) {
        double alpha = ALPHAS_CUMPROD[t];
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (Math.sqrt(alpha) * original[i] + Math.sqrt(1 - alpha) * noise[i]);
        }
        return out;
    }
}
