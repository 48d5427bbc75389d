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
   * null (also when {@code field} or the value is null). A value in Confluent Schema Registry
   * framing (byte 0, a 4-byte schema id) is read after those five bytes.
   */
  public static String of(String field, byte[] value) {
    if (field == null || value == null) {
      return null;
    }
    try {
      int from = value.length >= 5 && value[0] == 0 ? 5 : 0;
      JsonNode node = Json.reader().readTree(value, from, value.length - from).get(field);
      return node != null && node.isTextual() && !node.asText().isBlank() ? node.asText() : null;
    } catch (IOException | RuntimeException notAnObject) {
      return null;
    }
  }
}
