package dev.llmstreams.llm;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How to reach a provider (endpoint, credentials, timeout), kept apart from model setup (model,
 * temperature, prompts), as connection and setup change for different reasons.
 *
 * @param baseUrl e.g. {@code https://api.openai.com/v1}, {@code http://127.0.0.1:11434/v1}
 *     (Ollama), {@code https://api.anthropic.com}
 * @param apiKey the secret; may be null for local servers; never logged ({@link #toString()} hides
 *     it)
 * @param timeout per HTTP call
 * @param defaultModel the model used when a request names none
 */
public record ProviderConnection(
    URI baseUrl, String apiKey, Duration timeout, String defaultModel) {
  public ProviderConnection {
    Objects.requireNonNull(baseUrl, "baseUrl");
    Objects.requireNonNull(timeout, "timeout");
  }

  @Override
  public String toString() {
    return "ProviderConnection[baseUrl="
        + baseUrl
        + ", apiKey="
        + (apiKey == null ? "none" : "[hidden]")
        + ", timeout="
        + timeout
        + ", defaultModel="
        + defaultModel
        + "]";
  }
}
