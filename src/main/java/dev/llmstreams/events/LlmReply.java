package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import java.util.List;

/**
 * The gateway's answer to an {@link LlmRequest}, on the request's replyTo topic with the request's
 * key. It carries content and/or toolCalls, or an error when the gateway gave up; never both.
 *
 * @param finishReason the provider's reason, normalized: stop, length, tool_calls, content_filter;
 *     optional
 * @param usage tokens billed for this request (zero when answered from the cache or failed before a
 *     call)
 * @param costUsd the cost of this request; 0 when cached
 * @param latencyMs from the gateway taking the request to the reply, including retries
 * @param provider the provider that answered, e.g. openai, anthropic, ollama, embedded; optional
 * @param model the model that answered, as the provider named it; optional
 * @param cached true when answered from the gateway's cache (a replay)
 * @param attempts provider calls the gateway made for this answer (1 when the first call answered;
 *     more after retries); optional (absent on a cached answer and in replies written before it
 *     existed). A failed reply says the same in {@code error.attempts}.
 * @param prompt the request's {@code prompt}, echoed (on a cached answer: that of the request first
 *     answered); optional, absent when the request had none
 * @param fallback set when a later provider of the purpose's route answered because the one before
 *     it failed: which one, and why; optional
 */
public record LlmReply(
    String requestId,
    String correlationId,
    String purpose,
    String content,
    List<ToolCallRequest> toolCalls,
    String finishReason,
    Usage usage,
    @JsonProperty(required = true) double costUsd,
    @JsonProperty(required = true) long latencyMs,
    String provider,
    String model,
    @JsonSetter(nulls = Nulls.AS_EMPTY) boolean cached, // absent means false
    LlmError error,
    Integer attempts,
    PromptRef prompt,
    Fallback fallback) {

  /** A reply from the first provider of its route. */
  public LlmReply(
      String requestId,
      String correlationId,
      String purpose,
      String content,
      List<ToolCallRequest> toolCalls,
      String finishReason,
      Usage usage,
      double costUsd,
      long latencyMs,
      String provider,
      String model,
      boolean cached,
      LlmError error,
      Integer attempts,
      PromptRef prompt) {
    this(
        requestId,
        correlationId,
        purpose,
        content,
        toolCalls,
        finishReason,
        usage,
        costUsd,
        latencyMs,
        provider,
        model,
        cached,
        error,
        attempts,
        prompt,
        null);
  }

  /** This reply, as answered by a later provider of the route after {@code why}. */
  public LlmReply withFallback(Fallback why) {
    return new LlmReply(
        requestId,
        correlationId,
        purpose,
        content,
        toolCalls,
        finishReason,
        usage,
        costUsd,
        latencyMs,
        provider,
        model,
        cached,
        error,
        attempts,
        prompt,
        why);
  }

  /** A reply without the number of attempts and prompt (a cached answer, a test). */
  public LlmReply(
      String requestId,
      String correlationId,
      String purpose,
      String content,
      List<ToolCallRequest> toolCalls,
      String finishReason,
      Usage usage,
      double costUsd,
      long latencyMs,
      String provider,
      String model,
      boolean cached,
      LlmError error) {
    this(
        requestId,
        correlationId,
        purpose,
        content,
        toolCalls,
        finishReason,
        usage,
        costUsd,
        latencyMs,
        provider,
        model,
        cached,
        error,
        null,
        null);
  }

  public LlmReply {
    Require.text(requestId, "requestId");
    Require.text(correlationId, "correlationId");
    Require.text(purpose, "purpose");
    toolCalls = Require.list(toolCalls, "toolCalls");
    Require.optionalText(finishReason, "finishReason");
    Require.present(usage, "usage");
    Require.nonNegative(costUsd, "costUsd");
    Require.atLeast(latencyMs, 0, "latencyMs");
    Require.optionalText(provider, "provider");
    Require.optionalText(model, "model");
    Require.check(attempts == null || attempts >= 1, "attempts must be at least 1");
    Require.answerOrError(content, toolCalls, error);
  }

  public boolean failed() {
    return error != null;
  }

  /**
   * The provider name of the offline engine, which is not an LLM: it answers from the request's own
   * text (extractive summaries, the nearest label, tool calls it can read off the goal).
   */
  public static final String OFFLINE_ENGINE = "offline";

  /** Whether the offline engine (not an LLM) answered. */
  public boolean byOfflineEngine() {
    return OFFLINE_ENGINE.equals(provider);
  }

  /**
   * The model that answered as {@code provider/model} ({@code ?} for a part the reply does not
   * name); null when it names neither.
   */
  public String providerModel() {
    if (provider == null && model == null) {
      return null;
    }
    return (provider == null ? "?" : provider) + "/" + (model == null ? "?" : model);
  }
}
