package dev.llmstreams.controller;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.config.TenantSettings;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.TenantSpend;
import dev.llmstreams.events.TenantTotal;
import dev.llmstreams.topics.RejectedRecordException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Tenants' cumulative budgets: what all of a tenant's goals may spend on the LLM together per
 * budget period ({@code controller.tenant.<tenant>.budget.tokens} and {@code .budget.cost.usd},
 * period {@code controller.tenant.budget.period}, fixed UTC windows from the epoch). The controller
 * writes each reply's spend to {@code tenant-spend}; a tenant-keyed aggregation sums it into {@code
 * tenant-totals}, which every controller instance reads as a global table: a tenant's next LLM turn
 * is refused once its total reached its budget.
 */
record TenantBudgets(Map<String, TenantSettings> tenants, long periodMs) {
  static final TenantBudgets NONE = new TenantBudgets(Map.of(), Duration.ofDays(1).toMillis());

  static TenantBudgets from(AppConfig config) {
    return new TenantBudgets(config.tenants(), config.tenantBudgetPeriod().toMillis());
  }

  /**
   * The goal with its tenant named: its field, else its header {@code llmstreams-tenant}, else
   * {@code default}.
   *
   * @throws RejectedRecordException when the header is not a tenant name, or names another tenant
   *     than the field
   */
  static Goal withTenant(Goal goal, Headers headers) {
    Header header = headers == null ? null : headers.lastHeader(Goal.TENANT_HEADER);
    String named =
        header == null || header.value() == null
            ? null
            : new String(header.value(), StandardCharsets.UTF_8);
    if (named != null && !Goal.isTenant(named)) {
      throw new RejectedRecordException(
          "goal "
              + goal.goalId()
              + ": header "
              + Goal.TENANT_HEADER
              + " must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    }
    if (goal.tenant() != null) {
      if (named != null && !named.equals(goal.tenant())) {
        throw new RejectedRecordException(
            "goal "
                + goal.goalId()
                + " names tenant '"
                + goal.tenant()
                + "' but its header "
                + Goal.TENANT_HEADER
                + " names '"
                + named
                + "'");
      }
      return goal;
    }
    return goal.withTenant(named != null ? named : Goal.DEFAULT_TENANT);
  }

  /**
   * The tenant as a meter tag: a configured tenant or {@code default} as it is, any other {@code
   * other}, so that producers cannot grow the number of time series.
   */
  String tag(String tenant) {
    return TenantSettings.tag(tenants, tenant);
  }

  /** The start of the budget period {@code nowMs} falls in. */
  Instant periodStart(long nowMs) {
    return Instant.ofEpochMilli(Math.floorDiv(nowMs, periodMs) * periodMs);
  }

  /** The spend of one reply, to be summed; null when it spent nothing. */
  TenantSpend spend(
      String tenant, long tokens, double costUsd, String goalId, String requestId, long nowMs) {
    if (tokens <= 0 && costUsd <= 0) {
      return null;
    }
    return new TenantSpend(
        tenant, periodStart(nowMs), Math.max(0, tokens), costUsd, goalId, requestId);
  }

  /**
   * Why the tenant may not start another LLM turn at {@code nowMs}, given its total so far (null:
   * nothing counted yet), or empty. A budget of 0 refuses every turn.
   */
  Optional<String> spent(String tenant, TenantTotal total, long nowMs) {
    TenantSettings s = tenants.get(tenant);
    if (s == null || !s.hasBudget()) {
      return Optional.empty();
    }
    Instant period = periodStart(nowMs);
    // A past period's total counts nothing in this one.
    boolean current = total != null && total.periodStart().equals(period);
    long tokens = current ? total.tokens() : 0;
    double costUsd = current ? total.costUsd() : 0;
    String spent = null;
    String setting = null;
    if (s.budgetTokens() != null && tokens >= s.budgetTokens()) {
      spent = String.format(Locale.ROOT, "%,d of %,d tokens", tokens, s.budgetTokens());
      setting = "tokens";
    } else if (s.budgetCostUsd() != null && costUsd >= s.budgetCostUsd()) {
      spent = String.format(Locale.ROOT, "$%.6f of $%.6f", costUsd, s.budgetCostUsd());
      setting = "cost.usd";
    }
    return spent == null ? Optional.empty() : Optional.of(refusal(tenant, spent, period, setting));
  }

  private static String refusal(String tenant, String spent, Instant period, String setting) {
    return "tenant "
        + tenant
        + "'s budget is spent: "
        + spent
        + " used by its goals in the period from "
        + period
        + " (controller.tenant."
        + tenant
        + ".budget."
        + setting
        + ")";
  }
}
