package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a tool worker returned for one call (topic role TOOL_RESULTS, keyed by goalId).
 *
 * @param ok true when the tool succeeded; then result holds its output, else error says why
 * @param worker the id of the worker instance that ran the call
 */
public record ToolResult(
    String callId,
    String goalId,
    String tool,
    @JsonProperty(required = true) boolean ok,
    JsonNode result,
    String error,
    @JsonProperty(required = true) long durationMs,
    String worker) {

  public ToolResult {
    Require.text(callId, "callId");
    Require.text(goalId, "goalId");
    Require.text(tool, "tool");
    Require.atLeast(durationMs, 0, "durationMs");
    Require.text(worker, "worker");
    if (ok) {
      Require.check(error == null, "field \"error\" must be absent when ok is true");
    } else {
      Require.text(error, "error");
    }
  }
}
