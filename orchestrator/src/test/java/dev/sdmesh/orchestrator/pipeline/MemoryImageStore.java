package dev.sdmesh.orchestrator.pipeline;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

class MemoryImageStore implements ImageStore {
    final Map<String, byte[]> objects = new ConcurrentHashMap<>();

    @Override
    public void put(String key, byte[] data, String contentType) {
        objects.put(key, data);
    }

    @Override
    public byte[] get(String key) {
        return objects.get(key);
    }

    @Override
    public boolean exists(String key) {
        return objects.containsKey(key);
    }

    @Override
    public String presignedUrl(String key) {
        return "http://store/" + key + "?signed";
    }
}
