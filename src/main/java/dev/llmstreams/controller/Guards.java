package dev.llmstreams.controller;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.config.TenantSettings;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.Usage;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The controller's guards, as plain functions of a goal's state: its limits (the goal's own, capped
 * by the operator's), the tool allowlist, argument validation against each tool's JSON Schema,
 * budgets, steps and repairs. The operator's settings are both the defaults and the ceilings: a
 * goal may narrow them, never widen them.
 */
final class Guards {
  /**
   * The built-in tool that hands a subtask to a child goal ({@code topics/tools/delegate.json});
   * the controller runs its calls itself.
   */
  static final String DELEGATE = ToolRegistry.DELEGATE;

  /** The operator's limits (config {@code controller.*}). */
  record Settings(
      int maxSteps,
      long maxTokens,
      double maxCostUsd,
      long deadlineMs,
      int maxRepairs,
      int maxGoalChars,
      int maxAnswerChars,
      int maxStateBytes,
      int maxArgumentsChars,
      int maxDelegationDepth) {
    /**
     * With the default limits on a goal's text, its answer, its state and its tool calls'
     * arguments.
     */
    Settings(int maxSteps, long maxTokens, double maxCostUsd, long deadlineMs, int maxRepairs) {
      this(
          maxSteps,
          maxTokens,
          maxCostUsd,
          deadlineMs,
          maxRepairs,
          AppConfig.DEFAULT_CONTROLLER_MAX_GOAL_CHARS,
          AppConfig.DEFAULT_CONTROLLER_MAX_ANSWER_CHARS,
          AppConfig.DEFAULT_CONTROLLER_MAX_STATE_BYTES,
          AppConfig.DEFAULT_CONTROLLER_MAX_ARGUMENTS_CHARS,
          AppConfig.DEFAULT_CONTROLLER_MAX_DELEGATION_DEPTH);
    }

    static Settings from(AppConfig config) {
      return new Settings(
          config.getInt(AppConfig.CONTROLLER_MAX_STEPS),
          config.getLong(AppConfig.CONTROLLER_MAX_TOKENS),
          config.getDouble(AppConfig.CONTROLLER_MAX_COST_USD),
          config.getLong(AppConfig.CONTROLLER_DEADLINE_MS),
          config.getInt(AppConfig.CONTROLLER_MAX_REPAIRS),
          config.getInt(AppConfig.CONTROLLER_MAX_GOAL_CHARS),
          config.getInt(AppConfig.CONTROLLER_MAX_ANSWER_CHARS),
          config.getInt(AppConfig.CONTROLLER_MAX_STATE_BYTES),
          config.getInt(AppConfig.CONTROLLER_MAX_ARGUMENTS_CHARS),
          config.getInt(AppConfig.CONTROLLER_MAX_DELEGATION_DEPTH));
    }
  }

  /** The limits one goal runs under, or why it is refused. */
  record Limits(
      List<String> tools,
      int maxSteps,
      long maxTokens,
      double maxCostUsd,
      long deadlineMs,
      String refusal) {}

  private final Settings settings;
  private final ToolRegistry registry;
  private final boolean approvals;
  private final TenantBudgets tenants;

  Guards(Settings settings, ToolRegistry registry) {
    this(settings, registry, true, TenantBudgets.NONE);
  }

  private Guards(
      Settings settings, ToolRegistry registry, boolean approvals, TenantBudgets tenants) {
    this.settings = settings;
    this.registry = registry;
    this.approvals = approvals;
    this.tenants = tenants;
  }

  /**
   * The same guards with the tenants' settings: a tenant's {@code controller.tenant.<t>.max.*} and
   * {@code .deadline.ms} replace the operator's limits for its goals, and its budget caps all of
   * them together.
   */
  Guards withTenants(TenantBudgets tenants) {
    return new Guards(settings, registry, approvals, tenants);
  }

  TenantBudgets tenants() {
    return tenants;
  }

  /**
   * The same guards, dispatching calls of tools that require approval without holding them: for a
   * replay, whose tool worker never runs a tool with effects (it answers such a call from the
   * original run's result, or as not executed), so there is nothing for a person to approve.
   */
  Guards withoutApprovals() {
    return new Guards(settings, registry, false, tenants);
  }

  /** Whether a call of this tool waits for a person's approval before it is dispatched. */
  boolean holdsForApproval(ToolDefinition tool) {
    return approvals && tool.requiresApproval();
  }

  Settings settings() {
    return settings;
  }

  ToolRegistry registry() {
    return registry;
  }

  /**
   * The goal's limits at {@code nowMs}; {@code refusal} is set when the goal names tools the
   * registry lacks. The ceilings are its tenant's ({@code controller.tenant.<t>.*}) where set, else
   * the operator's.
   */
  Limits limits(Goal goal, long nowMs) {
    List<String> tools;
    String refusal = null;
    int depth = goal.parent() == null ? 0 : goal.parent().depth();
    if (goal.tools() == null) {
      // No list: the operator's default set, every registered tool but delegate, which multiplies
      // a goal's spend and is given only to goals that list it.
      tools = registry.names().stream().filter(t -> !t.equals(DELEGATE)).toList();
      if (tools.isEmpty()) {
        refusal = "no tools are registered";
      }
    } else {
      // A list, even an empty one, is the goal's allowlist: [] means no tools at all.
      List<String> unknown = goal.tools().stream().filter(t -> registry.find(t).isEmpty()).toList();
      if (!unknown.isEmpty()) {
        refusal =
            "the goal allows tools that do not exist: "
                + unknown
                + "; known tools: "
                + registry.names();
        tools = List.of();
      } else {
        tools = goal.tools().stream().distinct().sorted().toList();
        if (tools.contains(DELEGATE) && depth >= settings.maxDelegationDepth()) {
          refusal =
              settings.maxDelegationDepth() == 0
                  ? "the goal allows delegate, but delegation is off"
                      + " (controller.max.delegation.depth is 0)"
                  : "the goal allows delegate at depth "
                      + depth
                      + ", the limit (controller.max.delegation.depth is "
                      + settings.maxDelegationDepth()
                      + ")";
        }
      }
    }
    TenantSettings tenant =
        tenants.tenants().get(goal.tenant() == null ? Goal.DEFAULT_TENANT : goal.tenant());
    int stepCeiling =
        tenant != null && tenant.maxSteps() != null ? tenant.maxSteps() : settings.maxSteps();
    int maxSteps = goal.maxSteps() == null ? stepCeiling : Math.min(goal.maxSteps(), stepCeiling);
    long maxTokens =
        tenant != null && tenant.maxTokens() != null ? tenant.maxTokens() : settings.maxTokens();
    double maxCost =
        tenant != null && tenant.maxCostUsd() != null ? tenant.maxCostUsd() : settings.maxCostUsd();
    if (goal.budget() != null) {
      if (goal.budget().maxTokens() != null) {
        maxTokens = Math.min(maxTokens, goal.budget().maxTokens());
      }
      if (goal.budget().maxCostUsd() != null) {
        maxCost = Math.min(maxCost, goal.budget().maxCostUsd());
      }
    }
    long deadlineMs =
        tenant != null && tenant.deadlineMs() != null ? tenant.deadlineMs() : settings.deadlineMs();
    long ceiling = nowMs + deadlineMs;
    long deadline =
        goal.deadline() == null ? ceiling : Math.min(ceiling, goal.deadline().toEpochMilli());
    return new Limits(tools, maxSteps, maxTokens, maxCost, deadline, refusal);
  }

  /**
   * The problems of one tool call the LLM asked for: a tool outside the goal's allowlist (whatever
   * the registry holds: a tool the goal did not allow is as unknown to it as one that does not
   * exist), or arguments that do not match the tool's schema. Empty: the call may be dispatched.
   */
  List<String> check(ToolCallRequest call, Set<String> allowed) {
    if (!allowed.contains(call.name())) {
      return List.of(
          "tool '"
              + call.name()
              + "' is not available to this goal; available: "
              + allowed.stream().sorted().toList());
    }
    int chars = call.arguments() == null ? 0 : call.arguments().toString().length();
    if (chars > settings.maxArgumentsChars()) {
      // Refused before the schema check: such a call would make tool-calls and goal-events records
      // over the limit.
      return List.of(
          String.format(
              java.util.Locale.ROOT,
              "the arguments for %s have %,d characters; the limit is %,d"
                  + " (controller.max.arguments.chars)",
              call.name(),
              chars,
              settings.maxArgumentsChars()));
    }
    List<String> problems = new ArrayList<>();
    for (String p : registry.validate(call.name(), call.arguments())) {
      problems.add("invalid arguments for " + call.name() + ": " + p);
    }
    if (problems.isEmpty() && DELEGATE.equals(call.name())) {
      // A child's tools are a subset of its parent's: delegation never widens the allowlist.
      List<String> foreign = new ArrayList<>();
      call.arguments().path("tools").forEach(t -> foreign.add(t.asText()));
      foreign.removeIf(allowed::contains);
      if (!foreign.isEmpty()) {
        problems.add(
            "delegate may hand on only tools this goal has: "
                + foreign
                + " are not among "
                + allowed.stream().sorted().toList());
      }
    }
    return problems;
  }

  /** Why no further LLM call may be made for the spend so far, or empty. */
  static Optional<String> budgetSpent(
      Usage usage, double costUsd, long maxTokens, double maxCostUsd) {
    if (usage.totalTokens() >= maxTokens) {
      return Optional.of(
          "token budget spent: " + usage.totalTokens() + " of " + maxTokens + " tokens used");
    }
    if (costUsd > maxCostUsd || (maxCostUsd == 0 && costUsd > 0)) {
      return Optional.of(
          String.format(
              java.util.Locale.ROOT,
              "cost budget spent: $%.6f of $%.6f used",
              costUsd,
              maxCostUsd));
    }
    return Optional.empty();
  }

  /** Why step {@code nextStep} may not start, or empty. */
  static Optional<String> stepLimit(int nextStep, int maxSteps) {
    return nextStep > maxSteps
        ? Optional.of("step limit reached: " + maxSteps + " LLM turns without a final answer")
        : Optional.empty();
  }

  /**
   * Whether another turn of invalid calls may be fed back for repair ({@code repairs} counts this
   * one).
   */
  boolean mayRepair(int repairs) {
    return repairs <= settings.maxRepairs();
  }
}
