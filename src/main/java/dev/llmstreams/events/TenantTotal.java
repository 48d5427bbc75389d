package dev.llmstreams.events;

import java.time.Instant;

/**
 * What a tenant's goals spent on the LLM in the current budget period (topic role TENANT_TOTALS,
 * keyed by tenant, compacted): the controller's sum of its {@link TenantSpend}s, read by every
 * controller instance to refuse the tenant's next LLM turn once its budget is spent.
 *
 * @param replies the LLM replies counted
 * @param updatedAt when the last reply counted was taken in
 */
public record TenantTotal(
    String tenant,
    Instant periodStart,
    long tokens,
    double costUsd,
    long replies,
    Instant updatedAt) {
  /** What the sum starts from: nothing spent, in no period. */
  public static final TenantTotal NONE = new TenantTotal("-", Instant.EPOCH, 0, 0, 0, null);

  public TenantTotal {
    Goal.checkTenant(tenant, "tenant");
    Require.present(periodStart, "periodStart");
    Require.atLeast(tokens, 0, "tokens");
    Require.nonNegative(costUsd, "costUsd");
    Require.atLeast(replies, 0, "replies");
  }

  /**
   * This total with {@code spend} counted: a spend of a later period starts the sum again; one of
   * an earlier period (a reply taken in just before the period turned) is not counted.
   */
  public TenantTotal plus(TenantSpend spend, Instant at) {
    int order = spend.periodStart().compareTo(periodStart);
    if (order < 0) {
      return this;
    }
    TenantTotal base =
        order > 0 ? new TenantTotal(spend.tenant(), spend.periodStart(), 0, 0, 0, null) : this;
    return new TenantTotal(
        spend.tenant(),
        spend.periodStart(),
        base.tokens + spend.tokens(),
        base.costUsd + spend.costUsd(),
        base.replies + 1,
        at);
  }
}
