package dev.llmstreams.mcpserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.Health;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.HttpAuth;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.topics.TopicCatalog;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /mcp} on a real HTTP server, without a broker (initialize, ping and tools/list touch no
 * Kafka client): the bearer token rule, the origin rule and the transport's checks of method,
 * headers, size and message, each with its status.
 */
class HttpEndpointTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String INITIALIZE =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
          + "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
  private static final String PING = "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}";

  private Observability observability;
  private HttpApi http;
  private LlmStreamsMcpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (http != null) {
      http.close();
    }
    if (observability != null) {
      observability.close();
    }
  }

  private URI start(Map<String, String> settings) throws Exception {
    AppConfig config = AppConfig.of(settings);
    observability = new Observability();
    http =
        new HttpApi(
            "127.0.0.1",
            0,
            observability,
            () -> Health.of(Map.of("test", "RUNNING")),
            HttpAuth.from(config),
            null);
    LogClient log =
        new LogClient(
            TopicCatalog.load(),
            () -> {
              throw new AssertionError("no producer in this test");
            },
            () -> {
              throw new AssertionError("no consumer in this test");
            });
    server =
        LlmStreamsMcpServer.http(
            http,
            config,
            log,
            new AppQueries(() -> "http://127.0.0.1:" + http.port()),
            observability.registry());
    http.start();
    return URI.create("http://127.0.0.1:" + http.port() + "/mcp");
  }

  private static HttpResponse<String> post(URI uri, String body, String... headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body));
    boolean accept = false;
    boolean type = false;
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
      accept |= headers[i].equals("Accept");
      type |= headers[i].equals("Content-Type");
    }
    if (!accept) {
      b.header("Accept", "application/json, text/event-stream");
    }
    if (!type) {
      b.header("Content-Type", "application/json");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private double authFailures() {
    return observability
        .registry()
        .find("llmstreams.http.auth.failures")
        .tag("route", "/mcp")
        .counters()
        .stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  @Test
  void aNonLoopbackBindWithoutATokenIsRefusedAndWithOneIsNot(@TempDir Path dir) throws Exception {
    AppConfig open = AppConfig.of(Map.of(AppConfig.HTTP_HOST, "0.0.0.0"));
    assertThat(HttpAuth.refusal(open))
        .hasValueSatisfying(
            why ->
                assertThat(why)
                    .contains("0.0.0.0", "LLMSTREAMS_HTTP_AUTH_TOKENS_FILE", "http.auth=none"));
    // mcp.server.token (the token of /mcp before http.auth.tokens.file) still counts as a token.
    assertThat(
            HttpAuth.refusal(
                AppConfig.of(Map.of(AppConfig.HTTP_HOST, "0.0.0.0", "mcp.server.token", "s3cret"))))
        .isEmpty();
    Path file = Files.writeString(dir.resolve("token"), "from-a-file\n");
    AppConfig withFile =
        AppConfig.of(
            Map.of(
                AppConfig.HTTP_HOST, "10.1.2.3", AppConfig.MCP_SERVER_TOKEN_FILE, file.toString()));
    assertThat(HttpAuth.refusal(withFile)).isEmpty();
    assertThat(HttpAuth.from(withFile).check("Bearer from-a-file", HttpAuth.Scope.WRITE).allowed())
        .isTrue();
    // Turning the MCP server off no longer makes a bind beyond loopback without tokens acceptable:
    // the other routes serve data too.
    assertThat(
            HttpAuth.refusal(
                AppConfig.of(
                    Map.of(AppConfig.HTTP_HOST, "0.0.0.0", AppConfig.MCP_SERVER_ENABLED, "false"))))
        .isPresent();
    for (String loopback : List.of("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2")) {
      assertThat(HttpAuth.refusal(AppConfig.of(Map.of(AppConfig.HTTP_HOST, loopback))))
          .as(loopback)
          .isEmpty();
    }
    // The token is a secret: never in the effective configuration that is logged.
    assertThat(
            AppConfig.of(Map.of(AppConfig.MCP_SERVER_TOKEN, "s3cret"))
                .describe()
                .get(AppConfig.MCP_SERVER_TOKEN))
        .doesNotContain("s3cret");
  }

  @Test
  void aConfiguredTokenIsRequired() throws Exception {
    URI mcp = start(Map.of(AppConfig.MCP_SERVER_TOKEN, "s3cret"));

    HttpResponse<String> none = post(mcp, INITIALIZE);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    assertThat(none.body()).doesNotContain("s3cret");

    HttpResponse<String> wrong = post(mcp, INITIALIZE, "Authorization", "Bearer guess");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer").contains("invalid_token"));
    assertThat(authFailures()).isEqualTo(2.0);

    HttpResponse<String> right = post(mcp, INITIALIZE, "Authorization", "Bearer s3cret");
    assertThat(right.statusCode()).as(right.body()).isEqualTo(200);
    assertThat(right.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode result = Json.tree(right.body()).path("result");
    assertThat(result.path("serverInfo").path("name").asText()).isEqualTo("llm-streams");
    assertThat(result.path("protocolVersion").asText()).isEqualTo("2025-11-25");
    assertThat(result.path("capabilities").has("tools")).isTrue();
    assertThat(authFailures()).isEqualTo(2.0);
    assertThat(
            observability
                .registry()
                .get("llmstreams.mcp.server.requests")
                .tags("method", "initialize", "outcome", "ok")
                .counter()
                .count())
        .isEqualTo(1.0);
  }

  @Test
  void eachToolAsksForItsScopeAndReadsWithTheCallersToken(@TempDir Path dir) throws Exception {
    String reader = "reader-token-0123456789abcdef";
    String writer = "writer-token-0123456789abcdef";
    Path tokens =
        Files.writeString(
            dir.resolve("tokens"), "dashboard:read:" + reader + "\nagent:read,write:" + writer);
    URI mcp = start(Map.of(AppConfig.HTTP_AUTH_TOKENS_FILE, tokens.toString()));
    // get_goal asks the app's /goals route, which needs the read scope: answered only when the
    // caller's token is sent on.
    http.route(
        "/goals/",
        (rest, query) ->
            HttpApi.Reply.json(200, "{\"goalId\":\"" + rest + "\",\"status\":\"DONE\"}"));

    // Any valid token may initialize and list the tools.
    assertThat(post(mcp, INITIALIZE, "Authorization", "Bearer " + reader).statusCode())
        .isEqualTo(200);
    HttpResponse<String> list =
        post(
            mcp,
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
            "Authorization",
            "Bearer " + reader);
    assertThat(list.statusCode()).isEqualTo(200);

    // A tool that produces needs write: a read token gets 403 before anything is produced.
    String submit =
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"submit_goal\","
            + "\"arguments\":{\"goal\":\"x\"}}}";
    HttpResponse<String> forbidden = post(mcp, submit, "Authorization", "Bearer " + reader);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(forbidden.headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer realm=\"llm-streams\", error=\"insufficient_scope\", scope=\"write\"");
    assertThat(Json.tree(forbidden.body()).path("id").asInt()).isEqualTo(5);
    assertThat(forbidden.body()).contains("dashboard").doesNotContain(reader);
    assertThat(post(mcp, submit).statusCode()).isEqualTo(401);
    assertThat(
            observability
                .registry()
                .get("llmstreams.http.auth.failures")
                .tags("reason", "insufficient_scope", "route", "/mcp")
                .counter()
                .count())
        .isEqualTo(1.0);

    // A tool that reads needs read, and asks /goals with the caller's token.
    String getGoal =
        "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"get_goal\","
            + "\"arguments\":{\"goalId\":\"g1\"}}}";
    HttpResponse<String> read = post(mcp, getGoal, "Authorization", "Bearer " + reader);
    assertThat(read.statusCode()).isEqualTo(200);
    JsonNode result = Json.tree(read.body()).path("result");
    assertThat(result.path("isError").asBoolean(false)).as(read.body()).isFalse();
    assertThat(result.toString()).contains("g1", "DONE");
    // Resources read too.
    HttpResponse<String> templates =
        post(
            mcp,
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/templates/list\"}",
            "Authorization",
            "Bearer " + writer);
    assertThat(templates.statusCode()).isEqualTo(200);
    assertThat(HttpEndpoint.scope(Json.tree(submit))).isEqualTo(HttpAuth.Scope.WRITE);
    assertThat(HttpEndpoint.scope(Json.tree(getGoal))).isEqualTo(HttpAuth.Scope.READ);
    assertThat(HttpEndpoint.scope(Json.tree(INITIALIZE))).isNull();
    assertThat(
            HttpEndpoint.scope(
                Json.tree("{\"method\":\"tools/call\",\"params\":{\"name\":\"classify_text\"}}")))
        .isEqualTo(HttpAuth.Scope.WRITE);
  }

  @Test
  void onLoopbackWithoutATokenEveryRequestIsServed() throws Exception {
    URI mcp = start(Map.of());
    assertThat(post(mcp, INITIALIZE).statusCode()).isEqualTo(200);
    HttpResponse<String> ping = post(mcp, PING);
    assertThat(ping.statusCode()).isEqualTo(200);
    assertThat(Json.tree(ping.body()).path("id").asText()).isEqualTo("p");
    assertThat(Json.tree(ping.body()).path("result").isObject()).isTrue();

    HttpResponse<String> list =
        post(mcp, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assertThat(list.statusCode()).isEqualTo(200);
    List<String> names =
        Json.tree(list.body()).path("result").path("tools").findValuesAsText("name");
    assertThat(names)
        .containsExactly(
            "submit_goal",
            "get_goal",
            "list_goals",
            "send_document",
            "get_synthesis",
            "list_syntheses",
            "classify_text");
  }

  @Test
  void theTransportChecksMethodHeadersSizeAndMessage() throws Exception {
    URI mcp = start(Map.of());
    HttpResponse<String> get =
        HTTP.send(HttpRequest.newBuilder(mcp).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("Allow")).hasValue("POST");
    HttpResponse<String> delete =
        HTTP.send(
            HttpRequest.newBuilder(mcp).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(delete.statusCode()).isEqualTo(405);

    // DNS rebinding: a browser page of another origin is refused; loopback origins are served.
    assertThat(post(mcp, PING, "Origin", "http://evil.example.com").statusCode()).isEqualTo(403);
    assertThat(post(mcp, PING, "Origin", "http://localhost:6274").statusCode()).isEqualTo(200);
    assertThat(post(mcp, PING, "Origin", "http://127.0.0.1").statusCode()).isEqualTo(200);
    assertThat(post(mcp, PING, "Origin", "http://[::1]:3000").statusCode()).isEqualTo(200);
    assertThat(post(mcp, PING, "Origin", "null").statusCode()).isEqualTo(403);

    assertThat(post(mcp, PING, "Content-Type", "text/plain").statusCode()).isEqualTo(415);
    assertThat(post(mcp, PING, "Accept", "application/json").statusCode()).isEqualTo(406);
    assertThat(post(mcp, PING, "Accept", "*/*").statusCode()).isEqualTo(200);
    assertThat(post(mcp, PING, "MCP-Protocol-Version", "1999-01-01").statusCode()).isEqualTo(400);
    assertThat(post(mcp, PING, "MCP-Protocol-Version", "2025-06-18").statusCode()).isEqualTo(200);

    String huge =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\""
            + "a".repeat(HttpEndpoint.MAX_REQUEST_BYTES)
            + "\"}}";
    assertThat(post(mcp, huge).statusCode()).isEqualTo(413);
    // Without a Content-Length (chunked), the body is cut at the limit all the same.
    HttpResponse<String> chunked =
        HTTP.send(
            HttpRequest.newBuilder(mcp)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(huge.getBytes())))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isEqualTo(413);

    HttpResponse<String> parse = post(mcp, "{not json");
    assertThat(parse.statusCode()).isEqualTo(400);
    assertThat(Json.tree(parse.body()).path("error").path("code").asInt()).isEqualTo(-32700);
    HttpResponse<String> batch = post(mcp, "[" + PING + "]");
    assertThat(batch.statusCode()).isEqualTo(400);
    assertThat(Json.tree(batch.body()).path("error").path("code").asInt()).isEqualTo(-32600);

    HttpResponse<String> notification =
        post(mcp, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    assertThat(notification.statusCode()).isEqualTo(202);
    assertThat(notification.body()).isEmpty();
    HttpResponse<String> response = post(mcp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
    assertThat(response.statusCode()).isEqualTo(202);

    HttpResponse<String> unknown =
        post(mcp, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no/such\"}");
    assertThat(unknown.statusCode()).isEqualTo(200);
    assertThat(Json.tree(unknown.body()).path("error").path("code").asInt()).isEqualTo(-32601);

    HttpResponse<String> unknownTool =
        post(
            mcp,
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\",\"arguments\":{}}}");
    assertThat(Json.tree(unknownTool.body()).path("error").path("code").asInt()).isEqualTo(-32602);

    // A bad argument is the tool's error (isError), said before any record is produced.
    HttpResponse<String> bad =
        post(
            mcp,
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"submit_goal\",\"arguments\":{\"goal\":\"x\",\"tools\":\"calculator\",\"wait_seconds\":500}}}");
    JsonNode result = Json.tree(bad.body()).path("result");
    assertThat(result.path("isError").asBoolean()).as(bad.body()).isTrue();
    assertThat(result.path("content").get(0).path("text").asText())
        .contains("tools")
        .contains("wait_seconds");
  }

  @Test
  void configuredOriginsAreAllowedBesideLoopback() {
    OriginPolicy policy = new OriginPolicy(List.of("https://app.example.com", " "));
    assertThat(policy.allows(null)).isTrue();
    assertThat(policy.allows("https://app.example.com")).isTrue();
    assertThat(policy.allows("https://APP.example.com/")).isTrue();
    assertThat(policy.allows("https://app.example.com:8443")).isFalse();
    assertThat(policy.allows("http://localhost")).isTrue();
    assertThat(policy.allows("https://localhost:8443")).isTrue();
    assertThat(policy.allows("file://localhost")).isFalse();
    assertThat(policy.allows("http://localhost.evil.com")).isFalse();
    assertThat(policy.allows("http://127.0.0.1.nip.io")).isFalse();
  }

  @Test
  void acceptMustListJsonAndEventStream() {
    assertThat(HttpEndpoint.accepts(List.of("application/json, text/event-stream"))).isTrue();
    assertThat(HttpEndpoint.accepts(List.of("application/json", "text/event-stream"))).isTrue();
    assertThat(HttpEndpoint.accepts(List.of("text/event-stream;q=0.9, application/json"))).isTrue();
    assertThat(HttpEndpoint.accepts(List.of("application/json"))).isFalse();
    assertThat(HttpEndpoint.accepts(null)).isFalse();
  }
}
