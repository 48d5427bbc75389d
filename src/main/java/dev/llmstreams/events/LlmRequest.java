package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A request to the LLM gateway (topic role LLM_REQUESTS). The gateway answers on {@code replyTo}
 * with the same record key; a request seen again with the same requestId is answered from the cache
 * and not billed twice.
 *
 * @param requestId the idempotency key, unique per logical call (e.g. {@code goalId/step/llm})
 * @param replyTo the topic the reply goes to, taken from the catalog by the requester
 * @param purpose what the call is for, dot-case: controller.plan, summarizer.chunk,
 *     summarizer.merge, specialist.escalate; metered per purpose
 * @param correlationId the goalId, synthesis key or eventId the call serves
 * @param causationId the id of the record that caused the call; optional
 * @param model a model to use instead of the gateway's default for this purpose; optional
 * @param responseFormat a JSON Schema the reply content must follow (structured output); optional
 * @param maxTokens the output token limit; null means the gateway default
 * @param temperature sampling temperature 0..2; null means the gateway default
 * @param deadline after this the gateway gives up with error deadline_exceeded; optional
 * @param prompt the prompt (id and version) the request's instructions were built from, which the
 *     gateway echoes on the reply; optional (absent in requests written before it existed, and in
 *     requests of clients that use no prompt of the app's)
 */
public record LlmRequest(
    String requestId,
    String replyTo,
    String purpose,
    String correlationId,
    String causationId,
    String model,
    List<ChatMessage> messages,
    List<ToolSpec> tools,
    JsonNode responseFormat,
    Integer maxTokens,
    Double temperature,
    Instant deadline,
    Map<String, String> metadata,
    PromptRef prompt) {

  /** A request built from no prompt of the app's. */
  public LlmRequest(
      String requestId,
      String replyTo,
      String purpose,
      String correlationId,
      String causationId,
      String model,
      List<ChatMessage> messages,
      List<ToolSpec> tools,
      JsonNode responseFormat,
      Integer maxTokens,
      Double temperature,
      Instant deadline,
      Map<String, String> metadata) {
    this(
        requestId,
        replyTo,
        purpose,
        correlationId,
        causationId,
        model,
        messages,
        tools,
        responseFormat,
        maxTokens,
        temperature,
        deadline,
        metadata,
        null);
  }

  public LlmRequest {
    Require.text(requestId, "requestId");
    Require.text(replyTo, "replyTo");
    Require.text(purpose, "purpose");
    Require.text(correlationId, "correlationId");
    Require.optionalText(causationId, "causationId");
    Require.optionalText(model, "model");
    messages = Require.nonEmptyList(messages, "messages");
    tools = Require.list(tools, "tools");
    if (responseFormat != null) {
      Require.check(
          responseFormat.isObject(),
          "field \"responseFormat\" must be a JSON object (a JSON Schema)");
    }
    Require.atLeast(maxTokens, 1, "maxTokens");
    Require.between(temperature, 0.0, 2.0, "temperature");
    metadata = Require.map(metadata, "metadata");
  }
}
