package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A child goal a goal started with the {@code delegate} tool, as the parent saw it: in {@code
 * GoalResult.children} and {@code GET /goals/{id}}.
 *
 * @param goalId the child's goalId (derived from the parent's call)
 * @param callId the parent's {@code delegate} call
 * @param status how the child ended; absent while it runs, and in the result of a parent that ended
 *     first (the parent then cancelled it)
 * @param usage the tokens of the child and of its own children
 * @param costUsd the cost of the child and of its own children
 */
public record ChildGoal(
    String goalId,
    String callId,
    GoalStatus status,
    Usage usage,
    @JsonProperty(required = true) double costUsd) {
  public ChildGoal {
    Require.text(goalId, "goalId");
    Require.text(callId, "callId");
    usage = usage == null ? Usage.ZERO : usage;
    Require.nonNegative(costUsd, "costUsd");
  }

  /** A child that has started and not ended. */
  public static ChildGoal running(String goalId, String callId) {
    return new ChildGoal(goalId, callId, null, Usage.ZERO, 0);
  }
}
