package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.config.TenantSettings;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.LlmRequest;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * The tenants' LLM rate limits at the gateway ({@code llm.tenant.<tenant>.requests.per.minute} and
 * {@code .tokens.per.minute}), on top of the providers': a tenant over its rate waits, as a
 * provider's callers do (the permits are reserved now and the call is scheduled after the wait);
 * other tenants' calls do not. The tenant is the request's {@code metadata.tenant} (set by the
 * controller); a request without one is the {@code default} tenant's.
 */
final class TenantRateLimits {
  private record Limits(RateLimiter requests, RateLimiter tokens, Counter waits) {}

  private final Map<String, TenantSettings> tenants;
  private final Map<String, Limits> limits = new HashMap<>();

  TenantRateLimits(AppConfig config, MeterRegistry registry) {
    this.tenants = config.tenants();
    for (TenantSettings t : tenants.values()) {
      RateLimiter requests = perMinute(t.tenant() + "-requests", t.requestsPerMinute());
      RateLimiter tokens = perMinute(t.tenant() + "-tokens", t.tokensPerMinute());
      if (requests != null || tokens != null) {
        limits.put(
            t.tenant(),
            new Limits(
                requests,
                tokens,
                Counter.builder("llmstreams.llm.tenant.rate.limit.waits")
                    .description(
                        "Calls delayed by a tenant's rate limit (llm.tenant.<tenant>.requests.per.minute"
                            + " or tokens.per.minute)")
                    .tag("tenant", t.tenant())
                    .register(registry)));
      }
    }
  }

  /** The request's tenant. */
  static String tenant(LlmRequest request) {
    String t = request.metadata() == null ? null : request.metadata().get("tenant");
    return t == null || !Goal.isTenant(t) ? Goal.DEFAULT_TENANT : t;
  }

  /** The request's tenant as a meter tag (configured tenants and default; any other: other). */
  String tag(LlmRequest request) {
    return TenantSettings.tag(tenants, tenant(request));
  }

  /**
   * Reserves the request's permits in its tenant's limits; how long the call must wait for them (0:
   * none). {@code estimatedTokens} counts against the tokens per minute, at most one period's
   * worth, so that a large request waits rather than never going.
   */
  long reserveNanos(LlmRequest request, long estimatedTokens) {
    Limits l = limits.get(tenant(request));
    if (l == null) {
      return 0;
    }
    long wait = 0;
    if (l.requests() != null) {
      wait = l.requests().reservePermission();
    }
    if (l.tokens() != null) {
      int permits =
          (int) Math.min(estimatedTokens, l.tokens().getRateLimiterConfig().getLimitForPeriod());
      wait = Math.max(wait, l.tokens().reservePermission(Math.max(1, permits)));
    }
    if (wait > 0) {
      l.waits().increment();
    }
    return Math.max(0, wait);
  }

  private static RateLimiter perMinute(String name, Integer perMinute) {
    return perMinute == null ? null : LlmGateway.perMinute(name, perMinute);
  }
}
