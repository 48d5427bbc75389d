package dev.llmstreams.llm;

import static dev.llmstreams.llm.OpenAiProviderTest.WEATHER;
import static dev.llmstreams.llm.OpenAiProviderTest.answer;
import static dev.llmstreams.llm.OpenAiProviderTest.ask;
import static dev.llmstreams.llm.OpenAiProviderTest.failure;
import static dev.llmstreams.llm.OpenAiProviderTest.request;
import static dev.llmstreams.llm.ScriptedLlmServer.ANTHROPIC_PATH;
import static dev.llmstreams.llm.ScriptedLlmServer.anthropicError;
import static dev.llmstreams.llm.ScriptedLlmServer.anthropicText;
import static dev.llmstreams.llm.ScriptedLlmServer.anthropicToolUse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError.Code;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolSpec;
import dev.llmstreams.events.Usage;
import dev.llmstreams.llm.ScriptedLlmServer.RecordedRequest;
import dev.llmstreams.llm.ScriptedLlmServer.Reply;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AnthropicProviderTest {
  static final String KEY = "sk-ant-test-SECRET-0123456789";
  static final String MODEL = "claude-sonnet-4-5";
  static final JsonNode LABEL_SCHEMA =
      Json.tree(
          "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"}},"
              + "\"required\":[\"label\"]}");

  ScriptedLlmServer server;
  AnthropicProvider provider;

  @BeforeEach
  void start() {
    server = ScriptedLlmServer.start();
    provider = provider(server.anthropicBaseUrl(), KEY, OpenAiProviderTest.TIMEOUT);
  }

  @AfterEach
  void stop() {
    provider.close();
    server.close();
  }

  static AnthropicProvider provider(URI baseUrl, String key, Duration timeout) {
    return new AnthropicProvider(new ProviderConnection(baseUrl, key, timeout, MODEL));
  }

  // ---- what goes on the wire ----

  @Test
  void shouldSendSystemOnTopToolUseBlocksAndMergedToolResultsInMessagesFormat() throws Exception {
    server.enqueue(ANTHROPIC_PATH, Reply.json(anthropicText("Sunny in Paris, snow in Oslo.")));
    LlmRequest request =
        request(
            List.of(
                ChatMessage.system("You are terse."),
                ChatMessage.user("Weather in Paris and Oslo?"),
                new ChatMessage(
                    ChatMessage.Role.ASSISTANT,
                    "Checking both.",
                    null,
                    List.of(
                        new ToolCallRequest(
                            "toolu_1", "get_weather", Json.tree("{\"city\":\"Paris\"}")),
                        new ToolCallRequest(
                            "toolu_2", "get_weather", Json.tree("{\"city\":\"Oslo\"}")))),
                new ChatMessage(ChatMessage.Role.TOOL, "sunny", "toolu_1", List.of()),
                new ChatMessage(ChatMessage.Role.TOOL, "snow", "toolu_2", List.of()),
                ChatMessage.user("Answer in one line.")),
            List.of(WEATHER),
            null,
            null,
            1.5);

    answer(provider.complete(request, null));

    RecordedRequest sent = server.lastRequest();
    assertThat(sent.method()).isEqualTo("POST");
    assertThat(sent.path()).isEqualTo("/v1/messages");
    assertThat(sent.header("x-api-key")).isEqualTo(KEY);
    assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(sent.header("content-type")).isEqualTo("application/json");
    assertThat(sent.header("authorization")).isNull();
    assertThat(sent.json())
        .isEqualTo(
            Json.tree(
                """
        {"model": "claude-sonnet-4-5",
         "max_tokens": 1024,
         "system": "You are terse.",
         "messages": [
           {"role": "user", "content": "Weather in Paris and Oslo?"},
           {"role": "assistant", "content": [
             {"type": "text", "text": "Checking both."},
             {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
             {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}]},
           {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
             {"type": "tool_result", "tool_use_id": "toolu_2", "content": "snow"},
             {"type": "text", "text": "Answer in one line."}]}],
         "tools": [
           {"name": "get_weather", "description": "Current weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
         "temperature": 1.0}
        """));
  }

  @Test
  void shouldForceARespondToolForStructuredOutputAndReturnItsInputAsContent() throws Exception {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            anthropicToolUse(
                null,
                new ToolCallRequest("toolu_9", "respond", Json.tree("{\"label\":\"spam\"}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Classify: win a prize")),
                    List.of(),
                    LABEL_SCHEMA,
                    50,
                    null),
                null));

    JsonNode sent = server.lastRequest().json();
    assertThat(sent.get("max_tokens").asInt()).isEqualTo(50);
    assertThat(sent.get("tools"))
        .isEqualTo(
            Json.tree(
                "[{\"name\":\"respond\",\"description\":"
                    + "\"Give the final answer. Its input is the answer, following the required JSON schema.\","
                    + "\"input_schema\":"
                    + LABEL_SCHEMA
                    + "}]"));
    assertThat(sent.get("tool_choice"))
        .isEqualTo(Json.tree("{\"type\":\"tool\",\"name\":\"respond\"}"));
    assertThat(Json.tree(completion.content())).isEqualTo(Json.tree("{\"label\":\"spam\"}"));
    assertThat(completion.toolCalls()).isEmpty();
    assertThat(completion.finishReason()).isEqualTo("stop");
  }

  @Test
  void shouldLetTheModelCallARealToolOrRespondWhenStructuredOutputComesWithTools()
      throws Exception {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            anthropicToolUse(
                null,
                new ToolCallRequest("toolu_1", "get_weather", Json.tree("{\"city\":\"Paris\"}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Weather label?")),
                    List.of(WEATHER),
                    LABEL_SCHEMA,
                    null,
                    null),
                null));

    JsonNode sent = server.lastRequest().json();
    assertThat(sent.get("tool_choice")).isEqualTo(Json.tree("{\"type\":\"any\"}"));
    assertThat(sent.get("tools")).hasSize(2);
    assertThat(completion.toolCalls())
        .extracting(ToolCallRequest::name)
        .containsExactly("get_weather");
    assertThat(completion.finishReason()).isEqualTo("tool_calls");
  }

  @Test
  void shouldWrapAndUnwrapASchemaWhoseTopLevelIsNotAnObject() throws Exception {
    JsonNode listSchema = Json.tree("{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            anthropicToolUse(
                null,
                new ToolCallRequest(
                    "toolu_9", "respond", Json.tree("{\"value\":[\"a\",\"b\"]}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Two letters")), List.of(), listSchema, null, null),
                null));

    assertThat(server.lastRequest().json().at("/tools/0/input_schema"))
        .isEqualTo(
            Json.tree(
                "{\"type\":\"object\",\"properties\":{\"value\":"
                    + listSchema
                    + "},\"required\":[\"value\"]}"));
    assertThat(completion.content()).isEqualTo("[\"a\",\"b\"]");
  }

  @Test
  void shouldSendNoApiKeyHeaderWithoutAKey() throws Exception {
    server.enqueue(ANTHROPIC_PATH, Reply.json(anthropicText("hi")));
    try (AnthropicProvider local =
        provider(server.anthropicBaseUrl(), null, OpenAiProviderTest.TIMEOUT)) {
      answer(local.complete(ask("hello"), null));
    }
    assertThat(server.lastRequest().header("x-api-key")).isNull();
    assertThat(server.lastRequest().header("anthropic-version")).isEqualTo("2023-06-01");
  }

  @Test
  void shouldAcceptABaseUrlThatAlreadyEndsInV1() throws Exception {
    server.enqueue(ANTHROPIC_PATH, Reply.json(anthropicText("hi")));
    URI withV1 = URI.create(server.anthropicBaseUrl() + "/v1/");
    try (AnthropicProvider p = provider(withV1, KEY, OpenAiProviderTest.TIMEOUT)) {
      answer(p.complete(ask("hello"), null));
    }
    assertThat(server.lastRequest().path()).isEqualTo("/v1/messages");
  }

  @Test
  void shouldNeverPutTheKeyInAnErrorMessageOrToString() {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(401, anthropicError("authentication_error", "invalid x-api-key " + KEY)));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.UNAUTHORIZED);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage())
        .doesNotContain(KEY)
        .startsWith("anthropic: not authorized (HTTP 401)");
    assertThat(e.toString()).doesNotContain(KEY);
    assertThat(provider.toString()).doesNotContain(KEY);
  }

  // ---- reading answers ----

  @Test
  void shouldJoinTextBlocksAndReadUsageStopReasonAndModel() throws Exception {
    ObjectNode body = anthropicText("Paris");
    body.withArray("/content").addObject().put("type", "text").put("text", " is the capital.");
    ((ObjectNode) body.get("usage")).put("cache_read_input_tokens", 100);
    server.enqueue(ANTHROPIC_PATH, Reply.json(body));

    Completion completion = answer(provider.complete(ask("Capital of France?"), null));

    assertThat(completion.content()).isEqualTo("Paris is the capital.");
    assertThat(completion.toolCalls()).isEmpty();
    assertThat(completion.finishReason()).isEqualTo("stop");
    assertThat(completion.usage())
        .isEqualTo(
            new Usage(ScriptedLlmServer.INPUT_TOKENS + 100, ScriptedLlmServer.OUTPUT_TOKENS));
    assertThat(completion.model()).isEqualTo(ScriptedLlmServer.MODEL);
    assertThat(server.lastRequest().json().get("model").asText()).isEqualTo(MODEL);
  }

  @Test
  void shouldParseParallelToolUseBlocks() throws Exception {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            anthropicToolUse(
                "Let me check.",
                new ToolCallRequest("toolu_a", "get_weather", Json.tree("{\"city\":\"Paris\"}")),
                new ToolCallRequest("toolu_b", "get_weather", Json.tree("{\"city\":\"Oslo\"}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Paris and Oslo?")),
                    List.of(WEATHER),
                    null,
                    null,
                    null),
                null));

    assertThat(completion.content()).isEqualTo("Let me check.");
    assertThat(completion.finishReason()).isEqualTo("tool_calls");
    assertThat(completion.toolCalls())
        .containsExactly(
            new ToolCallRequest("toolu_a", "get_weather", Json.tree("{\"city\":\"Paris\"}")),
            new ToolCallRequest("toolu_b", "get_weather", Json.tree("{\"city\":\"Oslo\"}")));
  }

  @Test
  void shouldCountZeroTokensWhenTheAnswerHasNoUsage() throws Exception {
    ObjectNode body = anthropicText("hi");
    body.remove("usage");
    server.enqueue(ANTHROPIC_PATH, Reply.json(body));

    assertThat(answer(provider.complete(ask("hello"), null)).usage()).isEqualTo(Usage.ZERO);
  }

  @Test
  void shouldFailWithRefusedOnARefusalStopReason() {
    ObjectNode body = anthropicText("");
    body.put("stop_reason", "refusal");
    server.enqueue(ANTHROPIC_PATH, Reply.json(body));

    ProviderException e = failure(provider.complete(ask("something bad"), null));

    assertThat(e.code()).isEqualTo(Code.REFUSED);
    assertThat(e.retryable()).isFalse();
  }

  @Test
  void shouldReportStructuredOutputMissingFromTheAnswerAsARetryableInvalidResponse() {
    server.enqueue(ANTHROPIC_PATH, Reply.json(anthropicText("spam, I think")));

    ProviderException e =
        failure(
            provider.complete(
                request(List.of(ChatMessage.user("Classify")), List.of(), LABEL_SCHEMA, null, null),
                null));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
  }

  // ---- errors ----

  @Test
  void shouldReportRateLimitsWithTheRetryAfterSeconds() {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(429, anthropicError("rate_limit_error", "Number of requests exceeded"))
            .withHeader("retry-after", "12"));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.RATE_LIMITED);
    assertThat(e.retryable()).isTrue();
    assertThat(e.retryAfter()).contains(Duration.ofSeconds(12));
    assertThat(e.httpStatus()).isEqualTo(429);
  }

  @Test
  void shouldTreatOverloadedAsARetryableProviderError() {
    server.enqueue(
        ANTHROPIC_PATH, Reply.json(529, anthropicError("overloaded_error", "Overloaded")));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
    assertThat(e.retryable()).isTrue();
    assertThat(e.httpStatus()).isEqualTo(529);
    assertThat(e.getMessage()).isEqualTo("anthropic: overloaded (HTTP 529): Overloaded");
  }

  @Test
  void shouldTreatServerErrorsAsRetryable() {
    server.enqueue(
        ANTHROPIC_PATH, Reply.json(500, anthropicError("api_error", "Internal server error")));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
    assertThat(e.retryable()).isTrue();
  }

  @Test
  void shouldReportAPromptThatIsTooLongAsContextLengthExceeded() {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            400,
            anthropicError(
                "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum")));

    ProviderException e = failure(provider.complete(ask("a very long prompt"), null));

    assertThat(e.code()).isEqualTo(Code.CONTEXT_LENGTH_EXCEEDED);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage()).doesNotContain("a very long prompt");
  }

  @Test
  void shouldReportOtherBadRequestsAsInvalidRequest() {
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(400, anthropicError("invalid_request_error", "messages: roles must alternate")));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.INVALID_REQUEST);
    assertThat(e.retryable()).isFalse();
  }

  @Test
  void shouldTimeOutWhenTheAnswerIsSlowerThanTheConnectionTimeout() {
    server.enqueue(
        ANTHROPIC_PATH, Reply.json(anthropicText("too late")).withDelay(Duration.ofSeconds(3)));
    try (AnthropicProvider impatient =
        provider(server.anthropicBaseUrl(), KEY, OpenAiProviderTest.SHORT_TIMEOUT)) {
      ProviderException e = failure(impatient.complete(ask("hello"), null));

      assertThat(e.code()).isEqualTo(Code.TIMEOUT);
      assertThat(e.retryable()).isTrue();
      assertThat(e.httpStatus()).isZero();
    }
  }

  @Test
  void shouldReportAMalformedJsonBodyAsARetryableInvalidResponse() {
    server.enqueue(ANTHROPIC_PATH, Reply.json(200, "{\"content\": [ {\"type\": \"text\""));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
  }

  @Test
  void shouldReportAnHtmlPageAsARetryableInvalidResponse() {
    server.enqueue(
        ANTHROPIC_PATH, Reply.raw(200, "text/html", "<html><body>Bad gateway</body></html>"));

    ProviderException e = failure(provider.complete(ask("hello"), null));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
    assertThat(e.getMessage()).contains("text/html");
  }

  @Test
  void shouldReportARefusedConnectionAsARetryableProviderError() {
    try (AnthropicProvider nowhere =
        provider(ScriptedLlmServer.refusingBaseUrl(), KEY, OpenAiProviderTest.TIMEOUT)) {
      ProviderException e = failure(nowhere.complete(ask("hello"), null));

      assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
      assertThat(e.retryable()).isTrue();
      assertThat(e.httpStatus()).isZero();
    }
  }

  @Test
  void shouldNotShadowARealToolNamedRespond() throws Exception {
    ToolSpec respond =
        new ToolSpec("respond", "Send a reply to the customer", WEATHER.parameters());
    server.enqueue(
        ANTHROPIC_PATH,
        Reply.json(
            anthropicToolUse(
                null,
                new ToolCallRequest(
                    "toolu_1", "respond_structured", Json.tree("{\"label\":\"ok\"}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Go")), List.of(respond), LABEL_SCHEMA, null, null),
                null));

    assertThat(server.lastRequest().json().get("tools"))
        .extracting(t -> t.get("name").asText())
        .containsExactly("respond", "respond_structured");
    assertThat(completion.content()).isEqualTo("{\"label\":\"ok\"}");
  }
}
