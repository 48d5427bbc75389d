package dev.llmstreams.events;

import java.time.Instant;

/**
 * What one LLM reply of a tenant's goal cost (topic role TENANT_SPEND, keyed by tenant), written by
 * the controller in the transaction that takes the reply in; the controller sums them per tenant
 * and period into {@link TenantTotal}s.
 *
 * @param periodStart the start of the budget period the reply counts in (UTC, fixed windows of
 *     {@code controller.tenant.budget.period})
 */
public record TenantSpend(
    String tenant,
    Instant periodStart,
    long tokens,
    double costUsd,
    String goalId,
    String requestId) {
  public TenantSpend {
    Goal.checkTenant(tenant, "tenant");
    Require.present(periodStart, "periodStart");
    Require.atLeast(tokens, 0, "tokens");
    Require.nonNegative(costUsd, "costUsd");
    Require.text(goalId, "goalId");
    Require.optionalText(requestId, "requestId");
  }
}
