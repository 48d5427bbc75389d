package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * How a goal ended (topic role GOAL_RESULTS, keyed by goalId); exactly one per goal.
 *
 * @param answer the final answer; required when succeeded, may carry a partial answer otherwise
 * @param steps the number of controller steps taken
 * @param reason why the goal did not succeed; null exactly when it succeeded
 * @param finishedAt the stream time at which the controller finished the goal
 */
public record GoalResult(
    String goalId,
    GoalStatus status,
    String answer,
    @JsonProperty(required = true) int steps,
    Usage usage,
    @JsonProperty(required = true) double costUsd,
    @JsonProperty(required = true) long durationMs,
    String reason,
    Provenance provenance,
    Instant finishedAt) {

  public GoalResult {
    Require.text(goalId, "goalId");
    Require.present(status, "status");
    Require.atLeast(steps, 0, "steps");
    Require.present(usage, "usage");
    Require.nonNegative(costUsd, "costUsd");
    Require.atLeast(durationMs, 0, "durationMs");
    Require.present(provenance, "provenance");
    if (status == GoalStatus.SUCCEEDED) {
      Require.present(answer, "answer");
      Require.check(reason == null, "field \"reason\" must be absent when status is succeeded");
    } else {
      Require.text(reason, "reason");
    }
  }
}
