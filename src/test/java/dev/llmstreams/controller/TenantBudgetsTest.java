package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.config.TenantSettings;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.TenantSpend;
import dev.llmstreams.events.TenantTotal;
import dev.llmstreams.topics.RejectedRecordException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class TenantBudgetsTest {
  private static final long NOW = Instant.parse("2026-11-28T08:00:00Z").toEpochMilli();
  private static final Instant DAY = Instant.parse("2026-11-28T00:00:00Z");

  private final TenantBudgets budgets =
      TenantBudgets.from(
          AppConfig.of(
              Map.of(
                  "controller.tenant.a.budget.cost.usd", "0.01",
                  "controller.tenant.b.budget.tokens", "1000",
                  "controller.tenant.zero.budget.cost.usd", "0",
                  "llm.tenant.b.requests.per.minute", "60")));

  @Test
  void shouldReadEveryTenantsSettingsFromItsKeys() {
    AppConfig config =
        AppConfig.of(
            Map.of(
                "controller.tenant.acme.corp.max.steps",
                "3",
                "controller.tenant.acme.corp.budget.cost.usd",
                "1.5",
                "llm.tenant.acme.corp.tokens.per.minute",
                "5000",
                AppConfig.CONTROLLER_TENANT_BUDGET_PERIOD,
                "PT1H"));
    TenantSettings acme = config.tenants().get("acme.corp");
    assertThat(config.tenants()).containsOnlyKeys("acme.corp");
    assertThat(acme.maxSteps()).isEqualTo(3);
    assertThat(acme.budgetCostUsd()).isEqualTo(1.5);
    assertThat(acme.tokensPerMinute()).isEqualTo(5000);
    assertThat(acme.maxTokens()).isNull();
    assertThat(acme.requestsPerMinute()).isNull();
    assertThat(config.tenantBudgetPeriod().toMinutes()).isEqualTo(60);
    assertThat(TenantSettings.tag(config.tenants(), "acme.corp")).isEqualTo("acme.corp");
    assertThat(TenantSettings.tag(config.tenants(), "default")).isEqualTo("default");
    assertThat(TenantSettings.tag(config.tenants(), "someone-else")).isEqualTo("other");
  }

  @Test
  void shouldRefuseAMalformedOrUnknownTenantSetting() {
    assertThatThrownBy(() -> AppConfig.of(Map.of("controller.tenant.a.max.steps", "many")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("controller.tenant.a.max.steps");
    assertThatThrownBy(() -> AppConfig.of(Map.of("controller.tenant.a.budget.cost.usd", "-1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("at least 0");
    assertThatThrownBy(() -> AppConfig.of(Map.of("controller.tenant.a.max.stepz", "3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown configuration key");
    assertThatThrownBy(() -> AppConfig.of(Map.of("controller.tenant.a/b.max.steps", "3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown configuration key");
    assertThatThrownBy(
            () -> AppConfig.of(Map.of(AppConfig.CONTROLLER_TENANT_BUDGET_PERIOD, "daily")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ISO-8601");
  }

  @Test
  void shouldRefuseATenantWhoseTotalReachedItsBudgetInThisPeriodOnly() {
    assertThat(budgets.periodStart(NOW)).isEqualTo(DAY);
    assertThat(budgets.spent("a", null, NOW)).isEmpty();
    assertThat(budgets.spent("a", total("a", DAY, 10, 0.0099), NOW)).isEmpty();
    assertThat(budgets.spent("a", total("a", DAY, 10, 0.01), NOW))
        .hasValueSatisfying(
            r ->
                assertThat(r)
                    .contains("tenant a's budget is spent")
                    .contains("$0.010000 of $0.010000")
                    .contains("controller.tenant.a.budget.cost.usd"));
    assertThat(budgets.spent("a", total("a", DAY.minusSeconds(86_400), 10, 5.0), NOW))
        .as("yesterday's spend does not count today")
        .isEmpty();
    assertThat(budgets.spent("b", total("b", DAY, 1000, 9.0), NOW))
        .hasValueSatisfying(r -> assertThat(r).contains("1,000 of 1,000 tokens"));
    assertThat(budgets.spent("zero", null, NOW)).as("a budget of 0 allows no turn").isPresent();
    assertThat(budgets.spent("default", total("default", DAY, 1_000_000, 99), NOW)).isEmpty();
  }

  @Test
  void shouldSumSpendPerPeriodAndStartAgainInTheNext() {
    Instant next = DAY.plusSeconds(86_400);
    TenantTotal t =
        TenantTotal.NONE
            .plus(spend(DAY, 100, 0.001), DAY)
            .plus(spend(DAY, 50, 0.002), DAY)
            .plus(spend(DAY.minusSeconds(86_400), 7, 1.0), DAY);
    assertThat(t.tenant()).isEqualTo("a");
    assertThat(t.tokens()).isEqualTo(150);
    assertThat(t.costUsd()).isEqualTo(0.003, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.replies()).isEqualTo(2);
    TenantTotal n = t.plus(spend(next, 5, 0.5), next);
    assertThat(n.periodStart()).isEqualTo(next);
    assertThat(n.tokens()).isEqualTo(5);
    assertThat(n.replies()).isEqualTo(1);
    assertThat(budgets.spend("a", 0, 0, "g", "r", NOW)).as("nothing spent, nothing sent").isNull();
  }

  @Test
  void shouldNameTheTenantByFieldElseHeaderElseDefault() {
    Goal plain = Goal.of("g", "x");
    assertThat(TenantBudgets.withTenant(plain, new RecordHeaders()).tenant()).isEqualTo("default");
    assertThat(TenantBudgets.withTenant(plain, header("b")).tenant()).isEqualTo("b");
    assertThat(TenantBudgets.withTenant(plain.withTenant("a"), header("a")).tenant())
        .isEqualTo("a");
    assertThat(TenantBudgets.withTenant(plain.withTenant("a"), new RecordHeaders()).tenant())
        .isEqualTo("a");
    assertThatThrownBy(() -> TenantBudgets.withTenant(plain.withTenant("a"), header("b")))
        .isInstanceOf(RejectedRecordException.class)
        .hasMessageContaining("names tenant 'a' but its header llmstreams-tenant names 'b'");
    assertThatThrownBy(() -> TenantBudgets.withTenant(plain, header("a b")))
        .isInstanceOf(RejectedRecordException.class)
        .hasMessageContaining("llmstreams-tenant");
  }

  @Test
  void shouldShowATenantsSpendInThisPeriodAndWhetherItIsRefused() {
    var view = ControllerModule.tenantView("a", total("a", DAY, 120, 0.02), budgets, NOW);
    assertThat(view.path("configured").asBoolean()).isTrue();
    assertThat(view.path("periodStart").asText()).isEqualTo("2026-11-28T00:00:00Z");
    assertThat(view.path("periodEnd").asText()).isEqualTo("2026-11-29T00:00:00Z");
    assertThat(view.path("tokens").asLong()).isEqualTo(120);
    assertThat(view.path("budgetCostUsd").asDouble()).isEqualTo(0.01);
    assertThat(view.path("refused").asText()).contains("tenant a's budget is spent");
    var yesterday =
        ControllerModule.tenantView(
            "b", total("b", DAY.minusSeconds(86_400), 5000, 1), budgets, NOW);
    assertThat(yesterday.path("tokens").asLong()).isZero();
    assertThat(yesterday.path("budgetTokens").asLong()).isEqualTo(1000);
    assertThat(yesterday.path("refused").isNull()).isTrue();
    assertThat(
            ControllerModule.tenantView("nobody", null, budgets, NOW)
                .path("configured")
                .asBoolean())
        .isFalse();
  }

  private static RecordHeaders header(String tenant) {
    RecordHeaders h = new RecordHeaders();
    h.add(Goal.TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
    return h;
  }

  private static TenantSpend spend(Instant period, long tokens, double cost) {
    return new TenantSpend("a", period, tokens, cost, "g", null);
  }

  private static TenantTotal total(String tenant, Instant period, long tokens, double cost) {
    return new TenantTotal(tenant, period, tokens, cost, 1, null);
  }
}
