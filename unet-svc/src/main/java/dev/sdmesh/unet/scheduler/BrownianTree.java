package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * torchsde's {@code BrownianTree} (a {@code BrownianInterval} with {@code halfway_tree=True}, {@code tol=1e-6},
 * {@code pool_size=24}, no Levy area) over float32 samples: a dyadic tree of intervals on [t0, t1], split at their
 * halfway points rounded to 6 decimals. Each node's increment comes from its parent's by the Brownian bridge, with
 * the normals of {@code torch.randn} seeded by the parent's numpy {@code SeedSequence}; so the path depends on the
 * entropy alone, not on the order of queries.
 */
final class BrownianTree {
    private static final int DECIMALS = 6; // -int(log10(tol))
    private static final int POOL_SIZE = 24;
    private static final int CACHE_SIZE = 45;

    private final BigInteger entropy;
    private final int size;
    private final Node root;
    private final float[] rootIncrement;
    /** torchsde's LRU of node increments; values never depend on it, it only saves recomputation. */
    private final Map<Node, float[]> cache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Node, float[]> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private static final class Node {
        final double start;
        final double end;
        final Node parent;
        final boolean isLeft;
        Double midway;
        long spawnKey;
        int depth;
        long wSeed;
        Node left;
        Node right;

        Node(double start, double end, Node parent, boolean isLeft) {
            this.start = round(start);
            this.end = round(end);
            this.parent = parent;
            this.isLeft = isLeft;
        }
    }

    BrownianTree(double t0, double t1, int size, BigInteger entropy) {
        if (t0 > t1) throw new IllegalArgumentException("t0 " + t0 + " must not exceed t1 " + t1);
        this.entropy = entropy;
        this.size = size;
        this.root = new Node(t0, t1, null, false);
        long initialWSeed = new SeedSequence(entropy, new long[0], POOL_SIZE).generateState(3)[0];
        float[] z = randn(initialWSeed);
        float scale = (float) Math.sqrt(t1 - t0);
        this.rootIncrement = new float[size];
        for (int i = 0; i < size; i++) rootIncrement[i] = z[i] * scale;
    }

    /** Python's {@code round(x, 6)}: the exact binary value rounded half-to-even at 6 decimals. */
    private static double round(double x) {
        if (!Double.isFinite(x)) return x;
        return new BigDecimal(x).setScale(DECIMALS, RoundingMode.HALF_EVEN).doubleValue();
    }

    /** {@code tree(ta, tb)}: W(tb) - W(ta), with the query clamped to the tree's interval as torchsde does. */
    float[] increment(double ta, double tb) {
        ta = Math.min(Math.max(ta, root.start), root.end);
        tb = Math.min(Math.max(tb, root.start), root.end);
        if (ta > tb) throw new IllegalArgumentException("query times must satisfy ta <= tb: " + ta + " > " + tb);
        if (ta == tb) return new float[size];
        List<Node> intervals = new ArrayList<>();
        locate(root, round(ta), round(tb), intervals);
        float[] w = increment(intervals.get(0)).clone();
        for (int k = 1; k < intervals.size(); k++) {
            float[] wi = increment(intervals.get(k));
            for (int i = 0; i < size; i++) w[i] = w[i] + wi[i];
        }
        return w;
    }

    /** The existing-or-created dyadic intervals that partition [ta, tb], in order ({@code _loc}). */
    private void locate(Node node, double ta, double tb, List<Node> out) {
        if (ta == node.start && tb == node.end) {
            out.add(node);
            return;
        }
        if (node.midway == null) split(node);
        if (tb <= node.midway) {
            locate(node.left, ta, tb, out);
        } else if (ta >= node.midway) {
            locate(node.right, ta, tb, out);
        } else {
            locate(node.left, ta, node.midway, out);
            locate(node.right, node.midway, tb, out);
        }
    }

    /** {@code _split_exact} at the rounded halfway point, seeding the node from its place in the tree. */
    private void split(Node node) {
        double half = 0.5 * (node.end + node.start);
        node.midway = round(half);
        if (node.parent != null) {
            node.spawnKey = 2 * node.parent.spawnKey + (node.isLeft ? 0 : 1);
            node.depth = node.parent.depth + 1;
        }
        node.wSeed = new SeedSequence(entropy, new long[] {node.spawnKey, node.depth}, POOL_SIZE).generateState(4)[0];
        node.left = new Node(node.start, half, node, true);
        node.right = new Node(half, node.end, node, false);
    }

    /** A node's increment from its parent's: the Brownian bridge at the parent's midway point. */
    private float[] increment(Node node) {
        if (node == root) return rootIncrement;
        float[] cached = cache.get(node);
        if (cached != null) return cached;
        Node parent = node.parent;
        float[] w = increment(parent);
        double hReciprocal = 1 / (parent.end - parent.start);
        double leftDiff = parent.midway - parent.start;
        double rightDiff = parent.end - parent.midway;
        float meanScale = (float) leftDiff;
        float meanReciprocal = (float) hReciprocal;
        float std = (float) Math.sqrt(leftDiff * rightDiff * hReciprocal);
        float[] noise = randn(parent.wSeed);
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            float leftW = meanScale * w[i] * meanReciprocal + std * noise[i];
            out[i] = node.isLeft ? leftW : w[i] - leftW;
        }
        cache.put(node, out);
        return out;
    }

    /** torchsde's {@code _randn}: {@code torch.randn(size, generator=torch.Generator().manual_seed(seed))}. */
    private float[] randn(long seed) {
        return new TorchGenerator(seed).randn(size);
    }
}
