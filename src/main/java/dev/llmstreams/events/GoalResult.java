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
 * @param parentGoalId the goal whose {@code delegate} call started this one; absent for goals users
 *     submitted
 * @param children the child goals this goal started with {@code delegate}, in call order; absent
 *     when it started none
 * @param totalUsage tokens of the goal and of all its children (their children included); present
 *     exactly when {@code children} is ({@code usage} is the goal's own)
 * @param totalCostUsd cost of the goal and of all its children; present exactly when {@code
 *     children} is ({@code costUsd} is the goal's own)
 * @param metadata the goal's {@code metadata}, passed back so that a consumer of results has it
 *     without joining the result to its goal; absent when the goal had none
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
    Instant finishedAt,
    String parentGoalId,
    java.util.List<ChildGoal> children,
    Usage totalUsage,
    Double totalCostUsd,
    java.util.Map<String, String> metadata) {

  /** The result of a goal that has no parent and started no children. */
  public GoalResult(
      String goalId,
      GoalStatus status,
      String answer,
      int steps,
      Usage usage,
      double costUsd,
      long durationMs,
      String reason,
      Provenance provenance,
      Instant finishedAt) {
    this(
        goalId,
        status,
        answer,
        steps,
        usage,
        costUsd,
        durationMs,
        reason,
        provenance,
        finishedAt,
        null,
        null,
        null,
        null,
        null);
  }

  public GoalResult {
    Require.text(goalId, "goalId");
    Require.present(status, "status");
    Require.atLeast(steps, 0, "steps");
    Require.present(usage, "usage");
    Require.nonNegative(costUsd, "costUsd");
    Require.atLeast(durationMs, 0, "durationMs");
    Require.present(provenance, "provenance");
    Require.optionalText(parentGoalId, "parentGoalId");
    children = children == null || children.isEmpty() ? null : java.util.List.copyOf(children);
    metadata = metadata == null || metadata.isEmpty() ? null : Require.map(metadata, "metadata");
    Require.check(
        (children == null) == (totalUsage == null) && (children == null) == (totalCostUsd == null),
        "fields \"totalUsage\" and \"totalCostUsd\" must be present exactly when \"children\" is");
    if (totalCostUsd != null) {
      Require.nonNegative(totalCostUsd, "totalCostUsd");
    }
    if (status == GoalStatus.SUCCEEDED) {
      Require.present(answer, "answer");
      Require.check(reason == null, "field \"reason\" must be absent when status is succeeded");
    } else {
      Require.text(reason, "reason");
    }
  }
}
