package dev.llmstreams.llm;

/** The provider clients this build ships, by name. */
public final class Providers {
  private Providers() {}

  public static LlmProvider create(ProviderSettings settings) {
    return switch (settings.name()) {
      case "openai" -> new OpenAiProvider(settings.connection());
      case "anthropic" -> new AnthropicProvider(settings.connection());
      case "offline" -> new dev.llmstreams.llm.offline.OfflineEngine();
      default -> throw new IllegalArgumentException("unknown provider " + settings.name());
    };
  }
}
