package dev.llmstreams.events;

import java.time.Instant;

/**
 * A request to stop a running goal (topic role GOAL_CANCELLATIONS, keyed by goalId). The controller
 * ends the goal {@code cancelled}, with one result; a goal already finished, or never seen, is left
 * as it is.
 *
 * @param reason why, shown in the goal's result; optional
 * @param by who asked
 * @param at when they asked; optional (informational)
 */
public record GoalCancellation(String goalId, String reason, String by, Instant at) {
  public GoalCancellation {
    Require.text(goalId, "goalId");
    Require.optionalText(reason, "reason");
    Require.text(by, "by");
  }
}
