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
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Anthropic's <a href="https://docs.anthropic.com/en/api/messages">Messages API</a>: {@code POST
 * {baseUrl}/v1/messages} (a base URL that already ends in {@code /v1} works too).
 *
 * <p>Mapping from our conversation: system messages (wherever they are) are joined into the
 * top-level {@code system}; an assistant's tool calls become {@code tool_use} blocks; tool results
 * become {@code tool_result} blocks of a <em>user</em> message, and consecutive messages of the
 * same Anthropic role are merged into one (so parallel tool results, and a user remark right after
 * them, form one user turn). Temperature is capped at 1.0 (Anthropic's maximum; ours is 2.0).
 * {@code max_tokens} is required by Anthropic: 1024 when the request has none.
 *
 * <p>Structured output: Anthropic has no JSON-schema response format, so the schema is offered as a
 * tool named {@value #RESPOND} and its input is returned as the completion's content (JSON text).
 * With no other tools the model is forced to call it ({@code tool_choice: {type: tool}}); with
 * other tools it must call one of them or {@value #RESPOND} ({@code tool_choice: {type: any}}),
 * which is what {@code response_format} plus tools means on OpenAI. A schema whose top level is not
 * an object is wrapped as {@code {"value": schema}} and unwrapped again.
 *
 * <p>Stop reasons are normalized to stop, length, tool_calls; {@code refusal} fails with {@code
 * refused}. No retries here: that is the gateway's job. See {@link ProviderHttp} for the error
 * mapping.
 */
public final class AnthropicProvider implements LlmProvider {
  static final String RESPOND = "respond";
  static final String VERSION = "2023-06-01";
  static final int DEFAULT_MAX_TOKENS = 1024;

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String WRAPPED = "value";

  private final ProviderConnection connection;
  private final ProviderHttp http;
  private final URI endpoint;

  public AnthropicProvider(ProviderConnection connection) {
    this(connection, Clock.systemUTC());
  }

  AnthropicProvider(ProviderConnection connection, Clock clock) {
    this.connection = connection;
    this.http = new ProviderHttp(name(), connection, clock);
    String path = connection.baseUrl().getPath() == null ? "" : connection.baseUrl().getPath();
    this.endpoint =
        ProviderHttp.resolve(
            connection.baseUrl(), path.matches(".*/v1/*") ? "messages" : "v1/messages");
  }

  @Override
  public String name() {
    return "anthropic";
  }

  /**
   * How the structured-output tool is set up for one request (null when the request has no
   * responseFormat).
   */
  private record Structured(String toolName, boolean wrapped) {}

  @Override
  public CompletableFuture<Completion> complete(LlmRequest request, String model) {
    String chosen;
    ObjectNode body;
    Structured structured;
    try {
      chosen = http.model(model, request);
      structured = structured(request);
      body = body(request, chosen, structured);
    } catch (ProviderException e) {
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(http.failure(e));
    }
    return http.postJson(endpoint, headers(), body, json -> completion(json, chosen, structured));
  }

  private Map<String, String> headers() {
    Map<String, String> headers = new LinkedHashMap<>();
    String key = connection.apiKey();
    if (key != null && !key.isBlank()) {
      headers.put("x-api-key", key);
    }
    headers.put("anthropic-version", VERSION);
    return headers;
  }

  private static Structured structured(LlmRequest request) {
    if (request.responseFormat() == null) {
      return null;
    }
    String name = RESPOND;
    for (ToolSpec tool : request.tools()) {
      if (tool.name().equals(RESPOND)) {
        name = "respond_structured"; // never shadow a real tool of the same name
      }
    }
    return new Structured(name, !"object".equals(request.responseFormat().path("type").asText()));
  }

  private static ObjectNode body(LlmRequest request, String model, Structured structured) {
    ObjectNode body = NODES.objectNode();
    body.put("model", model);
    body.put("max_tokens", request.maxTokens() == null ? DEFAULT_MAX_TOKENS : request.maxTokens());
    List<String> system = new ArrayList<>();
    ArrayNode messages = NODES.arrayNode();
    String lastRole = null;
    ArrayNode lastBlocks = null;
    for (ChatMessage message : request.messages()) {
      if (message.role() == ChatMessage.Role.SYSTEM) {
        system.add(message.content());
        continue;
      }
      String role = message.role() == ChatMessage.Role.ASSISTANT ? "assistant" : "user";
      ArrayNode blocks = blocks(message);
      if (blocks.isEmpty()) {
        continue; // an assistant turn that said nothing: Anthropic rejects empty content
      }
      if (role.equals(lastRole)) {
        lastBlocks.addAll(blocks);
      } else {
        ObjectNode node = messages.addObject().put("role", role);
        lastBlocks = node.putArray("content");
        lastBlocks.addAll(blocks);
        lastRole = role;
      }
    }
    for (JsonNode message :
        messages) { // a lone text block reads better (and is smaller) as a plain string
      JsonNode content = message.get("content");
      if (content.size() == 1 && "text".equals(content.get(0).path("type").asText())) {
        ((ObjectNode) message).put("content", content.get(0).get("text").asText());
      }
    }
    if (!system.isEmpty()) {
      body.put("system", String.join("\n\n", system));
    }
    body.set("messages", messages);
    if (!request.tools().isEmpty() || structured != null) {
      ArrayNode tools = body.putArray("tools");
      for (ToolSpec tool : request.tools()) {
        tools
            .addObject()
            .put("name", tool.name())
            .put("description", tool.description())
            .set("input_schema", tool.parameters());
      }
      if (structured != null) {
        JsonNode schema = request.responseFormat();
        if (structured.wrapped()) {
          ObjectNode wrapper = NODES.objectNode().put("type", "object");
          wrapper.putObject("properties").set(WRAPPED, schema);
          wrapper.putArray("required").add(WRAPPED);
          schema = wrapper;
        }
        tools
            .addObject()
            .put("name", structured.toolName())
            .put(
                "description",
                "Give the final answer. Its input is the answer, following the required JSON schema.")
            .set("input_schema", schema);
        ObjectNode choice = body.putObject("tool_choice");
        if (request.tools().isEmpty()) {
          choice.put("type", "tool").put("name", structured.toolName());
        } else {
          choice.put("type", "any");
        }
      }
    }
    if (request.temperature() != null) {
      body.put("temperature", Math.min(1.0, request.temperature()));
    }
    return body;
  }

  private static ArrayNode blocks(ChatMessage message) {
    ArrayNode blocks = NODES.arrayNode();
    switch (message.role()) {
      case TOOL ->
          blocks
              .addObject()
              .put("type", "tool_result")
              .put("tool_use_id", message.toolCallId())
              .put("content", message.content() == null ? "" : message.content());
      case ASSISTANT -> {
        if (message.content() != null && !message.content().isBlank()) {
          blocks.addObject().put("type", "text").put("text", message.content());
        }
        for (ToolCallRequest call : message.toolCalls()) {
          blocks
              .addObject()
              .put("type", "tool_use")
              .put("id", call.id())
              .put("name", call.name())
              .set("input", call.arguments());
        }
      }
      default -> blocks.addObject().put("type", "text").put("text", message.content());
    }
    return blocks;
  }

  private Completion completion(JsonNode json, String requestedModel, Structured structured) {
    JsonNode content = json.get("content");
    if (content == null || !content.isArray()) {
      String detail =
          json.has("error") ? ProviderHttp.errorDetail(json.toString()) : "no content array";
      throw http.invalidResponse(detail, 200);
    }
    String stop = ProviderHttp.text(json, "stop_reason");
    if ("refusal".equals(stop)) {
      throw http.exception(
          Code.REFUSED,
          "the model refused to answer (stop_reason refusal)",
          false,
          null,
          200,
          null);
    }
    StringBuilder text = new StringBuilder();
    boolean hasText = false;
    List<ToolCallRequest> calls = new ArrayList<>();
    JsonNode answer = null;
    for (JsonNode block : content) {
      String type = block.path("type").asText();
      if (type.equals("text")) {
        text.append(block.path("text").asText(""));
        hasText = true;
      } else if (type.equals("tool_use")) {
        String id = ProviderHttp.text(block, "id");
        String name = ProviderHttp.text(block, "name");
        if (id == null || id.isBlank() || name == null || name.isBlank()) {
          throw http.invalidResponse("a tool_use block has no id or name", 200);
        }
        JsonNode input = block.get("input");
        input = input == null || input.isNull() ? NODES.objectNode() : input;
        if (structured != null && name.equals(structured.toolName())) {
          answer = structured.wrapped() ? input.path(WRAPPED) : input;
        } else {
          calls.add(new ToolCallRequest(id, name, input));
        }
      } // thinking, redacted_thinking and server tool blocks are not part of the answer
    }
    String model = ProviderHttp.text(json, "model");
    model = model == null || model.isBlank() ? requestedModel : model;
    Usage usage = usage(json.get("usage"));
    if (structured != null && calls.isEmpty()) {
      if (answer == null || answer.isMissingNode()) {
        throw http.invalidResponse(
            "structured output was asked for but the answer has no '"
                + structured.toolName()
                + "' tool call",
            200);
      }
      return new Completion(
          write(answer), List.of(), "max_tokens".equals(stop) ? "length" : "stop", usage, model);
    }
    String finalText = hasText ? text.toString() : null;
    if (finalText == null && calls.isEmpty()) {
      throw http.invalidResponse("no text and no tool calls", 200);
    }
    return new Completion(finalText, calls, finishReason(stop, !calls.isEmpty()), usage, model);
  }

  private static String write(JsonNode json) {
    try {
      return Json.writer().writeValueAsString(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the structured answer", e);
    }
  }

  private static String finishReason(String stop, boolean toolCalls) {
    if (toolCalls) {
      return "tool_calls";
    }
    if (stop == null) {
      return null;
    }
    return switch (stop) {
      case "end_turn", "stop_sequence", "pause_turn" -> "stop";
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      default -> null;
    };
  }

  /** Input tokens include prompt-cache writes and reads, which Anthropic counts apart. */
  private static Usage usage(JsonNode usage) {
    if (usage == null || !usage.isObject()) {
      return Usage.ZERO;
    }
    long input =
        usage.path("input_tokens").asLong(0)
            + usage.path("cache_creation_input_tokens").asLong(0)
            + usage.path("cache_read_input_tokens").asLong(0);
    return new Usage(Math.max(0, input), Math.max(0, usage.path("output_tokens").asLong(0)));
  }

  @Override
  public String toString() {
    return "AnthropicProvider[" + connection + "]";
  }
}
