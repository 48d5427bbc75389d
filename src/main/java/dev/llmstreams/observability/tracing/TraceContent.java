package dev.llmstreams.observability.tracing;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.llmstreams.events.Json;

/**
 * Prompt, completion and tool content put on spans only when {@code tracing.capture.content} is on,
 * as JSON strings (the GenAI conventions allow a JSON string where a structured attribute is not
 * supported), capped so one span cannot carry a whole document.
 */
public final class TraceContent {
  /** Longest content attribute, in characters. */
  public static final int MAX_CHARS = 16_384;

  private TraceContent() {}

  public static String json(Object value) {
    if (value == null) {
      return null;
    }
    String text;
    try {
      text = Json.writer().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      text = String.valueOf(value);
    }
    return cap(text);
  }

  public static String cap(String text) {
    if (text == null || text.length() <= MAX_CHARS) {
      return text;
    }
    return text.substring(0, MAX_CHARS) + "…";
  }
}
