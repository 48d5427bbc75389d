package dev.llmstreams.llm;

import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.TraceContent;
import dev.llmstreams.observability.tracing.Tracing;
import io.opentelemetry.api.trace.SpanKind;
import java.util.List;

/**
 * The span of one LLM call, for the gateway's task and for calls made directly ({@link
 * DirectCalls}).
 */
final class ChatSpans {
  private ChatSpans() {}

  /**
   * The span of one LLM call in the GenAI conventions ({@code chat {model}}): provider, request and
   * response model, tokens, finish reason, error type and attempts, cache hit.
   */
  static Tracing.Builder describe(
      Tracing tracing, LlmGateway gateway, SpanRef span, LlmRequest request, LlmReply reply) {
    // The provider that answered, which is not the route's first after a fallback.
    String asked =
        reply.provider() != null
            ? gateway.modelFor(request, reply.provider())
            : gateway.modelFor(request);
    String requested = asked != null ? asked : reply.model();
    Tracing.Builder b =
        tracing
            .span(span, requested == null ? "chat" : "chat " + requested, SpanKind.CLIENT)
            .attr("gen_ai.operation.name", "chat")
            .attr("gen_ai.provider.name", reply.provider())
            .attr("gen_ai.request.model", requested)
            .attr("gen_ai.response.model", reply.model())
            .attr("gen_ai.conversation.id", request.correlationId())
            .attr("gen_ai.request.max_tokens", request.maxTokens())
            .attr("gen_ai.request.temperature", request.temperature())
            .attr("gen_ai.output.type", request.responseFormat() == null ? "text" : "json")
            .attr("gen_ai.usage.input_tokens", reply.usage().inputTokens())
            .attr("gen_ai.usage.output_tokens", reply.usage().outputTokens())
            .attr("llmstreams.llm.request.id", request.requestId())
            .attr("llmstreams.llm.purpose", request.purpose())
            .attr("llmstreams.llm.cache_hit", reply.cached())
            .attr("llmstreams.llm.cost_usd", reply.costUsd())
            .attr("llmstreams.llm.provider_latency_ms", reply.latencyMs());
    if (reply.finishReason() != null) {
      b.attr("gen_ai.response.finish_reasons", List.of(reply.finishReason()));
    }
    if (reply.fallback() != null) {
      b.attr("llmstreams.llm.fallback.from", reply.fallback().from());
      b.attr(
          "llmstreams.llm.fallback.code",
          reply.fallback().code().name().toLowerCase(java.util.Locale.ROOT));
    }
    if (tracing.captureContent()) {
      b.content("gen_ai.input.messages", TraceContent.json(request.messages()));
      b.content("gen_ai.output.messages", TraceContent.cap(reply.content()));
    }
    Integer attempts =
        reply.error() != null ? Integer.valueOf(reply.error().attempts()) : reply.attempts();
    if (attempts != null) {
      b.attr("llmstreams.llm.attempts", attempts);
      b.attr("llmstreams.llm.retries", Math.max(0, attempts - 1));
    }
    if (reply.error() != null) {
      b.error(
          reply.error().code().name().toLowerCase(java.util.Locale.ROOT), reply.error().message());
    }
    return b;
  }
}
