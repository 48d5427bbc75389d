package dev.llmstreams.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError.Code;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolSpec;
import dev.llmstreams.events.Usage;
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Any OpenAI-compatible <a href="https://platform.openai.com/docs/api-reference/chat">Chat
 * Completions</a> endpoint: OpenAI, Azure OpenAI, Ollama ({@code http://127.0.0.1:11434/v1}), vLLM,
 * llama.cpp server, LM Studio. Calls {@code POST {baseUrl}/chat/completions}, keeping any query of
 * the base URL (Azure's {@code api-version}).
 *
 * <p>The key goes in {@code Authorization: Bearer}, or in {@code api-key} for Azure hosts ({@code
 * *.azure.com}); no auth header at all without a key. Structured output uses {@code
 * response_format: json_schema} with {@code strict: true} (OpenAI's strict mode wants every
 * property required and {@code additionalProperties: false}; servers that do not support it answer
 * 400, which surfaces as {@code invalid_request}). {@code max_tokens} is sent rather than {@code
 * max_completion_tokens}, as every compatible server understands it.
 *
 * <p>Finish reasons are normalized to stop, length, tool_calls, content_filter. A refusal ({@code
 * message.refusal}, or {@code content_filter} with nothing else) fails with {@code refused}; tool
 * arguments that are not JSON fail with {@code invalid_response}, not retryable. No retries here:
 * that is the gateway's job. See {@link ProviderHttp} for the error mapping.
 */
public final class OpenAiProvider implements LlmProvider {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final ProviderConnection connection;
  private final ProviderHttp http;
  private final URI endpoint;

  public OpenAiProvider(ProviderConnection connection) {
    this(connection, Clock.systemUTC());
  }

  OpenAiProvider(ProviderConnection connection, Clock clock) {
    this.connection = connection;
    this.http = new ProviderHttp(name(), connection, clock);
    this.endpoint = ProviderHttp.resolve(connection.baseUrl(), "chat/completions");
  }

  @Override
  public String name() {
    return "openai";
  }

  @Override
  public CompletableFuture<Completion> complete(LlmRequest request, String model) {
    String chosen;
    ObjectNode body;
    try {
      chosen = http.model(model, request);
      body = body(request, chosen);
    } catch (ProviderException e) {
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(http.failure(e));
    }
    return http.postJson(endpoint, headers(request), body, json -> completion(json, chosen));
  }

  /**
   * OpenAI's header for a caller's own request id: the provider's logs then name the call, repeats
   * included.
   */
  static final String CLIENT_REQUEST_ID = "X-Client-Request-Id";

  private Map<String, String> headers(LlmRequest request) {
    Map<String, String> headers = new LinkedHashMap<>();
    String id = request.requestId();
    // The API takes at most 512 printable ASCII characters; an id it would refuse is not worth
    // failing the call.
    if (id != null && id.length() <= 512 && id.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      headers.put(CLIENT_REQUEST_ID, id);
    }
    String key = connection.apiKey();
    if (key != null && !key.isBlank()) {
      String host = connection.baseUrl().getHost() == null ? "" : connection.baseUrl().getHost();
      if (host.toLowerCase(Locale.ROOT).endsWith(".azure.com")) {
        headers.put("api-key", key);
      } else {
        headers.put("authorization", "Bearer " + key);
      }
    }
    return headers;
  }

  private static ObjectNode body(LlmRequest request, String model) {
    ObjectNode body = NODES.objectNode();
    body.put("model", model);
    ArrayNode messages = body.putArray("messages");
    for (ChatMessage message : request.messages()) {
      messages.add(message(message));
    }
    if (!request.tools().isEmpty()) {
      ArrayNode tools = body.putArray("tools");
      for (ToolSpec tool : request.tools()) {
        ObjectNode function = tools.addObject().put("type", "function").putObject("function");
        function
            .put("name", tool.name())
            .put("description", tool.description())
            .set("parameters", tool.parameters());
      }
    }
    if (request.responseFormat() != null) {
      ObjectNode schema =
          body.putObject("response_format").put("type", "json_schema").putObject("json_schema");
      schema.put("name", "response");
      schema.set("schema", request.responseFormat());
      schema.put("strict", true);
    }
    if (request.maxTokens() != null) {
      body.put("max_tokens", request.maxTokens());
    }
    if (request.temperature() != null) {
      body.put("temperature", request.temperature());
    }
    return body;
  }

  private static ObjectNode message(ChatMessage message) {
    ObjectNode node = NODES.objectNode();
    node.put(
        "role",
        switch (message.role()) {
          case SYSTEM -> "system";
          case USER -> "user";
          case ASSISTANT -> "assistant";
          case TOOL -> "tool";
        });
    if (message.role() == ChatMessage.Role.TOOL) {
      node.put("tool_call_id", message.toolCallId());
    }
    if (message.content() != null) {
      node.put("content", message.content());
    }
    if (message.role() == ChatMessage.Role.ASSISTANT && !message.toolCalls().isEmpty()) {
      ArrayNode calls = node.putArray("tool_calls");
      for (ToolCallRequest call : message.toolCalls()) {
        ObjectNode function =
            calls.addObject().put("id", call.id()).put("type", "function").putObject("function");
        function.put("name", call.name()).put("arguments", write(call.arguments()));
      }
    }
    return node;
  }

  private static String write(JsonNode json) {
    try {
      return Json.writer().writeValueAsString(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("tool call arguments cannot be written as JSON", e);
    }
  }

  private Completion completion(JsonNode json, String requestedModel) {
    JsonNode choices = json.get("choices");
    if (choices == null
        || !choices.isArray()
        || choices.isEmpty()
        || !choices.get(0).path("message").isObject()) {
      String detail =
          json.has("error") ? ProviderHttp.errorDetail(json.toString()) : "no choices[0].message";
      throw http.invalidResponse(detail, 200);
    }
    JsonNode choice = choices.get(0);
    JsonNode message = choice.get("message");
    String finish = ProviderHttp.text(choice, "finish_reason");

    String refusal = ProviderHttp.text(message, "refusal");
    if (refusal != null && !refusal.isBlank()) {
      throw http.exception(
          Code.REFUSED,
          "the model refused: " + ProviderHttp.cap(refusal, 200),
          false,
          null,
          200,
          null);
    }
    String content = content(message.get("content"));
    List<ToolCallRequest> calls = toolCalls(message.get("tool_calls"));
    if (content == null && calls.isEmpty()) {
      if ("content_filter".equals(finish)) {
        throw http.exception(
            Code.REFUSED, "the answer was withheld by the content filter", false, null, 200, null);
      }
      throw http.invalidResponse("no content and no tool calls", 200);
    }
    String model = ProviderHttp.text(json, "model");
    return new Completion(
        content,
        calls,
        finishReason(finish, !calls.isEmpty()),
        usage(json.get("usage")),
        model == null || model.isBlank() ? requestedModel : model);
  }

  /** Text content; some servers send an array of parts instead of a string. */
  private static String content(JsonNode content) {
    if (content == null || content.isNull()) {
      return null;
    }
    if (content.isTextual()) {
      return content.asText();
    }
    if (content.isArray()) {
      StringBuilder text = new StringBuilder();
      content.forEach(part -> text.append(part.path("text").asText("")));
      return text.toString();
    }
    return null;
  }

  private List<ToolCallRequest> toolCalls(JsonNode toolCalls) {
    List<ToolCallRequest> calls = new ArrayList<>();
    if (toolCalls == null || !toolCalls.isArray()) {
      return calls;
    }
    for (JsonNode call : toolCalls) {
      JsonNode function = call.path("function");
      String name = ProviderHttp.text(function, "name");
      if (name == null || name.isBlank()) {
        throw http.invalidResponse("a tool call has no function name", 200);
      }
      String id = ProviderHttp.text(call, "id");
      // Some local servers omit ids; the conversation still needs one to pair the tool result with
      // the call.
      if (id == null || id.isBlank()) {
        id = "call_" + calls.size();
      }
      calls.add(new ToolCallRequest(id, name, arguments(name, function.get("arguments"))));
    }
    return calls;
  }

  private JsonNode arguments(String tool, JsonNode arguments) {
    if (arguments == null || arguments.isNull()) {
      return NODES.objectNode();
    }
    if (arguments.isObject()) { // Some servers send the object itself rather than a string.
      return arguments;
    }
    if (!arguments.isTextual()) {
      throw badArguments(tool);
    }
    String text = arguments.asText();
    if (text.isBlank()) {
      return NODES.objectNode();
    }
    try {
      return Json.tree(text);
    } catch (IllegalArgumentException e) {
      throw badArguments(tool);
    }
  }

  private ProviderException badArguments(String tool) {
    // Not retryable: the model wrote them; the controller may ask it to repair the call instead.
    return http.exception(
        Code.INVALID_RESPONSE,
        "the arguments of tool call '" + ProviderHttp.cap(tool, 64) + "' are not valid JSON",
        false,
        null,
        200,
        null);
  }

  private static String finishReason(String finish, boolean toolCalls) {
    if (toolCalls) {
      return "tool_calls"; // Some servers say "stop" even when the answer is tool calls.
    }
    if (finish == null) {
      return null;
    }
    return switch (finish) {
      case "stop", "eos", "end_turn", "stop_sequence" -> "stop";
      case "length", "max_tokens" -> "length";
      case "tool_calls", "function_call" -> "tool_calls";
      case "content_filter" -> "content_filter";
      default -> null;
    };
  }

  private static Usage usage(JsonNode usage) {
    if (usage == null || !usage.isObject()) {
      return Usage.ZERO;
    }
    return new Usage(
        Math.max(0, usage.path("prompt_tokens").asLong(0)),
        Math.max(0, usage.path("completion_tokens").asLong(0)));
  }

  @Override
  public String toString() {
    return "OpenAiProvider[" + connection + "]";
  }
}
