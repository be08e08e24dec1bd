package dev.sdmesh.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Order statistics of a set of timings in milliseconds. Percentiles interpolate linearly between the closest ranks
 * (numpy's default {@code percentile(..., method="linear")}), so the median of an even count is the mean of the
 * middle two.
 */
public record Summary(int count, double min, double p50, double p95, double max, double mean) {

    public static Summary of(Collection<Double> valuesMs) {
        return of(valuesMs.stream().mapToDouble(Double::doubleValue).toArray());
    }

    public static Summary of(double[] valuesMs) {
        if (valuesMs.length == 0) throw new IllegalArgumentException("no values to summarise");
        double[] sorted = valuesMs.clone();
        Arrays.sort(sorted);
        return new Summary(sorted.length, sorted[0], percentile(sorted, 50), percentile(sorted, 95),
                sorted[sorted.length - 1], Arrays.stream(sorted).average().orElseThrow());
    }

    /** The {@code p}-th percentile (0..100) of ascending {@code sorted}, interpolated between closest ranks. */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) throw new IllegalArgumentException("no values");
        if (p < 0 || p > 100) throw new IllegalArgumentException("percentile " + p + " is not in [0, 100]");
        double rank = p / 100.0 * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }

    public double median() {
        return p50;
    }
}
