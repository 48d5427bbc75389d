package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Budget;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.Usage;
import dev.llmstreams.runtime.tools.ToolRegistry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GuardsTest {
  private static final long NOW = Instant.parse("2026-11-28T08:00:00Z").toEpochMilli();
  private final Guards guards =
      new Guards(new Guards.Settings(10, 10_000, 0.5, 60_000, 2), ToolRegistry.load(""));

  private static Goal goal(List<String> tools, Integer maxSteps, Budget budget, Instant deadline) {
    return new Goal("g", "x", tools, maxSteps, budget, deadline, Map.of(), null);
  }

  @Test
  void shouldUseTheOperatorsLimitsWhenTheGoalNamesNone() {
    Guards.Limits l = guards.limits(goal(null, null, null, null), NOW);
    assertThat(l.refusal()).isNull();
    assertThat(l.tools())
        .containsExactly("ask_human", "calculator", "classify", "http_get", "publish", "synthesis");
    assertThat(l.maxSteps()).isEqualTo(10);
    assertThat(l.maxTokens()).isEqualTo(10_000);
    assertThat(l.maxCostUsd()).isEqualTo(0.5);
    assertThat(l.deadlineMs()).isEqualTo(NOW + 60_000);
  }

  @Test
  void shouldTakeATenantsLimitsAsItsGoalsDefaultsAndCeilings() {
    Guards tenants =
        guards.withTenants(
            TenantBudgets.from(
                AppConfig.of(
                    Map.of(
                        "controller.tenant.acme.max.steps", "4",
                        "controller.tenant.acme.max.tokens", "2000",
                        "controller.tenant.acme.max.cost.usd", "2.5",
                        "controller.tenant.acme.deadline.ms", "9000"))));
    Goal acme = goal(null, null, null, null).withTenant("acme");
    Guards.Limits l = tenants.limits(acme, NOW);
    assertThat(l.maxSteps()).isEqualTo(4);
    assertThat(l.maxTokens()).isEqualTo(2_000);
    assertThat(l.maxCostUsd()).isEqualTo(2.5);
    assertThat(l.deadlineMs()).isEqualTo(NOW + 9_000);
    Guards.Limits wide =
        tenants.limits(
            goal(null, 50, new Budget(1_000_000L, 100.0), Instant.ofEpochMilli(NOW + 3_600_000))
                .withTenant("acme"),
            NOW);
    assertThat(wide.maxSteps()).as("a goal may not widen its tenant's ceiling").isEqualTo(4);
    assertThat(wide.maxTokens()).isEqualTo(2_000);
    assertThat(wide.maxCostUsd()).isEqualTo(2.5);
    assertThat(wide.deadlineMs()).isEqualTo(NOW + 9_000);
    Guards.Limits narrow =
        tenants.limits(goal(null, 2, new Budget(100L, 0.1), null).withTenant("acme"), NOW);
    assertThat(narrow.maxSteps()).isEqualTo(2);
    assertThat(narrow.maxTokens()).isEqualTo(100);
    assertThat(narrow.maxCostUsd()).isEqualTo(0.1);
    Guards.Limits other = tenants.limits(goal(null, null, null, null).withTenant("globex"), NOW);
    assertThat(other.maxSteps())
        .as("an unconfigured tenant runs under the operator's")
        .isEqualTo(10);
    assertThat(other.maxCostUsd()).isEqualTo(0.5);
    assertThat(tenants.limits(goal(null, null, null, null), NOW).maxTokens()).isEqualTo(10_000);
  }

  @Test
  void shouldAllowNoToolToAGoalWhoseListIsEmpty() {
    Guards.Limits l = guards.limits(goal(List.of(), null, null, null), NOW);
    assertThat(l.refusal()).isNull();
    assertThat(l.tools()).isEmpty();
  }

  @Test
  void shouldLetAGoalNarrowItsLimitsButNeverWidenThem() {
    Guards.Limits narrow =
        guards.limits(
            goal(
                List.of("calculator"),
                3,
                new Budget(500L, 0.01),
                Instant.ofEpochMilli(NOW + 5_000)),
            NOW);
    assertThat(narrow.tools()).containsExactly("calculator");
    assertThat(narrow.maxSteps()).isEqualTo(3);
    assertThat(narrow.maxTokens()).isEqualTo(500);
    assertThat(narrow.maxCostUsd()).isEqualTo(0.01);
    assertThat(narrow.deadlineMs()).isEqualTo(NOW + 5_000);
    Guards.Limits wide =
        guards.limits(
            goal(
                List.of(),
                1000,
                new Budget(1_000_000L, 99.0),
                Instant.ofEpochMilli(NOW + 86_400_000)),
            NOW);
    assertThat(wide.maxSteps()).isEqualTo(10);
    assertThat(wide.maxTokens()).isEqualTo(10_000);
    assertThat(wide.maxCostUsd()).isEqualTo(0.5);
    assertThat(wide.deadlineMs()).isEqualTo(NOW + 60_000);
  }

  @Test
  void shouldRefuseAGoalThatAllowsAToolThatDoesNotExist() {
    Guards.Limits l = guards.limits(goal(List.of("calculator", "shell"), null, null, null), NOW);
    assertThat(l.refusal()).contains("[shell]").contains("calculator");
  }

  @Test
  void shouldRefuseACallToAToolOutsideTheAllowlistEvenIfItIsRegistered() {
    ToolCallRequest call =
        new ToolCallRequest("1", "publish", Json.tree("{\"topic\":\"t\",\"record\":{}}"));
    assertThat(guards.check(call, Set.of("calculator")))
        .singleElement()
        .asString()
        .contains("'publish' is not available")
        .contains("calculator");
    assertThat(guards.check(call, Set.of("publish"))).isEmpty();
    assertThat(
            guards.check(new ToolCallRequest("2", "shell", Json.tree("{}")), Set.of("calculator")))
        .singleElement()
        .asString()
        .contains("'shell' is not available");
  }

  @Test
  void shouldValidateArgumentsAgainstTheToolsSchema() {
    Set<String> all = Set.of("calculator", "http_get");
    assertThat(
            guards.check(
                new ToolCallRequest("1", "calculator", Json.tree("{\"expression\":\"1+1\"}")), all))
        .isEmpty();
    assertThat(guards.check(new ToolCallRequest("1", "calculator", Json.tree("{}")), all))
        .singleElement()
        .asString()
        .contains("expression")
        .contains("required");
    assertThat(
            guards.check(
                new ToolCallRequest("1", "calculator", Json.tree("{\"expression\":7}")), all))
        .singleElement()
        .asString()
        .contains("integer")
        .contains("string");
    assertThat(
            guards.check(
                new ToolCallRequest(
                    "1", "calculator", Json.tree("{\"expression\":\"1\",\"sudo\":true}")),
                all))
        .singleElement()
        .asString()
        .contains("sudo");
    assertThat(
            guards.check(
                new ToolCallRequest("1", "http_get", Json.tree("{\"url\":\"file:///etc/passwd\"}")),
                all))
        .singleElement()
        .asString()
        .contains("pattern");
    assertThat(guards.check(new ToolCallRequest("1", "calculator", Json.tree("[1,2]")), all))
        .singleElement()
        .asString()
        .contains("JSON object");
  }

  @Test
  void shouldStopOnceTheTokenOrCostBudgetIsSpent() {
    assertThat(Guards.budgetSpent(new Usage(400, 99), 0.0, 500, 1.0)).isEmpty();
    assertThat(Guards.budgetSpent(new Usage(400, 100), 0.0, 500, 1.0))
        .get()
        .asString()
        .contains("500 of 500");
    assertThat(Guards.budgetSpent(Usage.ZERO, 1.0, 500, 1.0)).isEmpty();
    assertThat(Guards.budgetSpent(Usage.ZERO, 1.0001, 500, 1.0))
        .get()
        .asString()
        .contains("cost budget");
    assertThat(Guards.budgetSpent(Usage.ZERO, 0.0, 500, 0.0))
        .as("free calls under a zero budget")
        .isEmpty();
  }

  @Test
  void shouldAllowStepsUpToTheLimitAndRepairsUpToTheSetting() {
    assertThat(Guards.stepLimit(10, 10)).isEmpty();
    assertThat(Guards.stepLimit(11, 10)).get().asString().contains("10 LLM turns");
    assertThat(guards.mayRepair(2)).isTrue();
    assertThat(guards.mayRepair(3)).isFalse();
  }

  @Test
  void shouldHoldCallsOfToolsThatRequireApprovalExceptInAReplay() {
    var publish = guards.registry().get("publish");
    var calculator = guards.registry().get("calculator");
    assertThat(guards.holdsForApproval(publish)).isTrue();
    assertThat(guards.holdsForApproval(calculator)).isFalse();
    assertThat(guards.withoutApprovals().holdsForApproval(publish)).isFalse();
    assertThat(guards.withoutApprovals().settings()).isEqualTo(guards.settings());
  }

  @Test
  void shouldKnowWhichBuiltInToolsAreReadOnly() {
    var registry = guards.registry();
    assertThat(registry.all().stream().filter(t -> t.readOnly()).map(t -> t.name()))
        .containsExactlyInAnyOrder("calculator", "classify", "synthesis");
  }
}
