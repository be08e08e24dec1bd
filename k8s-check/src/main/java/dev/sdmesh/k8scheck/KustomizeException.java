package dev.sdmesh.k8scheck;

/** A kustomization that cannot be rendered, or that uses something outside the supported subset. */
public final class KustomizeException extends RuntimeException {
    public KustomizeException(String message) {
        super(message);
    }
}
