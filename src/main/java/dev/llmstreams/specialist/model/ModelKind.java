package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;

/** Which recipe a specialist model follows; each has its own artifact format. */
public enum ModelKind {
  /** Hashed word and character n-grams, softmax regression: fastest, no native code. */
  HASHED("specialist-hashed-v1"),
  /** Sentence embeddings (of {@link TrainingOptions#encoder}, MiniLM by default), softmax head. */
  EMBEDDING("specialist-embedding-v1"),
  /** Both, each temperature-scaled, probabilities averaged: the most accurate. */
  ENSEMBLE("specialist-ensemble-v1"),
  /**
   * The hashed model first; only the texts it is unsure of pay for the sentence encoder and get the
   * ensemble's answer: about an ensemble's accuracy at a fraction of its cost.
   */
  CASCADE("specialist-cascade-v1");

  private final String format;

  ModelKind(String format) {
    this.format = format;
  }

  /** The {@code format} of its {@link dev.llmstreams.events.SpecialistModel} records. */
  public String format() {
    return format;
  }

  @JsonValue
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static ModelKind of(String id) {
    return Arrays.stream(values())
        .filter(k -> k.id().equals(id))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown model kind '" + id + "' (hashed, embedding, ensemble or cascade)"));
  }

  public static ModelKind ofFormat(String format) {
    return Arrays.stream(values())
        .filter(k -> k.format.equals(format))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown model format '"
                        + format
                        + "' (this build reads "
                        + String.join(", ", Arrays.stream(values()).map(ModelKind::format).toList())
                        + ")"));
  }
}
