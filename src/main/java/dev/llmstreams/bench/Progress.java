package dev.llmstreams.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;

/** Progress lines of a benchmark on stderr, so stdout stays the report. */
final class Progress {
  private final PrintStream out;
  private final Instant began = Instant.now();

  Progress(PrintStream out) {
    this.out = out;
  }

  void say(String format, Object... args) {
    out.printf("[bench %5.1fs] %s%n", Duration.between(began, Instant.now()).toMillis() / 1000.0, String.format(format, args));
    out.flush();
  }
}
