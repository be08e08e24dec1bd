package dev.sdmesh.textencoder.embedding;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SafeTensorsTest {
    @Test
    void readsF32TensorsWithShapes() {
        float[] values = SafeTensorsFiles.vectors(2, 3, 1f);
        byte[] file = SafeTensorsFiles.f32(Map.of("emb_params", Map.entry(new long[]{2, 3}, values)));
        SafeTensors.Tensor t = SafeTensors.parse(file, "test").get("emb_params");
        assertEquals("F32", t.dtype());
        assertArrayEquals(new long[]{2, 3}, t.shape());
        assertArrayEquals(values, t.data());
    }

    @Test
    void widensF16AndBf16() {
        // 1.0, -2.0, 65504 (max half), smallest subnormal; bf16 of 1.0 and -3.0.
        short[] half = {0x3C00, (short) 0xC000, 0x7BFF, 0x0001};
        short[] bf16 = {0x3F80, (short) 0xC040};
        ByteBuffer data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : half) data.putShort(s);
        for (short s : bf16) data.putShort(s);
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}";
        Map<String, SafeTensors.Tensor> tensors = SafeTensors.parse(SafeTensorsFiles.assemble(header, data.array()), "test");
        assertArrayEquals(new float[]{1f, -2f, 65504f, 0x1p-24f}, tensors.get("h").data());
        assertArrayEquals(new float[]{1f, -3f}, tensors.get("b").data());
    }

    @Test
    void rejectsMalformedFiles() {
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(new byte[4], "short"));
        byte[] hugeHeader = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(hugeHeader, "huge header"));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(SafeTensorsFiles.assemble("{not json", new byte[0]), "json"));
        String outOfRange = "{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(SafeTensorsFiles.assemble(outOfRange, new byte[8]), "range"));
        String wrongSize = "{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(SafeTensorsFiles.assemble(wrongSize, new byte[8]), "size"));
        String intType = "{\"t\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse(SafeTensorsFiles.assemble(intType, new byte[8]), "dtype"));
    }
}
