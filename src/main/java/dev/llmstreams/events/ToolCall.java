package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * A call of a tool (topic role TOOL_CALLS, one topic per tool, keyed by goalId). Workers are
 * idempotent on callId.
 *
 * @param callId the idempotency key, {@code goalId/step/index}; a retry keeps it and raises attempt
 * @param index the position of the call among the calls of its step, from 0
 * @param arguments the arguments as a JSON object, already validated against the tool's schema
 * @param attempt 1 for the first try
 * @param timeoutMs how long the worker may spend on one attempt
 * @param deadline after this the result is no longer wanted; optional
 */
public record ToolCall(
    String callId,
    String goalId,
    @JsonProperty(required = true) int step,
    @JsonProperty(required = true) int index,
    String tool,
    JsonNode arguments,
    @JsonProperty(required = true) int attempt,
    @JsonProperty(required = true) long timeoutMs,
    Instant deadline) {

  public ToolCall {
    Require.text(callId, "callId");
    Require.text(goalId, "goalId");
    Require.atLeast(step, 0, "step");
    Require.atLeast(index, 0, "index");
    Require.text(tool, "tool");
    Require.present(arguments, "arguments");
    Require.check(arguments.isObject(), "field \"arguments\" must be a JSON object");
    Require.atLeast(attempt, 1, "attempt");
    Require.atLeast(timeoutMs, 1, "timeoutMs");
    Require.check(
        callId.equals(callId(goalId, step, index)),
        "field \"callId\" must be goalId/step/index ("
            + callId(goalId, step, index)
            + ") but was "
            + callId);
  }

  public static String callId(String goalId, int step, int index) {
    return goalId + "/" + step + "/" + index;
  }
}
