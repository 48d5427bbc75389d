package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Compares a generated page with the committed file, or, with {@code -Ddocs.write=true}, writes it.
 * Paths are relative to the project folder, where Maven runs the tests.
 */
public final class GeneratedDocs {
  public static final String WRITE_PROPERTY = "docs.write";

  private GeneratedDocs() {}

  /** True when the tests should write the pages instead of comparing them. */
  public static boolean writing() {
    return Boolean.getBoolean(WRITE_PROPERTY);
  }

  /**
   * Writes {@code generated} to {@code file} when {@link #writing}, else fails unless the file
   * holds exactly it.
   */
  public static void check(String file, String generated, String regenerate) {
    if (writing()) {
      write(Path.of(file), generated);
      return;
    }
    mismatch(file, read(Path.of(file)), generated, regenerate).ifPresent(message -> fail(message));
  }

  /**
   * {@link #check} for a page made from a running app, whose last parts may still be on their way:
   * compared again until it matches or {@code within} passes.
   */
  public static void checkEventually(
      String file, Supplier<String> generated, String regenerate, Duration within)
      throws InterruptedException {
    if (writing()) {
      write(Path.of(file), generated.get());
      return;
    }
    String committed = read(Path.of(file));
    await()
        .atMost(within)
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> mismatch(file, committed, generated.get(), regenerate).ifPresent(m -> fail(m)));
  }

  /**
   * What is wrong when {@code committed} (null: no file) is not {@code generated}; empty when they
   * are the same.
   */
  static Optional<String> mismatch(
      String file, String committed, String generated, String regenerate) {
    if (generated.equals(committed)) {
      return Optional.empty();
    }
    String how = "; regenerate it with `" + regenerate + "` and commit it";
    if (committed == null) {
      return Optional.of(file + " is missing" + how);
    }
    List<String> was = committed.lines().toList();
    List<String> is = generated.lines().toList();
    int line = 0;
    while (line < was.size() && line < is.size() && was.get(line).equals(is.get(line))) {
      line++;
    }
    return Optional.of(
        file
            + " is stale: it differs from what the code generates, first at line "
            + (line + 1)
            + "\n  committed: "
            + (line < was.size() ? was.get(line) : "(end of file)")
            + "\n  generated: "
            + (line < is.size() ? is.get(line) : "(end of file)")
            + "\n"
            + how.substring(2));
  }

  /** The file's text, or null when there is none. */
  public static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void write(Path file, String text) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, text, StandardCharsets.UTF_8);
      System.out.println("wrote " + file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
