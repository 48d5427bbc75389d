package dev.llmstreams.llm.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.llmstreams.events.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SimulatedLlmServerTest {
  private static final String TOOLS_REQUEST =
      """
      {"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the weather in Paris?"}],
       "tools":[{"type":"function","function":{"name":"get_weather","description":"weather of a city",
         "parameters":{"type":"object","additionalProperties":false,"required":["city","days","metric","tags","unit"],
           "properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7},
             "metric":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}},
             "unit":{"type":"string","enum":["celsius","fahrenheit"]},
             "where":{"type":"object","properties":{"lat":{"type":"number"}}}}}}},
         {"type":"function","function":{"name":"other","parameters":{"type":"object","properties":{}}}}]}
      """;

  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final List<SimulatedLlmServer> servers = new ArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(SimulatedLlmServer::stop);
  }

  private SimulatedLlmServer start(SimulatedLlmServer.Settings settings) throws IOException {
    SimulatedLlmServer server = new SimulatedLlmServer(settings);
    servers.add(server);
    return server.start();
  }

  private static HttpRequest chat(SimulatedLlmServer server, String body) {
    return HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(SimulatedLlmServer server, String path)
      throws IOException, InterruptedException {
    URI root = server.baseUrl().resolve("/");
    return send(HttpRequest.newBuilder(root.resolve(path)).GET().build());
  }

  @Test
  void aPlainChatIsAnsweredInTheOpenAiShapeAndSaysItIsSimulated() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());

    HttpResponse<String> response =
        send(
            chat(
                server,
                """
        {"model":"gpt-4o","max_tokens":40,"messages":[{"role":"system","content":"Summarize."},
          {"role":"user","content":"We agreed to ship the release in March after the review."}]}
        """));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue(SimulatedLlmServer.SIMULATOR_HEADER)).hasValue("true");
    JsonNode body = Json.tree(response.body());
    assertThat(body.path("object").asText()).isEqualTo("chat.completion");
    assertThat(body.path("model").asText()).isEqualTo("simulated");
    JsonNode choice = body.path("choices").get(0);
    assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
    String content = choice.path("message").path("content").asText();
    assertThat(content).startsWith("simulated summary We agreed to ship");
    assertThat(content.split(" ")).hasSize(10); // max_tokens / 4
    assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    long promptChars =
        "Summarize.".length() + "We agreed to ship the release in March after the review.".length();
    assertThat(body.path("usage").path("prompt_tokens").asLong()).isEqualTo((promptChars + 3) / 4);
    assertThat(body.path("usage").path("completion_tokens").asLong())
        .isEqualTo((content.length() + 3) / 4);
    assertThat(body.path("usage").path("total_tokens").asLong())
        .isEqualTo(
            body.path("usage").path("prompt_tokens").asLong()
                + body.path("usage").path("completion_tokens").asLong());
  }

  @Test
  void withoutMaxTokensTheAnswerHasSixteenWordsAndTheConfiguredModel() throws Exception {
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults().withModel("sim-large"));

    JsonNode body =
        Json.tree(
            send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}"))
                .body());

    assertThat(body.path("model").asText()).isEqualTo("sim-large");
    assertThat(body.at("/choices/0/message/content").asText().split(" "))
        .hasSize(SimulatedLlmServer.DEFAULT_WORDS);
  }

  @Test
  void aRequestWithToolsGetsOneCallToTheFirstToolWithSchemaValidArguments() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());

    JsonNode body = Json.tree(send(chat(server, TOOLS_REQUEST)).body());

    JsonNode choice = body.path("choices").get(0);
    assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
    JsonNode calls = choice.path("message").path("tool_calls");
    assertThat(calls).hasSize(1);
    assertThat(calls.get(0).path("type").asText()).isEqualTo("function");
    assertThat(calls.get(0).path("id").asText()).isNotBlank();
    assertThat(calls.get(0).at("/function/name").asText()).isEqualTo("get_weather");
    JsonNode arguments = Json.tree(calls.get(0).at("/function/arguments").asText());
    JsonNode schema = Json.tree(TOOLS_REQUEST).at("/tools/0/function/parameters");
    assertThat(
            JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(schema)
                .validate(arguments))
        .isEmpty();
    assertThat(arguments.path("city").asText()).isEqualTo("x");
    assertThat(arguments.path("days").asInt()).isEqualTo(1);
    assertThat(arguments.path("metric").asBoolean(true)).isFalse();
    assertThat(arguments.path("unit").asText()).isEqualTo("celsius");
    assertThat(body.path("usage").path("completion_tokens").asLong()).isPositive();
  }

  @Test
  void aConversationEndingInAToolResultGetsTheFinalAnswer() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    String request =
        TOOLS_REQUEST.replace(
            "\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}]",
            "\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny, 21 C\"}]");
    assertThat(request).contains("\"role\":\"tool\"");

    JsonNode choice = Json.tree(send(chat(server, request)).body()).path("choices").get(0);

    assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    assertThat(choice.at("/message/content").asText()).isEqualTo("simulated final answer");
    assertThat(choice.path("message").has("tool_calls")).isFalse();
  }

  @Test
  void withThreeToolStepsTheConversationGetsToolCallsUntilItHoldsThreeThenTheFinalAnswer()
      throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults().withToolSteps(3));
    String tools =
        "[{\"type\":\"function\",\"function\":{\"name\":\"calculator\",\"parameters\":"
            + "{\"type\":\"object\",\"required\":[\"expression\"],\"properties\":{\"expression\":{\"type\":\"string\"}}}}}]";
    StringBuilder messages =
        new StringBuilder("{\"role\":\"user\",\"content\":\"Add one and two, three times.\"}");
    List<String> finishReasons = new ArrayList<>();
    for (int turn = 0; turn < 4; turn++) {
      JsonNode choice =
          Json.tree(
                  send(chat(server, "{\"messages\":[" + messages + "],\"tools\":" + tools + "}"))
                      .body())
              .path("choices")
              .get(0);
      finishReasons.add(choice.path("finish_reason").asText());
      if (!"tool_calls".equals(choice.path("finish_reason").asText())) {
        assertThat(choice.at("/message/content").asText()).isEqualTo("simulated final answer");
        break;
      }
      JsonNode call = choice.at("/message/tool_calls/0");
      // The calculator gets arithmetic it can evaluate, not the schema's minimal "x".
      assertThat(Json.tree(call.at("/function/arguments").asText()).path("expression").asText())
          .isEqualTo("1+2");
      messages
          .append(",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[")
          .append(call)
          .append("]}")
          .append(",{\"role\":\"tool\",\"tool_call_id\":\"")
          .append(call.path("id").asText())
          .append("\",\"content\":\"3\"}");
    }

    assertThat(finishReasons).containsExactly("tool_calls", "tool_calls", "tool_calls", "stop");
    assertThat(server.stats().calls()).isEqualTo(4);
  }

  @Test
  void negativeToolStepsAreRefused() {
    assertThatThrownBy(() -> SimulatedLlmServer.Settings.defaults().withToolSteps(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tool steps");
  }

  @Test
  void aJsonSchemaRequestGetsJsonThatParsesAndUsesTheFirstEnumValue() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    String schema =
        """
        {"type":"object","additionalProperties":false,"required":["label","confidence","reasons","meta"],
         "properties":{"label":{"type":"string","enum":["urgent","normal","spam"]},
           "confidence":{"type":"number","minimum":0,"maximum":1},
           "reasons":{"type":"array","minItems":1,"items":{"type":"string"}},
           "meta":{"$ref":"#/$defs/meta"}},
         "$defs":{"meta":{"type":"object","required":["at"],"properties":{"at":{"type":"string","format":"date-time"}}}}}
        """;

    JsonNode body =
        Json.tree(
            send(chat(
                    server,
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"classify this\"}],"
                        + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"label\",\"strict\":true,"
                        + "\"schema\":"
                        + schema
                        + "}}}"))
                .body());

    JsonNode answer = Json.tree(body.at("/choices/0/message/content").asText());
    assertThat(answer.path("label").asText()).isEqualTo("urgent");
    assertThat(answer.path("confidence").asDouble()).isEqualTo(1.0);
    assertThat(answer.path("reasons")).hasSize(1);
    assertThat(
            JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(Json.tree(schema))
                .validate(answer))
        .isEmpty();
  }

  @Test
  void anErrorRateOfOneAnswersEveryCall500() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults().withErrorRate(1.0));

    HttpResponse<String> response =
        send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(Json.tree(response.body()).at("/error/type").asText()).isEqualTo("server_error");
    assertThat(response.headers().firstValue(SimulatedLlmServer.SIMULATOR_HEADER)).hasValue("true");
    assertThat(server.stats().errors()).isEqualTo(1);
  }

  @Test
  void aRateLimitRateOfOneAnswersEveryCall429WithRetryAfter() throws Exception {
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults().withRateLimitRate(1.0));

    HttpResponse<String> response =
        send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(Json.tree(response.body()).at("/error/code").asText())
        .isEqualTo("rate_limit_exceeded");
    assertThat(server.stats().rateLimited()).isEqualTo(1);
  }

  @Test
  void aMalformedRateOfOneAnswers200WithABodyThatIsNotJson() throws Exception {
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults().withMalformedRate(1.0));

    HttpResponse<String> response =
        send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isNotEmpty();
    assertThatThrownBy(() -> Json.tree(response.body()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(server.stats().malformed()).isEqualTo(1);
  }

  @Test
  void faultsSwitchedAtRunTimeApplyToTheNextCallsAndSwitchBack() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    String hi = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assertThat(send(chat(server, hi)).statusCode()).isEqualTo(200);

    server.setFaults(
        SimulatedLlmServer.Faults.none()
            .withRateLimitRate(1.0)
            .withRetryAfter(Duration.ofSeconds(3)));
    HttpResponse<String> limited = send(chat(server, hi));
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("3");

    server.setFaults(SimulatedLlmServer.Faults.none());
    assertThat(send(chat(server, hi)).statusCode()).isEqualTo(200);
    assertThat(server.stats().ok()).isEqualTo(2);
    assertThat(server.stats().rateLimited()).isEqualTo(1);
  }

  @Test
  void theAdminRouteSwitchesTheFaultsOverHttp() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    URI admin = URI.create("http://127.0.0.1:" + server.port() + "/admin/faults");

    HttpResponse<String> set =
        send(
            HttpRequest.newBuilder(admin)
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"error_rate\": 1.0, \"retry_after_s\": 4}"))
                .build());
    assertThat(set.statusCode()).isEqualTo(200);
    assertThat(server.faults().errorRate()).isEqualTo(1.0);
    assertThat(server.faults().retryAfter()).isEqualTo(Duration.ofSeconds(4));
    assertThat(
            send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .statusCode())
        .isEqualTo(500);

    HttpResponse<String> refused =
        send(
            HttpRequest.newBuilder(admin)
                .POST(HttpRequest.BodyPublishers.ofString("{\"hang_rate\": 0.5}"))
                .build());
    assertThat(refused.statusCode()).as("1.0 + 0.5 is more than 1").isEqualTo(400);
    assertThat(
            Json.tree(send(HttpRequest.newBuilder(admin).GET().build()).body())
                .path("error_rate")
                .asDouble())
        .isEqualTo(1.0);
  }

  @Test
  void anEndlessAnswerSendsHeadersAndABodyThatNeverEnds() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    server.setFaults(SimulatedLlmServer.Faults.none().withEndlessRate(1.0));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build();
    // The headers arrive (so a client timeout on headers alone would never fire), the body does not
    // end.
    HttpResponse<java.io.InputStream> response =
        client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    try (java.io.InputStream body = response.body()) {
      CompletableFuture<byte[]> all =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return body.readAllBytes();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      // The body stays open: the read does not finish for half a second.
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(5))
          .until(() -> !all.isDone());
      assertThat(server.stats().endless()).isEqualTo(1);
      assertThat(server.stats().inFlight()).isEqualTo(1);
    }
    server.stop();
    assertThat(server.stats().inFlight()).isZero();
  }

  @Test
  void aBadToolCallHasArgumentsThatAreNotJson() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    server.setFaults(SimulatedLlmServer.Faults.none().withBadToolCallRate(1.0));

    HttpResponse<String> response = send(chat(server, TOOLS_REQUEST));

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode call = Json.tree(response.body()).at("/choices/0/message/tool_calls/0/function");
    assertThat(call.path("name").asText()).isEqualTo("get_weather");
    assertThatThrownBy(() -> Json.tree(call.path("arguments").asText()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(server.stats().badToolCalls()).isEqualTo(1);
  }

  @Test
  void aRequestThatIsNotAChatIsRefusedWith400AndNotCountedAsACall() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());

    assertThat(send(chat(server, "not json")).statusCode()).isEqualTo(400);
    assertThat(send(chat(server, "{\"messages\":[]}")).statusCode()).isEqualTo(400);

    assertThat(server.stats().calls()).isZero();
    assertThat(server.stats().badRequests()).isEqualTo(2);
  }

  @Test
  void theSameSeedAndRatesGiveTheSameOutcomeSequence() throws Exception {
    SimulatedLlmServer.Settings settings =
        SimulatedLlmServer.Settings.defaults()
            .withErrorRate(0.2)
            .withRateLimitRate(0.2)
            .withMalformedRate(0.2)
            .withHangRate(0.1)
            .withSeed(7);

    List<String> first = outcomes(start(settings), 20);
    List<String> second = outcomes(start(settings), 20);
    List<String> otherSeed = outcomes(start(settings.withSeed(8)), 20);

    assertThat(second).isEqualTo(first);
    assertThat(first).contains("ok", "error", "rate_limited", "malformed", "hang");
    assertThat(otherSeed).isNotEqualTo(first);
  }

  /** Sends calls one after the other and names what each got. */
  private List<String> outcomes(SimulatedLlmServer server, int calls) throws Exception {
    List<String> outcomes = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
              .timeout(Duration.ofMillis(200))
              .POST(
                  HttpRequest.BodyPublishers.ofString(
                      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
              .build();
      try {
        HttpResponse<String> response = send(request);
        outcomes.add(
            switch (response.statusCode()) {
              case 500 -> "error";
              case 429 -> "rate_limited";
              default -> parses(response.body()) ? "ok" : "malformed";
            });
      } catch (HttpTimeoutException e) {
        outcomes.add("hang");
      }
    }
    SimulatedLlmServer.Stats stats = server.stats();
    assertThat(stats.calls()).isEqualTo(calls);
    assertThat(stats.hangs()).isEqualTo(outcomes.stream().filter("hang"::equals).count());
    assertThat(stats.ok()).isEqualTo(outcomes.stream().filter("ok"::equals).count());
    return outcomes;
  }

  private static boolean parses(String body) {
    try {
      Json.tree(body);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Test
  void manyConcurrentSlowCallsAllSucceedAndOverlap() throws Exception {
    int concurrency = 256;
    long latencyMs = 200;
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofMillis(latencyMs)));
    HttpRequest request =
        chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"a slow call\"}]}");
    // A first burst opens the connections and warms up both sides: what a benchmark measures is
    // steady state.
    burst(request, concurrency);

    long started = System.nanoTime();
    List<CompletableFuture<HttpResponse<String>>> calls = burst(request, concurrency);
    long wallMs = (System.nanoTime() - started) / 1_000_000;
    System.out.printf(
        "SimulatedLlmServer: %d concurrent calls at %d ms latency took %d ms wall time "
            + "(serial would be %d ms); max in flight %d%n",
        concurrency, latencyMs, wallMs, concurrency * latencyMs, server.stats().maxInFlight());

    for (CompletableFuture<HttpResponse<String>> call : calls) {
      assertThat(call.get().statusCode()).isEqualTo(200);
    }
    assertThat(server.stats().ok()).isEqualTo(2L * concurrency);
    assertThat(server.stats().maxInFlight()).isGreaterThanOrEqualTo(64);
    assertThat(server.stats().inFlight()).isZero();
  }

  private List<CompletableFuture<HttpResponse<String>>> burst(HttpRequest request, int concurrency)
      throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      calls.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return calls;
  }

  @Test
  void theStatsRouteMatchesTheGetters() throws Exception {
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults().withSeed(3).withErrorRate(0.5));
    for (int i = 0; i < 10; i++) {
      send(chat(server, "{\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}]}"));
    }
    send(chat(server, "nope"));

    HttpResponse<String> response = get(server, "/stats");

    SimulatedLlmServer.Stats stats = server.stats();
    JsonNode json = Json.tree(response.body());
    assertThat(response.headers().firstValue(SimulatedLlmServer.SIMULATOR_HEADER)).hasValue("true");
    assertThat(json.path("simulator").asBoolean()).isTrue();
    assertThat(json.path("calls").asLong()).isEqualTo(stats.calls()).isEqualTo(10);
    assertThat(json.path("ok").asLong()).isEqualTo(stats.ok());
    assertThat(json.path("error").asLong()).isEqualTo(stats.errors());
    assertThat(stats.ok() + stats.errors()).isEqualTo(10);
    assertThat(json.path("rate_limited").asLong()).isEqualTo(stats.rateLimited());
    assertThat(json.path("malformed").asLong()).isEqualTo(stats.malformed());
    assertThat(json.path("hang").asLong()).isEqualTo(stats.hangs());
    assertThat(json.path("bad_request").asLong()).isEqualTo(stats.badRequests()).isEqualTo(1);
    assertThat(json.path("in_flight").asInt()).isEqualTo(stats.inFlight());
    assertThat(json.path("max_in_flight").asInt()).isEqualTo(stats.maxInFlight());
    assertThat(json.path("prompt_tokens").asLong())
        .isEqualTo(stats.promptTokens())
        .isEqualTo(stats.ok() * 2);
    assertThat(json.path("completion_tokens").asLong())
        .isEqualTo(stats.completionTokens())
        .isPositive();
  }

  @Test
  void modelsAndHealthAnswer() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());

    JsonNode models = Json.tree(get(server, "/v1/models").body());
    HttpResponse<String> health = get(server, "/health");

    assertThat(models.at("/data/0/id").asText()).isEqualTo("simulated");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(Json.tree(health.body()).path("simulator").asBoolean()).isTrue();
    assertThat(get(server, "/v1/embeddings").statusCode()).isEqualTo(404);
  }

  @Test
  void stopEndsHangingCallsAndReleasesThePort() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults().withHangRate(1.0));
    int port = server.port();
    CompletableFuture<HttpResponse<String>> hanging =
        client.sendAsync(
            HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
                .timeout(Duration.ofMinutes(1))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().inFlight() == 1);
    assertThat(hanging).isNotDone();

    server.stop();

    assertThatThrownBy(() -> hanging.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(IOException.class);
    assertThat(server.stats().inFlight()).isZero();
    assertThat(server.stats().hangs()).isEqualTo(1);
    try (ServerSocket again = new ServerSocket(port, 50, InetAddress.getByName("127.0.0.1"))) {
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void theCommandTurnsItsOptionsIntoSettingsAndItsHelpSaysSimulated() {
    SimLlmCommand command = new SimLlmCommand();
    CommandLine commandLine = new CommandLine(command);
    commandLine.parseArgs(
        "--port",
        "0",
        "--latency-ms",
        "150",
        "--jitter-ms",
        "20",
        "--error-rate",
        "0.1",
        "--rate-limit-rate",
        "0.05",
        "--malformed-rate",
        "0.01",
        "--hang-rate",
        "0.02",
        "--seed",
        "9",
        "--model",
        "m");

    SimulatedLlmServer.Settings settings = command.settings();

    assertThat(settings)
        .isEqualTo(
            new SimulatedLlmServer.Settings(
                "127.0.0.1",
                0,
                Duration.ofMillis(150),
                Duration.ofMillis(20),
                0.1,
                0.05,
                0.01,
                0.02,
                9,
                "m"));
    assertThat(commandLine.getUsageMessage())
        .contains("SIMULATED", "not an LLM", "--latency-ms", "8089");
    SimLlmCommand defaults = new SimLlmCommand();
    new CommandLine(defaults).parseArgs();
    assertThat(defaults.settings().port()).isEqualTo(8089);
    assertThat(defaults.settings().latency()).isEqualTo(Duration.ofMillis(200));
  }

  @Test
  void impossibleRatesAreRefused() {
    assertThatThrownBy(
            () -> SimulatedLlmServer.Settings.defaults().withErrorRate(0.6).withHangRate(0.6))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than 1");
    assertThatThrownBy(() -> SimulatedLlmServer.Settings.defaults().withErrorRate(-0.1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void callsOfOneRequestIdAfterTheFirstAreCountedAsRepeats() throws Exception {
    SimulatedLlmServer server = start(SimulatedLlmServer.Settings.defaults());
    String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    for (String id : List.of("g1/0/llm", "g1/0/llm", "g2/0/llm", "g1/0/llm")) {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
              .header("Content-Type", "application/json")
              .header(SimulatedLlmServer.REQUEST_ID_HEADER, id)
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      assertThat(send(request).statusCode()).isEqualTo(200);
    }
    assertThat(send(chat(server, body)).statusCode())
        .isEqualTo(200); // no id: not counted either way

    assertThat(server.repeatedRequestIdCalls()).isEqualTo(2);
    assertThat(server.repeatedRequestIds()).containsExactly(java.util.Map.entry("g1/0/llm", 3));
    assertThat(server.callsWithRequestId()).isEqualTo(4);
  }

  @Test
  void aToolScriptChoosesTheArgumentsOfSimulatedToolCalls() throws Exception {
    SimulatedLlmServer server =
        start(SimulatedLlmServer.Settings.defaults())
            .withToolScript(
                (tool, messages) ->
                    tool.equals("get_weather")
                        ? Json.tree(
                            "{\"city\":\""
                                + messages.get(0).path("content").asText().length()
                                + "\"}")
                        : null);

    JsonNode call =
        Json.tree(send(chat(server, TOOLS_REQUEST)).body())
            .path("choices")
            .get(0)
            .path("message")
            .path("tool_calls")
            .get(0)
            .path("function");

    assertThat(call.path("name").asText()).isEqualTo("get_weather");
    assertThat(Json.tree(call.path("arguments").asText()))
        .isEqualTo(Json.tree("{\"city\":\"29\"}"));
  }
}
