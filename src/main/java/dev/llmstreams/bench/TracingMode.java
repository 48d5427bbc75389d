package dev.llmstreams.bench;

import java.util.List;
import java.util.Locale;

/**
 * What a benchmark's {@code --tracing} asks for: the apps under bench with tracing off (as before
 * tracing existed, apart from the traceparent header every record carries), on (spans recorded to
 * the spans topic and exported over OTLP to an {@link OtlpSink}), or both in the same run to
 * compare.
 */
public enum TracingMode {
  OFF,
  ON,
  COMPARE;

  /** The value of {@code --tracing}: off, on or compare. */
  public static TracingMode parse(String value) {
    if (value == null) {
      return OFF;
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "off" -> OFF;
      case "on" -> ON;
      case "compare" -> COMPARE;
      default ->
          throw new IllegalArgumentException(
              "--tracing must be off, on or compare, not '" + value + "'");
    };
  }

  /** The tracing settings the bench's apps run with: false, true, or both (off first). */
  public List<Boolean> variants() {
    return switch (this) {
      case OFF -> List.of(false);
      case ON -> List.of(true);
      case COMPARE -> List.of(false, true);
    };
  }

  /** Whether spans are recorded and exported in some run, so an OTLP sink is needed. */
  public boolean exports() {
    return this != OFF;
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** How a report names a run with tracing on or off. */
  public static String label(boolean tracing) {
    return tracing ? "on" : "off";
  }
}
