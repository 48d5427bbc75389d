package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shadow candidate of one purpose ({@code llm.shadow.*}): a provider that also answers a
 * sampled share of the purpose's requests, with a client, slots and circuit of its own, so that its
 * answers can be compared with the primary's. Nobody uses them.
 *
 * @param scope where its route, model and prices are configured: the purpose itself, or {@code
 *     default}; the purposes of one scope share one candidate
 * @param candidate the candidate's connection, model (as its default model), slots ({@code
 *     llm.shadow.concurrency}) and prices; no rate limits of its own
 * @param sample the share of requests sent to it, in (0, 1]
 */
public record ShadowRoute(String purpose, String scope, ProviderSettings candidate, double sample) {

  public String provider() {
    return candidate.name();
  }

  public String model() {
    return candidate.connection().defaultModel();
  }

  /**
   * Whether this request goes to the candidate too. Deterministic: a request seen again (a
   * redelivery, a replay, a restart) makes the same choice; a larger share keeps every request of a
   * smaller one.
   */
  public boolean samples(String requestId) {
    return position(requestId) < sample;
  }

  /**
   * Where a requestId falls in [0, 1): the first 53 bits of its SHA-256, uniform over any ids
   * (sequential ones included) and the same on every JVM and version.
   */
  public static double position(String requestId) {
    byte[] digest;
    try {
      digest =
          MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    return (ByteBuffer.wrap(digest).getLong() >>> 11) * 0x1.0p-53;
  }

  /**
   * The purposes that have a shadow candidate with a share above 0, each with its route. The
   * configuration was checked at load ({@link AppConfig}): a share above 0 has a route.
   */
  public static Map<String, ShadowRoute> configured(AppConfig config, Map<String, String> env) {
    double defaultSample = config.getDouble(AppConfig.shadow("default", "sample"));
    Map<String, ProviderSettings> candidates = new LinkedHashMap<>();
    Map<String, ShadowRoute> routes = new LinkedHashMap<>();
    for (String purpose : AppConfig.PURPOSES) {
      double own = config.getDouble(AppConfig.shadow(purpose, "sample"));
      double sample = own < 0 ? defaultSample : own;
      String scope =
          config.getString(AppConfig.shadow(purpose, "route")).isEmpty() ? "default" : purpose;
      if (sample <= 0 || config.getString(AppConfig.shadow(scope, "route")).isEmpty()) {
        continue;
      }
      ProviderSettings candidate =
          candidates.computeIfAbsent(scope, s -> candidate(config, s, env));
      routes.put(purpose, new ShadowRoute(purpose, scope, candidate, sample));
    }
    return routes;
  }

  /** The candidate of a scope: its provider's connection, with the scope's model and prices. */
  private static ProviderSettings candidate(
      AppConfig config, String scope, Map<String, String> env) {
    String provider = config.getString(AppConfig.shadow(scope, "route"));
    ProviderSettings base = ProviderSettings.from(config, provider, env);
    String model = config.getString(AppConfig.shadow(scope, "model"));
    double input = config.getDouble(AppConfig.shadow(scope, "price.input.per.mtok"));
    double output = config.getDouble(AppConfig.shadow(scope, "price.output.per.mtok"));
    ProviderConnection c = base.connection();
    return new ProviderSettings(
        provider,
        new ProviderConnection(
            c.baseUrl(), c.apiKey(), c.timeout(), model.isEmpty() ? c.defaultModel() : model),
        config.getInt(AppConfig.LLM_SHADOW_CONCURRENCY),
        0,
        0,
        0,
        input < 0 ? base.priceInputPerMtok() : input,
        output < 0 ? base.priceOutputPerMtok() : output);
  }
}
