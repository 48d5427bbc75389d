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
 * @param tenant who the goal is run for: its per-tenant limits, budget and rate limits apply; null
 *     means the header {@code llmstreams-tenant}, else {@link #DEFAULT_TENANT}
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
    GoalParent parent,
    String tenant) {
  /** The tenant of a goal that names none, in its value or its header. */
  public static final String DEFAULT_TENANT = "default";

  /** The record header that names a goal's tenant when its value does not. */
  public static final String TENANT_HEADER = "llmstreams-tenant";

  private static final java.util.regex.Pattern TENANT =
      java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,64}");

  public Goal {
    Require.text(goalId, "goalId");
    Require.text(goal, "goal");
    tools = tools == null ? null : Require.list(tools, "tools");
    Require.atLeast(maxSteps, 1, "maxSteps");
    metadata = Require.map(metadata, "metadata");
    tenant = tenant == null ? null : checkTenant(tenant, "tenant");
  }

  /** A goal that names no tenant. */
  public Goal(
      String goalId,
      String goal,
      List<String> tools,
      Integer maxSteps,
      Budget budget,
      Instant deadline,
      Map<String, String> metadata,
      Instant submittedAt,
      GoalParent parent) {
    this(goalId, goal, tools, maxSteps, budget, deadline, metadata, submittedAt, parent, null);
  }

  /** The same goal, run for {@code tenant}. */
  public Goal withTenant(String tenant) {
    return new Goal(
        goalId, goal, tools, maxSteps, budget, deadline, metadata, submittedAt, parent, tenant);
  }

  /** Whether {@code name} is a valid tenant name: 1 to 64 of {@code A-Z a-z 0-9 . _ -}. */
  public static boolean isTenant(String name) {
    return name != null && TENANT.matcher(name).matches();
  }

  /**
   * {@code name} when it is a valid tenant name, else an IllegalArgumentException naming {@code
   * field}.
   */
  public static String checkTenant(String name, String field) {
    if (!isTenant(name)) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    }
    return name;
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
    this(goalId, goal, tools, maxSteps, budget, deadline, metadata, submittedAt, null, null);
  }

  public static Goal of(String goalId, String goal) {
    return new Goal(goalId, goal, null, null, null, null, Map.of(), null);
  }
}
