package dev.sdmesh.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Measures the {@link Floor}: each graph is opened through the services' {@link SessionFactory} (so with the same
 * session options), run {@code warmups} times untimed (ORT allocates its arenas and picks kernels on the first runs),
 * then {@code runs} times timed around {@code OrtSession.run} alone. Inputs are built once; their values do not change
 * the work a dense graph does. One session is open at a time, so a large model's parts never share memory.
 */
public final class FloorBenchmark {
    private final SessionFactory sessions;
    private final int warmups;
    private final int runs;

    public FloorBenchmark(SessionFactory sessions, int warmups, int runs) {
        if (runs < 1 || warmups < 0) throw new IllegalArgumentException("runs must be >= 1 and warm-ups >= 0");
        this.sessions = sessions;
        this.warmups = warmups;
        this.runs = runs;
    }

    public Floor measure(ModelFolder folder, int width, int height) throws OrtException {
        ModelGeometry g = ModelGeometry.of(folder);
        Summary text;
        try (OnnxModel encoder = sessions.open(folder.onnx(ModelPart.TEXT_ENCODER))) {
            text = textEncoder(encoder, g);
        }
        Summary unet1;
        Summary unet2;
        try (OnnxModel unet = sessions.open(folder.onnx(ModelPart.UNET))) {
            unet1 = unet(unet, g, width, height, 1);
            unet2 = unet(unet, g, width, height, 2);
        }
        Summary vae;
        try (OnnxModel decoder = sessions.open(folder.onnx(ModelPart.VAE_DECODER))) {
            vae = vaeDecode(decoder, g, width, height);
        }
        return new Floor(folder.id(), width, height, sessions.provider().toString(), text, unet1, unet2, vae);
    }

    private Summary textEncoder(OnnxModel encoder, ModelGeometry g) throws OrtException {
        long[] ids = new long[2 * g.sequenceLength()];
        Arrays.fill(ids, g.eosTokenId());
        try (OnnxTensor input = encoder.longInput("input_ids", ids, new long[]{2, g.sequenceLength()})) {
            return time(encoder, Map.of("input_ids", input));
        }
    }

    private Summary unet(OnnxModel unet, ModelGeometry g, int width, int height, int batch) throws OrtException {
        long[] sampleShape = {batch, g.unetInChannels(), g.latentHeight(height), g.latentWidth(width)};
        long[] hiddenShape = {batch, g.sequenceLength(), g.hiddenSize()};
        // A graph with one timestep for the whole batch takes it as a scalar, others one per row (as UnetModel feeds).
        long[] declared = unet.inputShape("timestep");
        boolean scalar = declared.length == 0 || declared[0] == 1;
        float[] timesteps = new float[scalar ? 1 : batch];
        Arrays.fill(timesteps, 999f);
        try (OnnxTensor sample = unet.floatInput("sample", gaussian(sampleShape), sampleShape);
             OnnxTensor timestep = unet.floatInput("timestep", timesteps, scalar ? new long[0] : new long[]{batch});
             OnnxTensor hidden = unet.floatInput("encoder_hidden_states", gaussian(hiddenShape), hiddenShape)) {
            Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
            feeds.put("sample", sample);
            feeds.put("timestep", timestep);
            feeds.put("encoder_hidden_states", hidden);
            return time(unet, feeds);
        }
    }

    private Summary vaeDecode(OnnxModel decoder, ModelGeometry g, int width, int height) throws OrtException {
        long[] shape = {1, g.latentChannels(), g.latentHeight(height), g.latentWidth(width)};
        try (OnnxTensor latents = decoder.floatInput("latent_sample", gaussian(shape), shape)) {
            return time(decoder, Map.of("latent_sample", latents));
        }
    }

    private Summary time(OnnxModel model, Map<String, OnnxTensor> feeds) throws OrtException {
        for (int i = 0; i < warmups; i++) {
            try (OrtSession.Result ignored = model.run(feeds, null)) {
                // warm-up: result discarded
            }
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            try (OrtSession.Result ignored = model.run(feeds, null)) {
                ms[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        return Summary.of(ms);
    }

    private static float[] gaussian(long[] shape) {
        Random random = new Random(0);
        float[] values = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        return values;
    }
}
