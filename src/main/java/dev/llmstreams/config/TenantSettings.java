package dev.llmstreams.config;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigException;

/**
 * One tenant's settings, from the keys {@code controller.tenant.<tenant>.<setting>} and {@code
 * llm.tenant.<tenant>.<setting>}; a setting left out is null (the operator's {@code controller.*}
 * or no limit).
 *
 * @param maxSteps replaces {@code controller.max.steps} for the tenant's goals
 * @param maxTokens replaces {@code controller.max.tokens}
 * @param maxCostUsd replaces {@code controller.max.cost.usd}
 * @param deadlineMs replaces {@code controller.deadline.ms}
 * @param budgetTokens LLM tokens all the tenant's goals together may use in one budget period
 * @param budgetCostUsd LLM cost in USD all the tenant's goals together may use in one period
 * @param requestsPerMinute LLM requests per minute of the tenant, at the gateway
 * @param tokensPerMinute LLM tokens (estimated before the call) per minute, at the gateway
 */
public record TenantSettings(
    String tenant,
    Integer maxSteps,
    Long maxTokens,
    Double maxCostUsd,
    Long deadlineMs,
    Long budgetTokens,
    Double budgetCostUsd,
    Integer requestsPerMinute,
    Integer tokensPerMinute) {

  public static final String CONTROLLER_PREFIX = "controller.tenant.";
  public static final String LLM_PREFIX = "llm.tenant.";

  /** The settings of the controller's prefix, in the order documented. */
  public static final List<String> CONTROLLER_SETTINGS =
      List.of(
          "max.steps",
          "max.tokens",
          "max.cost.usd",
          "deadline.ms",
          "budget.tokens",
          "budget.cost.usd");

  /** The settings of the gateway's prefix. */
  public static final List<String> LLM_SETTINGS =
      List.of("requests.per.minute", "tokens.per.minute");

  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /** Whether {@code key} is a per-tenant key (whatever its value). */
  static boolean isTenantKey(String key) {
    return split(key) != null;
  }

  /** {tenant, setting} of a per-tenant key, or null; gateway settings come back as llm.*. */
  private static String[] split(String key) {
    for (String prefix : List.of(CONTROLLER_PREFIX, LLM_PREFIX)) {
      if (!key.startsWith(prefix)) {
        continue;
      }
      boolean llm = prefix.equals(LLM_PREFIX);
      for (String setting : llm ? LLM_SETTINGS : CONTROLLER_SETTINGS) {
        String suffix = "." + setting;
        if (key.endsWith(suffix) && key.length() > prefix.length() + suffix.length()) {
          String tenant = key.substring(prefix.length(), key.length() - suffix.length());
          if (TENANT.matcher(tenant).matches()) {
            return new String[] {tenant, (llm ? "llm." : "") + setting};
          }
        }
      }
    }
    return null;
  }

  /**
   * The tenants the per-tenant keys among {@code values} name, each with its settings.
   *
   * @throws ConfigException naming the key of a value that is not a number in range
   */
  static Map<String, TenantSettings> parse(Map<String, ?> values) {
    Map<String, Map<String, String>> byTenant = new TreeMap<>();
    for (Map.Entry<String, ?> e : values.entrySet()) {
      String[] parts = split(e.getKey());
      if (parts != null) {
        byTenant
            .computeIfAbsent(parts[0], t -> new TreeMap<>())
            .put(parts[1], String.valueOf(e.getValue()).trim());
        check(e.getKey(), parts[1], String.valueOf(e.getValue()).trim());
      }
    }
    Map<String, TenantSettings> out = new TreeMap<>();
    byTenant.forEach(
        (tenant, s) ->
            out.put(
                tenant,
                new TenantSettings(
                    tenant,
                    integer(s.get("max.steps")),
                    longValue(s.get("max.tokens")),
                    decimal(s.get("max.cost.usd")),
                    longValue(s.get("deadline.ms")),
                    longValue(s.get("budget.tokens")),
                    decimal(s.get("budget.cost.usd")),
                    integer(s.get("llm.requests.per.minute")),
                    integer(s.get("llm.tokens.per.minute")))));
    return out;
  }

  /**
   * The tenant as a meter tag: a configured tenant or {@code default} as it is, any other {@code
   * other}, so that producers cannot grow the number of time series.
   */
  public static String tag(Map<String, TenantSettings> tenants, String tenant) {
    return tenant == null
        ? "default"
        : "default".equals(tenant) || tenants.containsKey(tenant) ? tenant : "other";
  }

  /** Whether the tenant has a cumulative budget (tokens or cost per period). */
  public boolean hasBudget() {
    return budgetTokens != null || budgetCostUsd != null;
  }

  private static void check(String key, String setting, String value) {
    double min =
        switch (setting) {
          case "max.cost.usd", "budget.cost.usd", "budget.tokens" -> 0;
          default -> 1;
        };
    boolean decimal = setting.endsWith("usd");
    try {
      double v = decimal ? Double.parseDouble(value) : Long.parseLong(value);
      boolean isInt = setting.equals("max.steps") || setting.startsWith("llm.");
      if (Double.isNaN(v) || Double.isInfinite(v) || v < min || (isInt && v > Integer.MAX_VALUE)) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException ex) {
      throw new ConfigException(
          key,
          value,
          (decimal ? "a number" : "a whole number") + " of at least " + (long) min + " is needed");
    }
  }

  private static Integer integer(String v) {
    return v == null ? null : Integer.valueOf(v);
  }

  private static Long longValue(String v) {
    return v == null ? null : Long.valueOf(v);
  }

  private static Double decimal(String v) {
    return v == null ? null : Double.valueOf(v);
  }
}
