package dev.llmstreams.events;

/**
 * The goal that started a child goal with the {@code delegate} tool, carried by the child (field
 * {@code parent} of a goal). Set by the controller; the child's result goes back to the parent as
 * the result of that call.
 *
 * @param goalId the parent goal
 * @param callId the parent's {@code delegate} call the child answers
 * @param depth the child's depth in the tree: 1 for a child of a goal a user submitted
 */
public record GoalParent(String goalId, String callId, int depth) {
  public GoalParent {
    Require.text(goalId, "goalId");
    Require.text(callId, "callId");
    Require.atLeast(depth, 1, "depth");
  }
}
