package dev.llmstreams.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import java.io.IOException;

/**
 * The tests' own reading of the key a record produced without one gets from its value, written
 * apart from the app's so that a test checks the app against it.
 */
public final class ValueKeys {
  private ValueKeys() {}

  /**
   * The value's {@code field} when the value is a JSON object naming it as a non-blank string; else
   * null (also when {@code field} or the value is null).
   */
  public static String of(String field, byte[] value) {
    if (field == null || value == null) {
      return null;
    }
    try {
      JsonNode node = Json.reader().readTree(value).get(field);
      return node != null && node.isTextual() && !node.asText().isBlank() ? node.asText() : null;
    } catch (IOException | RuntimeException notAnObject) {
      return null;
    }
  }
}
