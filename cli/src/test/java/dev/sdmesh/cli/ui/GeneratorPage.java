package dev.sdmesh.cli.ui;

import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/** The generation page as a user sees it: fields by id, the progress bar, the gallery. */
final class GeneratorPage {
    private final WebDriver driver;

    GeneratorPage(WebDriver driver) {
        this.driver = driver;
    }

    /** Loads the page and waits until the model and sampler lists have been fetched. */
    GeneratorPage open(String baseUrl) {
        driver.get(baseUrl + "/");
        waitUntil(Duration.ofSeconds(30), d -> "true".equals(d.findElement(By.tagName("body")).getAttribute("data-ready")));
        return this;
    }

    WebElement field(String id) {
        return driver.findElement(By.id(id));
    }

    /** Replaces a text or number field's value as typing would. */
    GeneratorPage type(String id, String value) {
        WebElement e = field(id);
        e.clear();
        e.sendKeys(value);
        return this;
    }

    String value(String id) {
        return field(id).getDomProperty("value");
    }

    GeneratorPage select(String id, String value) {
        new Select(field(id)).selectByValue(value);
        return this;
    }

    List<String> options(String id) {
        return new Select(field(id)).getOptions().stream().map(o -> o.getDomProperty("value")).toList();
    }

    void generate() {
        field("generate").click();
    }

    void cancel() {
        field("cancel").click();
    }

    int progressPercent() {
        return Integer.parseInt(field("progress").getAttribute("aria-valuenow"));
    }

    String progressLabel() {
        return field("progress-label").getText();
    }

    /** The id of the generation the page last started. */
    String requestId() {
        return field("progress").getAttribute("data-request-id");
    }

    String fieldError(String field) {
        return driver.findElement(By.cssSelector("[data-error-for='" + field + "']")).getText();
    }

    boolean fieldMarkedInvalid(String field) {
        return driver.findElement(By.cssSelector(".field[data-field='" + field + "']")).getAttribute("class").contains("invalid");
    }

    WebElement formError() {
        return field("form-error");
    }

    List<WebElement> galleryCards(String requestId) {
        return driver.findElements(By.cssSelector("#gallery .card[data-request-id='" + requestId + "']"));
    }

    /** Width of a card's image once the browser has loaded and decoded it, 0 before. */
    long loadedImageWidth(WebElement card) {
        Object width = ((JavascriptExecutor) driver).executeScript(
                "const img = arguments[0].querySelector('img'); return img.complete ? img.naturalWidth : 0;", card);
        return ((Number) width).longValue();
    }

    <T> T waitUntil(Duration timeout, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, timeout, Duration.ofMillis(100)).until(condition);
    }

    Path screenshot(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        return Files.write(file, png);
    }
}
