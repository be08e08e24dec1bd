package dev.sdmesh.runtime.model;

import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelRegistryTest {
    @TempDir
    Path models;

    private Path model(String id) throws IOException {
        Path root = Files.createDirectories(models.resolve(id));
        Files.writeString(root.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        return root;
    }

    @Test
    void listsModelFoldersAndPicksTheDefault() throws IOException {
        model("beta");
        model("alpha");
        Files.createDirectories(models.resolve("not-a-model"));
        ModelRegistry registry = new ModelRegistry(models, null);
        assertEquals(List.of("alpha", "beta"), registry.ids());
        assertEquals("alpha", registry.defaultId());
        assertEquals("alpha", registry.get("").id());
        assertEquals("beta", new ModelRegistry(models, "beta").get(null).id());
    }

    @Test
    void rejectsIdsThatAreNotPlainFolderNames() throws IOException {
        model("ok");
        ModelRegistry registry = new ModelRegistry(models, null);
        for (String bad : new String[]{"../ok", "..", "a/b", "/etc", ".hidden", "ok/../ok", "a\\b"}) {
            ModelException e = assertThrows(ModelException.class, () -> registry.get(bad), bad);
            assertEquals(ModelException.Kind.INVALID_ID, e.kind(), bad);
            assertTrue(e.getMessage().contains("plain folder name"), e.getMessage());
        }
    }

    @Test
    void unknownModelIsNotFoundAndListsTheAvailableOnes() throws IOException {
        model("tiny");
        ModelException e = assertThrows(ModelException.class, () -> new ModelRegistry(models, null).get("sd15"));
        assertEquals(ModelException.Kind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("[tiny]"), e.getMessage());
        assertEquals(ModelException.Kind.NOT_FOUND,
                assertThrows(ModelException.class, () -> new ModelRegistry(models.resolve("none"), null).defaultId()).kind());
    }

    @Test
    void missingPartIsNamed() throws IOException {
        model("partial");
        ModelFolder folder = new ModelRegistry(models, null).get("partial");
        ModelException e = assertThrows(ModelException.class, () -> folder.onnx(ModelPart.UNET));
        assertEquals(ModelException.Kind.BROKEN, e.kind());
        assertTrue(e.getMessage().contains("unet/"), e.getMessage());

        Files.createDirectories(folder.root().resolve("unet"));
        ModelException noGraph = assertThrows(ModelException.class, () -> folder.onnx(ModelPart.UNET));
        assertTrue(noGraph.getMessage().contains("unet has no model.onnx"), noGraph.getMessage());
    }

    @Test
    void corruptOnnxGivesAClearError() throws IOException {
        Path unet = Files.createDirectories(model("corrupt").resolve("unet"));
        Files.write(unet.resolve("model.onnx"), new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9});
        ModelFolder folder = new ModelRegistry(models, null).get("corrupt");
        SessionFactory factory = new SessionFactory(SessionSettings.cpuDefaults());
        ModelException e = assertThrows(ModelException.class, () -> factory.open(folder.onnx(ModelPart.UNET)));
        assertEquals(ModelException.Kind.BROKEN, e.kind());
        assertTrue(e.getMessage().contains("cannot load ONNX model") && e.getMessage().contains("unet"), e.getMessage());
    }

    @Test
    void brokenConfigJsonIsReported() throws IOException {
        Path vae = Files.createDirectories(model("badjson").resolve("vae_decoder"));
        Files.writeString(vae.resolve("config.json"), "{not json");
        ModelFolder folder = new ModelRegistry(models, null).get("badjson");
        ModelException e = assertThrows(ModelException.class, () -> folder.config(ModelPart.VAE_DECODER));
        assertTrue(e.getMessage().contains("vae_decoder/config.json is not valid JSON"), e.getMessage());
    }
}
