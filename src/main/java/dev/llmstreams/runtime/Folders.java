package dev.llmstreams.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary folders the commands make (state of a replay, a bench or a chaos run). */
public final class Folders {
  private Folders() {}

  /**
   * Deletes a folder and everything in it, as far as it can: a temporary folder left behind (in
   * part, or because it is gone already) harms nothing, so nothing is thrown.
   */
  public static void deleteQuietly(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // a temporary folder left behind
    }
  }
}
