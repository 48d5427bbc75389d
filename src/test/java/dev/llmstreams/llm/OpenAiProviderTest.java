package dev.llmstreams.llm;

import static dev.llmstreams.llm.ScriptedLlmServer.OPENAI_PATH;
import static dev.llmstreams.llm.ScriptedLlmServer.openAiError;
import static dev.llmstreams.llm.ScriptedLlmServer.openAiText;
import static dev.llmstreams.llm.ScriptedLlmServer.openAiToolCalls;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

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
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenAiProviderTest {
  static final String KEY = "sk-test-SECRET-0123456789";

  /**
   * Generous, as the first call of a cold JVM loads many classes; only the timeout test uses a
   * short one.
   */
  static final Duration TIMEOUT = Duration.ofSeconds(5);

  static final Duration SHORT_TIMEOUT = Duration.ofMillis(300);

  ScriptedLlmServer server;
  OpenAiProvider provider;

  @BeforeEach
  void start() {
    server = ScriptedLlmServer.start();
    provider = provider(server.openAiBaseUrl(), KEY);
  }

  @AfterEach
  void stop() {
    provider.close();
    server.close();
  }

  static OpenAiProvider provider(URI baseUrl, String key) {
    return new OpenAiProvider(new ProviderConnection(baseUrl, key, TIMEOUT, "default-model"));
  }

  static LlmRequest request(
      List<ChatMessage> messages,
      List<ToolSpec> tools,
      JsonNode responseFormat,
      Integer maxTokens,
      Double temperature) {
    return new LlmRequest(
        "g-1/1/llm",
        "llm-replies",
        "controller.plan",
        "g-1",
        null,
        null,
        messages,
        tools,
        responseFormat,
        maxTokens,
        temperature,
        null,
        Map.of());
  }

  static LlmRequest ask(String question) {
    return request(List.of(ChatMessage.user(question)), List.of(), null, null, null);
  }

  static final ToolSpec WEATHER =
      new ToolSpec(
          "get_weather",
          "Current weather in a city",
          Json.tree(
              "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"));

  static Completion answer(CompletableFuture<Completion> future) throws Exception {
    return future.get(5, TimeUnit.SECONDS);
  }

  /** The ProviderException the call failed with; fails the test when it succeeded. */
  static ProviderException failure(CompletableFuture<Completion> future) {
    Throwable thrown = catchThrowable(() -> future.get(5, TimeUnit.SECONDS));
    assertThat(thrown).isInstanceOf(ExecutionException.class);
    assertThat(thrown.getCause()).isInstanceOf(ProviderException.class);
    return (ProviderException) thrown.getCause();
  }

  // ---- what goes on the wire ----

  @Test
  void shouldSendRolesToolsToolCallsAndToolResultsInChatCompletionsFormat() throws Exception {
    server.enqueue(OPENAI_PATH, Reply.json(openAiText("It is sunny in Paris.")));
    LlmRequest request =
        request(
            List.of(
                ChatMessage.system("You are terse."),
                ChatMessage.user("Weather in Paris?"),
                new ChatMessage(
                    ChatMessage.Role.ASSISTANT,
                    null,
                    null,
                    List.of(
                        new ToolCallRequest(
                            "call_1", "get_weather", Json.tree("{\"city\":\"Paris\"}")))),
                new ChatMessage(ChatMessage.Role.TOOL, "{\"sky\":\"sunny\"}", "call_1", List.of())),
            List.of(WEATHER),
            null,
            200,
            0.2);

    answer(provider.complete(request, "gpt-4o-mini"));

    RecordedRequest sent = server.lastRequest();
    assertThat(sent.method()).isEqualTo("POST");
    assertThat(sent.path()).isEqualTo("/v1/chat/completions");
    assertThat(sent.header("authorization")).isEqualTo("Bearer " + KEY);
    assertThat(sent.header("content-type")).isEqualTo("application/json");
    // The request id travels with the call, so a repeat after a crash is visible at the provider.
    assertThat(sent.header("x-client-request-id")).isEqualTo(request.requestId());
    assertThat(sent.json())
        .isEqualTo(
            Json.tree(
                """
        {"model": "gpt-4o-mini",
         "messages": [
           {"role": "system", "content": "You are terse."},
           {"role": "user", "content": "Weather in Paris?"},
           {"role": "assistant", "tool_calls": [
             {"id": "call_1", "type": "function",
              "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}]},
           {"role": "tool", "tool_call_id": "call_1", "content": "{\\"sky\\":\\"sunny\\"}"}],
         "tools": [
           {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
         "max_tokens": 200,
         "temperature": 0.2}
        """));
  }

  @Test
  void shouldAskForStrictJsonSchemaOutputWhenTheRequestHasAResponseFormat() throws Exception {
    JsonNode schema =
        Json.tree(
            "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"}},"
                + "\"required\":[\"label\"],\"additionalProperties\":false}");
    server.enqueue(OPENAI_PATH, Reply.json(openAiText("{\"label\":\"spam\"}")));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Classify: win a prize")),
                    List.of(),
                    schema,
                    null,
                    null),
                null));

    JsonNode sent = server.lastRequest().json();
    assertThat(sent.get("response_format"))
        .isEqualTo(
            Json.tree(
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"response\",\"schema\":"
                    + schema
                    + ",\"strict\":true}}"));
    assertThat(sent.get("model").asText())
        .as("the connection's default model")
        .isEqualTo("default-model");
    assertThat(sent.has("max_tokens")).isFalse();
    assertThat(sent.has("temperature")).isFalse();
    assertThat(sent.has("tools")).as("no empty tools array").isFalse();
    assertThat(Json.tree(completion.content())).isEqualTo(Json.tree("{\"label\":\"spam\"}"));
  }

  @Test
  void shouldSendNoAuthorizationHeaderWithoutAKey() throws Exception {
    server.enqueue(OPENAI_PATH, Reply.json(openAiText("hi")));
    try (OpenAiProvider local = provider(server.openAiBaseUrl(), null)) {
      answer(local.complete(ask("hello"), "llama3.2"));
    }
    assertThat(server.lastRequest().header("authorization")).isNull();
    assertThat(server.lastRequest().header("api-key")).isNull();
  }

  @Test
  void shouldKeepTheQueryOfAnAzureStyleBaseUrlAndSendTheKeyAsApiKey() throws Exception {
    // Azure hosts need the key in api-key; here the host is 127.0.0.1, so only the query handling
    // is checked.
    server.enqueue("/openai/deployments/gpt4/chat/completions", Reply.json(openAiText("hi")));
    URI azureStyle =
        URI.create(
            "http://127.0.0.1:"
                + server.port()
                + "/openai/deployments/gpt4/?api-version=2024-10-21");
    try (OpenAiProvider azure = provider(azureStyle, KEY)) {
      answer(azure.complete(ask("hello"), "gpt4"));
    }
    assertThat(server.lastRequest().path()).isEqualTo("/openai/deployments/gpt4/chat/completions");
    assertThat(server.lastRequest().query()).isEqualTo("api-version=2024-10-21");
  }

  @Test
  void shouldNeverPutTheKeyInAnErrorMessageOrToString() {
    server.enqueue(
        OPENAI_PATH,
        Reply.json(401, openAiError("invalid_api_key", "Incorrect API key provided: " + KEY)));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.UNAUTHORIZED);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage()).doesNotContain(KEY).contains("Incorrect API key provided: [hidden]");
    assertThat(e.toString()).doesNotContain(KEY);
    assertThat(provider.toString()).doesNotContain(KEY).contains("[hidden]");
  }

  @Test
  void shouldReturnAFutureBeforeTheServerAnswers() throws Exception {
    server.enqueue(OPENAI_PATH, Reply.json(openAiText("late")).withDelay(Duration.ofMillis(150)));
    CompletableFuture<Completion> future = provider.complete(ask("hello"), "gpt-4o");
    assertThat(future).isNotDone();
    assertThat(answer(future).content()).isEqualTo("late");
  }

  // ---- reading answers ----

  @Test
  void shouldParseATextAnswerWithUsageFinishReasonAndModel() throws Exception {
    server.enqueue(OPENAI_PATH, Reply.json(openAiText("Paris.")));

    Completion completion = answer(provider.complete(ask("Capital of France?"), "gpt-4o"));

    assertThat(completion.content()).isEqualTo("Paris.");
    assertThat(completion.toolCalls()).isEmpty();
    assertThat(completion.finishReason()).isEqualTo("stop");
    assertThat(completion.usage())
        .isEqualTo(new Usage(ScriptedLlmServer.INPUT_TOKENS, ScriptedLlmServer.OUTPUT_TOKENS));
    assertThat(completion.model()).isEqualTo(ScriptedLlmServer.MODEL);
  }

  @Test
  void shouldParseParallelToolCallsWithTheirArgumentsAsJson() throws Exception {
    server.enqueue(
        OPENAI_PATH,
        Reply.json(
            openAiToolCalls(
                new ToolCallRequest("call_a", "get_weather", Json.tree("{\"city\":\"Paris\"}")),
                new ToolCallRequest("call_b", "get_weather", Json.tree("{\"city\":\"Oslo\"}")))));

    Completion completion =
        answer(
            provider.complete(
                request(
                    List.of(ChatMessage.user("Paris and Oslo?")),
                    List.of(WEATHER),
                    null,
                    null,
                    null),
                "gpt-4o"));

    assertThat(completion.content()).isNull();
    assertThat(completion.finishReason()).isEqualTo("tool_calls");
    assertThat(completion.toolCalls())
        .containsExactly(
            new ToolCallRequest("call_a", "get_weather", Json.tree("{\"city\":\"Paris\"}")),
            new ToolCallRequest("call_b", "get_weather", Json.tree("{\"city\":\"Oslo\"}")));
  }

  @Test
  void shouldCountZeroTokensWhenTheServerReportsNoUsage() throws Exception {
    ObjectNode body = openAiText("hi");
    body.remove("usage");
    server.enqueue(OPENAI_PATH, Reply.json(body));

    assertThat(answer(provider.complete(ask("hello"), "llama3.2")).usage()).isEqualTo(Usage.ZERO);
  }

  @Test
  void shouldFailNotRetryablyWhenToolArgumentsAreNotJson() {
    ObjectNode body =
        openAiToolCalls(new ToolCallRequest("call_a", "get_weather", Json.tree("{}")));
    ((ObjectNode) body.at("/choices/0/message/tool_calls/0/function"))
        .put("arguments", "{\"city\": Par");
    server.enqueue(OPENAI_PATH, Reply.json(body));

    ProviderException e = failure(provider.complete(ask("weather?"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage()).contains("get_weather").doesNotContain("Par");
  }

  @Test
  void shouldFailWithRefusedWhenTheModelRefuses() {
    server.enqueue(
        OPENAI_PATH, Reply.json(ScriptedLlmServer.openAiRefusal("I can't help with that.")));

    ProviderException e = failure(provider.complete(ask("something bad"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.REFUSED);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage()).contains("I can't help with that.");
  }

  // ---- errors ----

  @Test
  void shouldReportRateLimitsWithTheRetryAfterSeconds() {
    server.enqueue(
        OPENAI_PATH,
        Reply.json(429, openAiError("rate_limit_exceeded", "Rate limit reached"))
            .withHeader("Retry-After", "7"));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.RATE_LIMITED);
    assertThat(e.retryable()).isTrue();
    assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
    assertThat(e.httpStatus()).isEqualTo(429);
    assertThat(e.getMessage()).isEqualTo("openai: rate limited (HTTP 429): Rate limit reached");
  }

  @Test
  void shouldPreferRetryAfterMillisecondsOverSeconds() {
    server.enqueue(
        OPENAI_PATH,
        Reply.json(429, openAiError("rate_limit_exceeded", "slow down"))
            .withHeader("Retry-After", "2")
            .withHeader("retry-after-ms", "1500"));

    assertThat(failure(provider.complete(ask("hello"), "gpt-4o")).retryAfter())
        .contains(Duration.ofMillis(1500));
  }

  @Test
  void shouldReadRetryAfterGivenAsAnHttpDate() {
    String inOneMinute =
        DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().plusSeconds(60));
    server.enqueue(
        OPENAI_PATH,
        Reply.json(503, openAiError("overloaded", "busy")).withHeader("Retry-After", inOneMinute));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
    assertThat(e.retryable()).isTrue();
    assertThat(e.retryAfter())
        .hasValueSatisfying(
            d -> assertThat(d).isBetween(Duration.ofSeconds(55), Duration.ofSeconds(60)));
  }

  @Test
  void shouldTreatServerErrorsAsRetryable() {
    server.enqueue(OPENAI_PATH, Reply.json(500, openAiError(null, "The server had an error")));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
    assertThat(e.retryable()).isTrue();
    assertThat(e.retryAfter()).isEmpty();
    assertThat(e.httpStatus()).isEqualTo(500);
  }

  @Test
  void shouldReportContextLengthExceededAsNotRetryable() {
    server.enqueue(
        OPENAI_PATH,
        Reply.json(
            400,
            openAiError(
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.")));

    ProviderException e = failure(provider.complete(ask("a very long prompt"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.CONTEXT_LENGTH_EXCEEDED);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage()).doesNotContain("a very long prompt");
  }

  @Test
  void shouldReportOtherBadRequestsAsInvalidRequestWithAShortMessage() {
    server.enqueue(OPENAI_PATH, Reply.json(400, openAiError("invalid_value", "x".repeat(5000))));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.INVALID_REQUEST);
    assertThat(e.retryable()).isFalse();
    assertThat(e.getMessage().length()).isLessThan(400);
  }

  @Test
  void shouldTimeOutWhenTheAnswerIsSlowerThanTheConnectionTimeout() {
    server.enqueue(
        OPENAI_PATH, Reply.json(openAiText("too late")).withDelay(Duration.ofSeconds(3)));
    try (OpenAiProvider impatient =
        new OpenAiProvider(
            new ProviderConnection(server.openAiBaseUrl(), KEY, SHORT_TIMEOUT, "gpt-4o"))) {
      ProviderException e = failure(impatient.complete(ask("hello"), null));

      assertThat(e.code()).isEqualTo(Code.TIMEOUT);
      assertThat(e.retryable()).isTrue();
      assertThat(e.httpStatus()).isZero();
      assertThat(e.getMessage()).isEqualTo("openai: no answer within 300 ms");
    }
  }

  @Test
  void shouldReportAMalformedJsonBodyAsARetryableInvalidResponse() {
    server.enqueue(OPENAI_PATH, Reply.json(200, "{\"choices\": [{\"message\": "));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
  }

  @Test
  void shouldReportAJsonBodyWithoutChoicesAsARetryableInvalidResponse() {
    server.enqueue(OPENAI_PATH, Reply.json(200, "{\"object\": \"chat.completion\"}"));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
  }

  @Test
  void shouldReportAnHtmlPageAsARetryableInvalidResponse() {
    server.enqueue(
        OPENAI_PATH,
        Reply.raw(
            200,
            "text/html; charset=utf-8",
            "<html><body><h1>Welcome to nginx!</h1></body></html>"));

    ProviderException e = failure(provider.complete(ask("hello"), "gpt-4o"));

    assertThat(e.code()).isEqualTo(Code.INVALID_RESPONSE);
    assertThat(e.retryable()).isTrue();
    assertThat(e.getMessage()).contains("text/html");
  }

  @Test
  void shouldReportARefusedConnectionAsARetryableProviderError() {
    try (OpenAiProvider nowhere = provider(ScriptedLlmServer.refusingBaseUrl(), KEY)) {
      ProviderException e = failure(nowhere.complete(ask("hello"), "gpt-4o"));

      assertThat(e.code()).isEqualTo(Code.PROVIDER_ERROR);
      assertThat(e.retryable()).isTrue();
      assertThat(e.httpStatus()).isZero();
      assertThat(e.getMessage()).doesNotContain(KEY);
    }
  }

  @Test
  void shouldFailFastWithoutAnyModel() {
    try (OpenAiProvider noDefault =
        new OpenAiProvider(new ProviderConnection(server.openAiBaseUrl(), KEY, TIMEOUT, null))) {
      ProviderException e = failure(noDefault.complete(ask("hello"), null));

      assertThat(e.code()).isEqualTo(Code.INVALID_REQUEST);
      assertThat(server.callCount()).isZero();
    }
  }
}
