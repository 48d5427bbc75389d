package dev.llmstreams.llm;

import dev.llmstreams.events.LlmRequest;
import java.util.concurrent.CompletableFuture;

/**
 * One way to answer an {@link LlmRequest}: a hosted or local LLM behind an HTTP API, or the offline
 * engine (which is not an LLM and says so). Calls are asynchronous and never block the caller's
 * thread; retries, rate limits and circuit breaking are the gateway's job, not the provider's.
 */
public interface LlmProvider extends AutoCloseable {
  /**
   * The provider's name as used in config and metrics: {@code openai}, {@code anthropic}, {@code
   * offline}.
   */
  String name();

  /**
   * Sends one request. {@code model} is the model to use (the request's own choice or the
   * configured one). Completes with a {@link Completion}, or exceptionally with a {@link
   * ProviderException} that says whether a retry may help.
   */
  CompletableFuture<Completion> complete(LlmRequest request, String model);

  @Override
  default void close() {}
}
