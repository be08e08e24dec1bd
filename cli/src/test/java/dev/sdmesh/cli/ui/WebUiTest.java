package dev.sdmesh.cli.ui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sdmesh.cli.RunningMesh;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web UI the orchestrator serves at {@code /}, driven in headless Chromium against a real local mesh (started with
 * the CLI's own {@code up} code, tiny model on the CPU): generate, watch the progress, find the image and its infotext
 * in the gallery (also in a fresh browser's, as the server lists it), reuse its settings, inpaint, cancel a long run,
 * and see the API's validation message on a bad size.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebUiTest {
    private static final Path SCREENSHOTS = Path.of("target", "webui");
    private static final Duration GENERATION_TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RunningMesh mesh;
    private static WebDriver driver;
    private static GeneratorPage page;

    @BeforeAll
    static void up() throws Exception {
        assumeTrue(Browser.installed(), "no " + Browser.CHROMIUM + " / " + Browser.CHROMEDRIVER
                + "; install them with: apt-get install -y chromium chromium-driver");
        // Under target/ so that the services' logs are there to read when the test fails.
        Files.createDirectories(Path.of("target"));
        mesh = RunningMesh.start(Files.createTempDirectory(Path.of("target"), "webui-mesh-").toAbsolutePath(),
                Duration.ofSeconds(300));
        driver = Browser.headlessChromium();
        page = new GeneratorPage(driver).open(mesh.restUrl());
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (driver != null) {
                page.screenshot(SCREENSHOTS.resolve("final.png"));
                driver.quit();
            }
        } finally {
            if (mesh != null) assertTrue(mesh.stop(), "a mesh process is still running after down; logs in " + mesh.logsDir());
        }
    }

    @Test
    @Order(1)
    void generatesAnImageIntoTheGalleryWithItsInfotextAndReusesItsSettings() throws Exception {
        assertEquals("tiny", page.value("model"), "the mesh's only model is preselected");
        assertTrue(page.options("scheduler").containsAll(List.of("Euler a", "EulerAncestralDiscreteScheduler")),
                "samplers come from /v1/schedulers with their A1111 names: " + page.options("scheduler"));

        page.type("prompt", "a red fox in the snow, (masterpiece:1.2)")
                .type("negativePrompt", "blurry")
                .select("scheduler", "Euler a")
                .type("steps", "4")
                .type("guidanceScale", "6.5")
                .type("width", "64")
                .type("height", "64")
                .type("batchSize", "2")
                .type("seed", "1234");
        String tokens = page.waitUntil(Duration.ofSeconds(20), d -> {
            String t = page.field("prompt-tokens").getText();
            return t.matches("[1-9]\\d*/75") ? t : null;
        });
        // As in A1111, the count is of the tokens the encoder gets: the emphasis markup "(:1.2)" is not counted.
        JsonNode plain = post("/v1/tokenize", JSON.createObjectNode().put("model", "tiny")
                .put("prompt", "a red fox in the snow, masterpiece").put("promptSyntax", "none"));
        assertEquals(plain.path("tokens").size() + "/75", tokens);

        page.generate();
        page.waitUntil(GENERATION_TIMEOUT, d -> page.progressPercent() == 100);
        String id = page.requestId();
        List<WebElement> cards = page.waitUntil(Duration.ofSeconds(10), d -> {
            List<WebElement> c = page.galleryCards(id);
            return c.size() == 2 ? c : null;
        });
        for (WebElement card : cards) {
            String infotext = card.findElement(By.className("infotext")).getText();
            for (String expected : List.of("a red fox in the snow, (masterpiece:1.2)", "Negative prompt: blurry",
                    "Steps: 4", "Sampler: Euler a", "CFG scale: 6.5", "Seed: 1234", "Size: 64x64", "Model: tiny")) {
                assertTrue(infotext.contains(expected), "infotext has '" + expected + "': " + infotext);
            }
            long width = page.waitUntil(Duration.ofSeconds(10), d -> page.loadedImageWidth(card) > 0 ? page.loadedImageWidth(card) : null);
            assertEquals(64, width, "the gallery shows the 64x64 PNG the orchestrator serves");
        }
        page.screenshot(SCREENSHOTS.resolve("generated.png"));

        page.type("prompt", "something else").type("steps", "30").type("seed", "-1").type("width", "128");
        cards.get(1).findElement(By.className("reuse")).click();
        assertEquals("a red fox in the snow, (masterpiece:1.2)", page.value("prompt"));
        assertEquals("blurry", page.value("negativePrompt"));
        assertEquals("4", page.value("steps"));
        assertEquals("64", page.value("width"));
        assertEquals("Euler a", page.value("scheduler"));
        String secondSeed = cards.get(1).findElement(By.cssSelector("figcaption .muted")).getText().replace("seed ", "");
        assertEquals(secondSeed, page.value("seed"), "reuse takes that image's own seed");

        // A second browser with its own fresh profile never saw this generation: its gallery comes from the server.
        WebDriver other = Browser.headlessChromium();
        try {
            GeneratorPage fresh = new GeneratorPage(other).open(mesh.restUrl());
            List<WebElement> listed = fresh.waitUntil(Duration.ofSeconds(20), d -> {
                List<WebElement> c = fresh.galleryCards(id);
                return c.size() == 2 ? c : null;
            });
            for (int i = 0; i < listed.size(); i++) {
                assertEquals(cards.get(i).findElement(By.className("infotext")).getText(),
                        listed.get(i).findElement(By.className("infotext")).getText());
                WebElement card = listed.get(i);
                long width = fresh.waitUntil(Duration.ofSeconds(10),
                        d -> fresh.loadedImageWidth(card) > 0 ? fresh.loadedImageWidth(card) : null);
                assertEquals(64, width, "the listed image is served");
            }
            fresh.screenshot(SCREENSHOTS.resolve("gallery-from-server.png"));
        } finally {
            other.quit();
        }
    }

    @Test
    @Order(2)
    void inpaintsAnUploadedImageWithAPaintedMask() throws Exception {
        Path upload = Files.createTempFile(Path.of("target"), "webui-init-", ".png");
        BufferedImage red = new BufferedImage(96, 80, BufferedImage.TYPE_INT_RGB);
        var g = red.createGraphics();
        g.setColor(new Color(200, 30, 30));
        g.fillRect(0, 0, 96, 80);
        g.dispose();
        ImageIO.write(red, "png", upload.toFile());

        page.type("prompt", "a blue square").type("steps", "3").type("width", "64").type("height", "64")
                .type("batchSize", "1").type("seed", "42");
        page.field("generate-form").findElement(By.cssSelector("input[name=mode][value=inpaint]")).click();
        page.field("init-file").sendKeys(upload.toAbsolutePath().toString());
        page.waitUntil(Duration.ofSeconds(10), d -> ((Number) ((JavascriptExecutor) d).executeScript(
                "return document.getElementById('init-canvas').getContext('2d').getImageData(32, 32, 1, 1).data[0];"))
                .intValue() == 200);
        new Actions(driver).moveToElement(page.field("mask-canvas"), -40, 0).clickAndHold().moveByOffset(80, 0).release().perform();

        page.generate();
        page.waitUntil(GENERATION_TIMEOUT, d -> page.progressPercent() == 100 || !page.formError().getText().isEmpty());
        assertEquals("", page.formError().getText(), "the inpaint request was accepted and ran");
        WebElement card = page.waitUntil(Duration.ofSeconds(10), d -> page.galleryCards(page.requestId()).stream().findFirst().orElse(null));
        String infotext = card.findElement(By.className("infotext")).getText();
        assertTrue(infotext.contains("Denoising strength: 0.75"), infotext);
        page.screenshot(SCREENSHOTS.resolve("inpainted.png"));
        page.field("generate-form").findElement(By.cssSelector("input[name=mode][value=txt2img]")).click();
    }

    @Test
    @Order(3)
    void cancelStopsALongRun() throws Exception {
        page.type("prompt", "a long run").type("steps", "150").type("width", "256").type("height", "256")
                .type("batchSize", "1").type("seed", "-1");
        page.generate();
        page.waitUntil(GENERATION_TIMEOUT, d -> page.progressLabel().startsWith("step "));
        int before = page.progressPercent();
        page.cancel();
        page.waitUntil(Duration.ofSeconds(60), d -> page.progressLabel().equals("cancelled"));
        assertTrue(page.progressPercent() < 100, "stopped at " + page.progressPercent() + "% (was " + before + "%)");
        assertTrue(page.field("generate").isEnabled(), "the form is usable again");
        assertEquals("cancelled", status(page.requestId()).path("status").asText(), "the orchestrator cancelled it");
    }

    @Test
    @Order(4)
    void aBadSizeShowsTheApiValidationMessageNextToTheField() throws Exception {
        page.type("steps", "4").type("width", "65").type("height", "64").type("prompt", "x");
        page.field("prompt").sendKeys(Keys.chord(Keys.CONTROL, Keys.ENTER)); // A1111's shortcut for Generate
        String message = page.waitUntil(Duration.ofSeconds(20), d -> {
            String m = page.fieldError("width");
            return m.isEmpty() ? null : m;
        });
        assertTrue(message.contains("multiple of 8") && message.contains("65"), message);
        assertTrue(page.fieldMarkedInvalid("width"));
        assertTrue(page.formError().isDisplayed() && page.formError().getText().startsWith("width: "), page.formError().getText());
        assertEquals("not started", page.progressLabel());
        page.screenshot(SCREENSHOTS.resolve("validation.png"));
    }

    private static JsonNode status(String id) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(mesh.restUrl() + "/v1/generations/" + id)).build());
    }

    private static JsonNode post(String path, JsonNode body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(mesh.restUrl() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    private static JsonNode send(HttpRequest request) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }
}
