package dev.sdmesh.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One goal the report shows its numbers against (nothing asserts them).
 *
 * @param goal     e.g. {@code ≤ 1.03}
 * @param measured the value compared, in the goal's unit
 */
public record Target(String name, String goal, double measured, boolean met) {
    static final double MAX_OVERHEAD_SD15 = 1.03;
    static final double MAX_ADDED_MS_TINY = 40;
    static final double MIN_BATCHING_SPEEDUP = 1.3;

    /**
     * The checks the runs allow: overhead ratio of every sd15 run, added milliseconds of every tiny run, and images/min
     * at concurrency 8 over concurrency 1 for each batching-on configuration that has both.
     */
    public static List<Target> evaluate(List<MeshRun> mesh, List<ThroughputRun> throughput) {
        List<Target> targets = new ArrayList<>();
        for (MeshRun run : mesh) {
            if (run.overhead() == null) continue;
            String model = run.request().model();
            if (model.equals("sd15")) {
                double ratio = run.overhead().ratio();
                targets.add(new Target("overhead " + run.request().label(), "≤ " + MAX_OVERHEAD_SD15, ratio,
                        ratio <= MAX_OVERHEAD_SD15));
            } else if (model.equals("tiny")) {
                double added = run.overhead().addedMs();
                targets.add(new Target("added ms " + run.request().label(), "≤ " + (int) MAX_ADDED_MS_TINY + " ms", added,
                        added <= MAX_ADDED_MS_TINY));
            }
        }
        Map<RequestSpec, Map<Integer, Double>> batched = new LinkedHashMap<>();
        for (ThroughputRun run : throughput) {
            if (run.maxBatch() > 1) {
                batched.computeIfAbsent(run.request(), k -> new LinkedHashMap<>()).put(run.concurrency(), run.imagesPerMinute());
            }
        }
        batched.forEach((request, byConcurrency) -> {
            Double one = byConcurrency.get(1);
            Double eight = byConcurrency.get(8);
            if (one == null || eight == null) return;
            double speedup = eight / one;
            targets.add(new Target("batching speed-up c8/c1 " + request.label(), "≥ " + MIN_BATCHING_SPEEDUP + "×", speedup,
                    speedup >= MIN_BATCHING_SPEEDUP));
        });
        return targets;
    }
}
