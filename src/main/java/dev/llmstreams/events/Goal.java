package dev.llmstreams.events;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A goal submitted by a user (topic role GOALS, keyed by goalId). The controller plans and runs it.
 *
 * @param tools the tool names the goal may use; absent (null) means the operator's default set
 *     (every registered tool); an empty list means none: the goal is answered without tools
 * @param maxSteps the step limit; null means the controller's configured default
 * @param budget token and cost limits; null means the configured default
 * @param deadline when the goal times out; null means the configured default
 * @param submittedAt when the user submitted it, as the producer saw it (informational)
 * @param parent set by the controller on a child goal that a goal's {@code delegate} call started;
 *     absent on goals users submit
 */
public record Goal(
    String goalId,
    String goal,
    List<String> tools,
    Integer maxSteps,
    Budget budget,
    Instant deadline,
    Map<String, String> metadata,
    Instant submittedAt,
    GoalParent parent) {

  public Goal {
    Require.text(goalId, "goalId");
    Require.text(goal, "goal");
    tools = tools == null ? null : Require.list(tools, "tools");
    Require.atLeast(maxSteps, 1, "maxSteps");
    metadata = Require.map(metadata, "metadata");
  }

  /** A goal as users submit it: no parent. */
  public Goal(
      String goalId,
      String goal,
      List<String> tools,
      Integer maxSteps,
      Budget budget,
      Instant deadline,
      Map<String, String> metadata,
      Instant submittedAt) {
    this(goalId, goal, tools, maxSteps, budget, deadline, metadata, submittedAt, null);
  }

  public static Goal of(String goalId, String goal) {
    return new Goal(goalId, goal, null, null, null, null, Map.of(), null);
  }
}
