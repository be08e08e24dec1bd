package dev.sdmesh.runtime.model;

/** The sub-folders of a diffusers ONNX pipeline folder (the layout Optimum exports). */
public enum ModelPart {
    TEXT_ENCODER("text_encoder", true),
    UNET("unet", true),
    VAE_DECODER("vae_decoder", true),
    VAE_ENCODER("vae_encoder", true),
    TOKENIZER("tokenizer", false),
    SCHEDULER("scheduler", false);

    private final String folder;
    private final boolean onnx;

    ModelPart(String folder, boolean onnx) {
        this.folder = folder;
        this.onnx = onnx;
    }

    /** The sub-folder name diffusers uses. */
    public String folder() {
        return folder;
    }

    /** Whether the part holds a {@code model.onnx}. */
    public boolean hasOnnx() {
        return onnx;
    }
}
