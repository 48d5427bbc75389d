package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import dev.llmstreams.events.ToolResult;

/**
 * What the worker keeps per callId in store {@code tools-executed}: the result it sent, to send it
 * again for a repeated call instead of running the tool twice.
 *
 * <p>Compatibility: the store outlives versions of the app, so a field added later must read as its
 * default when absent (as {@code executedAtMs} does: 0, which the next clean-up treats as expired),
 * and no field may be removed.
 *
 * @param executedAtMs wall-clock time the call was answered, for {@code tools.retention.ms}
 */
public record ExecutedCall(
    ToolResult result, @JsonSetter(nulls = Nulls.AS_EMPTY) long executedAtMs) {
  public ExecutedCall {
    if (result == null) {
      throw new IllegalArgumentException("field \"result\" is required");
    }
  }
}
