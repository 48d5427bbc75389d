package dev.llmstreams.llm;

import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.Usage;
import java.util.List;
import java.util.Objects;

/**
 * What a provider answered: text and/or tool calls, why it stopped, tokens used, and the model that
 * really answered (providers may resolve an alias to a dated model).
 */
public record Completion(
    String content,
    List<ToolCallRequest> toolCalls,
    String finishReason,
    Usage usage,
    String model) {
  public Completion {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    Objects.requireNonNull(usage, "usage");
    if (content == null && toolCalls.isEmpty()) {
      throw new IllegalArgumentException("a completion has content or tool calls");
    }
  }
}
