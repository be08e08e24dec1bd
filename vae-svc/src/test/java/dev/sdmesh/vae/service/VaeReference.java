package dev.sdmesh.vae.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.vae.pipeline.LatentDistribution;
import dev.sdmesh.vae.pipeline.VaeConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.StreamSupport;

/** The public reference cases as the VAE tests use them. */
public final class VaeReference {
    private VaeReference() {
    }

    /** Every public case entry of cases.json. */
    public static List<JsonNode> cases() {
        return StreamSupport.stream(ReferenceData.json("cases.json").path("cases").spliterator(), false).toList();
    }

    /** The first public case of a pipeline ("txt2img", "img2img", "inpaint"). */
    public static JsonNode firstCase(String pipeline) {
        return cases().stream().filter(c -> c.path("pipeline").asText().equals(pipeline)).findFirst()
                .orElseThrow(() -> new AssertionError("no public " + pipeline + " case"));
    }

    /** {@code cases/<id>/<name>}, relative to public/. */
    public static String file(JsonNode testCase, String name) {
        return "cases/" + testCase.path("id").asText() + "/" + name;
    }

    public static float[] floats(JsonNode testCase, String name) {
        return ReferenceData.npy(file(testCase, name + ".npy")).toFloats();
    }

    public static byte[] bytes(JsonNode testCase, String fileName) {
        try {
            return Files.readAllBytes(ReferenceData.publicDir().resolve(file(testCase, fileName)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Scaled latents from torch's recorded {@code latent_dist.parameters} ({@code parametersName}, e.g.
     * "vae_latent_parameters_masked"): sampled with the noise {@code eps}, or the mean when eps is null.
     */
    public static float[] scaledLatents(JsonNode testCase, String parametersName, float[] eps) {
        var parameters = ReferenceData.npy(file(testCase, parametersName + ".npy"));
        LatentDistribution distribution = LatentDistribution.fromParameters(parameters.toFloats(), parameters.shape());
        float[] z = eps == null ? distribution.mode() : distribution.sample(eps);
        float scaling = VaeConfig.from(ReferenceData.json("../model/vae_encoder/config.json")).scalingFactor();
        float[] out = new float[z.length];
        for (int i = 0; i < z.length; i++) out[i] = scaling * z[i];
        return out;
    }
}
