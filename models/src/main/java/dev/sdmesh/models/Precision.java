package dev.sdmesh.models;

import dev.sdmesh.models.onnx.TensorProto;

/** Floating-point type of a generated model's weights, activations and float inputs/outputs. */
public enum Precision {
    FLOAT32(TensorProto.DataType.FLOAT, 4, -Float.MAX_VALUE),
    FLOAT16(TensorProto.DataType.FLOAT16, 2, -65504f);

    private final TensorProto.DataType dataType;
    private final int bytes;
    private final float lowest;

    Precision(TensorProto.DataType dataType, int bytes, float lowest) {
        this.dataType = dataType;
        this.bytes = bytes;
        this.lowest = lowest;
    }

    public int onnxType() {
        return dataType.getNumber();
    }

    public int bytesPerElement() {
        return bytes;
    }

    /** torch.finfo(dtype).min: the value transformers puts into masked attention logits. */
    public float lowest() {
        return lowest;
    }

    /** Appends {@code v} little-endian in this precision. */
    void put(java.nio.ByteBuffer out, float v) {
        if (this == FLOAT32) {
            out.putFloat(v);
        } else {
            out.putShort(Half.fromFloat(v));
        }
    }
}
