package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** One provider's connection, limits and prices, read from {@code llm.<provider>.*}. */
public record ProviderSettings(
    String name,
    ProviderConnection connection,
    int concurrency,
    int interactiveReserved,
    int requestsPerMinute,
    int tokensPerMinute,
    double priceInputPerMtok,
    double priceOutputPerMtok) {

  public static ProviderSettings from(AppConfig config, String provider, Map<String, String> env) {
    String baseUrl = config.getString(AppConfig.provider(provider, "base.url"));
    return new ProviderSettings(
        provider,
        new ProviderConnection(
            URI.create(baseUrl.isEmpty() ? "offline:/" : baseUrl),
            apiKey(config, provider, env),
            Duration.ofMillis(config.getLong(AppConfig.provider(provider, "timeout.ms"))),
            config.getString(AppConfig.provider(provider, "model"))),
        config.getInt(AppConfig.provider(provider, "concurrency")),
        reserved(
            config.getInt(AppConfig.provider(provider, "concurrency")),
            config.getInt(AppConfig.provider(provider, "interactive.reserved"))),
        config.getInt(AppConfig.provider(provider, "requests.per.minute")),
        config.getInt(AppConfig.provider(provider, "tokens.per.minute")),
        config.getDouble(AppConfig.provider(provider, "price.input.per.mtok")),
        config.getDouble(AppConfig.provider(provider, "price.output.per.mtok")));
  }

  /**
   * Slots kept for interactive calls: as configured (at most all but one), or an eighth of the
   * concurrency.
   */
  static int reserved(int concurrency, int configured) {
    if (configured < 0) {
      return concurrency < 2 ? 0 : (concurrency + 7) / 8;
    }
    return Math.min(configured, concurrency - 1);
  }

  /**
   * The key from config, else from the key file, else from the provider's usual variable
   * (OPENAI_API_KEY...).
   */
  static String apiKey(AppConfig config, String provider, Map<String, String> env) {
    Password key = config.getPassword(AppConfig.provider(provider, "api.key"));
    if (key != null && !key.value().isBlank()) {
      return key.value().trim();
    }
    String file = config.getString(AppConfig.provider(provider, "api.key.file"));
    if (!file.isBlank()) {
      try {
        return Files.readString(Path.of(file)).trim();
      } catch (IOException e) {
        throw new ConfigException(
            AppConfig.provider(provider, "api.key.file"),
            file,
            "cannot be read: " + e.getMessage());
      }
    }
    String fromEnv = env.get(provider.toUpperCase(Locale.ROOT) + "_API_KEY");
    return fromEnv == null || fromEnv.isBlank() ? null : fromEnv.trim();
  }

  public double cost(long inputTokens, long outputTokens) {
    return (inputTokens * priceInputPerMtok + outputTokens * priceOutputPerMtok) / 1_000_000.0;
  }
}
