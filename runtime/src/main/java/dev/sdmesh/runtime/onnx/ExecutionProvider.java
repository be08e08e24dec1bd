package dev.sdmesh.runtime.onnx;

/**
 * Where a session runs, as configured: {@code cuda:N} (GPU N), {@code cpu}, or {@code auto} (CUDA device 0 when the
 * CUDA provider loads, else CPU).
 */
public record ExecutionProvider(Kind kind, int deviceId) {
    public enum Kind { CPU, CUDA, AUTO }

    public static final ExecutionProvider CPU = new ExecutionProvider(Kind.CPU, 0);

    public static ExecutionProvider parse(String text) {
        String value = text == null ? "auto" : text.trim().toLowerCase();
        if (value.equals("cpu")) return CPU;
        if (value.equals("auto") || value.isEmpty()) return new ExecutionProvider(Kind.AUTO, 0);
        if (value.equals("cuda")) return new ExecutionProvider(Kind.CUDA, 0);
        if (value.startsWith("cuda:")) {
            try {
                int device = Integer.parseInt(value.substring(5));
                if (device >= 0) return new ExecutionProvider(Kind.CUDA, device);
            } catch (NumberFormatException ignored) {
                // falls through to the error naming the accepted forms
            }
        }
        throw new IllegalArgumentException("device '" + text + "' is not one of cpu, auto, cuda:N");
    }

    @Override
    public String toString() {
        return kind == Kind.CUDA ? "cuda:" + deviceId : kind.name().toLowerCase();
    }
}
