package dev.sdmesh.models;

import java.util.SplittableRandom;

/**
 * How a parameter tensor is filled. Uniform draws keep generation fast (a billion values for SD 1.5) while matching
 * the standard deviation of the normal initialisations transformers uses (uniform(-a, a) has std a/sqrt(3)).
 */
public sealed interface WeightInit {

    float next(SplittableRandom rng);

    /** torch.nn.Linear / Conv2d default (kaiming_uniform with a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    static WeightInit torchDefault(long fanIn) {
        return new Uniform((float) (1.0 / Math.sqrt(fanIn)));
    }

    /** Zero-mean values with the given standard deviation, like transformers' {@code normal_(std=...)}. */
    static WeightInit withStd(double std) {
        return new Uniform((float) (std * Math.sqrt(3.0)));
    }

    static WeightInit constant(float value) {
        return new Constant(value);
    }

    record Uniform(float bound) implements WeightInit {
        @Override
        public float next(SplittableRandom rng) {
            return (float) ((rng.nextDouble() * 2.0 - 1.0) * bound);
        }
    }

    record Constant(float value) implements WeightInit {
        @Override
        public float next(SplittableRandom rng) {
            return value;
        }
    }
}
