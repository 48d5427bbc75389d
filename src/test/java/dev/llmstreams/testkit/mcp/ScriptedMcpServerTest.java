package dev.llmstreams.testkit.mcp;

import static dev.llmstreams.testkit.mcp.NodeMcpServersTest.annotations;
import static dev.llmstreams.testkit.mcp.NodeMcpServersTest.args;
import static dev.llmstreams.testkit.mcp.NodeMcpServersTest.json;
import static dev.llmstreams.testkit.mcp.NodeMcpServersTest.names;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.testkit.mcp.ScriptedMcpServer.Reply;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scripted MCP server as the client under test will see it: a child process driven by
 * hand-written JSON-RPC over stdio and over Streamable HTTP, plus its behaviour in-process for the
 * cheap cases.
 */
class ScriptedMcpServerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Duration QUIET = Duration.ofMillis(500);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void stdioConversation() throws Exception {
    Path log = tmp.resolve("calls.jsonl");
    try (StdioJsonRpc server =
        StdioJsonRpc.start(ScriptedMcpServer.command(log), tmp.resolve("server.stderr"))) {
      JsonNode init = server.initialize(TIMEOUT);
      assertThat(init.path("protocolVersion").asText()).isEqualTo("2025-11-25");
      assertThat(init.path("capabilities")).isEqualTo(json("{\"tools\":{\"listChanged\":true}}"));
      assertThat(server.request("ping", null, TIMEOUT).path("result"))
          .isEqualTo(JSON.createObjectNode());

      JsonNode tools = server.listTools(TIMEOUT);
      assertThat(names(tools)).containsExactlyElementsOf(ScriptedMcpServer.TOOLS);
      assertThat(annotations(tools, "echo")).isEqualTo(json("{\"readOnlyHint\":true}"));
      assertThat(annotations(tools, "delete_record"))
          .isEqualTo(json("{\"readOnlyHint\":false,\"destructiveHint\":true}"));
      assertThat(annotations(tools, "annotated_nothing").isMissingNode()).isTrue();
      assertThat(ScriptedMcpServer.calls(log)).isEmpty();

      // echo, and the call is in the log as soon as the answer is read
      JsonNode echo = server.callTool("echo", args("message", "hi"), TIMEOUT);
      assertThat(echo.path("result"))
          .isEqualTo(
              json(
                  "{\"content\":[{\"type\":\"text\",\"text\":\"echo: hi\"}],"
                      + "\"structuredContent\":{\"message\":\"hi\"}}"));
      assertThat(ScriptedMcpServer.calls(log))
          .containsExactly(
              json(
                  "{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"},\"id\":"
                      + id(echo)
                      + "}"));

      JsonNode fail = server.callTool("fail", args("reason", "disk full"), TIMEOUT);
      assertThat(fail.path("result").path("isError").asBoolean()).isTrue();
      assertThat(fail.path("result").path("content").path(0).path("text").asText())
          .isEqualTo("the operation failed: disk full");

      // hang: logged, never answered; the server goes on answering others
      int hang = server.sendRequest("tools/call", StdioJsonRpc.toolCall("hang", null));
      assertThat(server.request("ping", null, TIMEOUT).has("result")).isTrue();
      assertThat(ScriptedMcpServer.calls(log).get(2).path("name").asText()).isEqualTo("hang");
      assertThat(ScriptedMcpServer.calls(log).get(2).path("id").asInt()).isEqualTo(hang);

      // list_changed after the answer, then the new tool
      JsonNode change = server.callTool("change_tools", null, TIMEOUT);
      assertThat(change.path("result").path("content").path(0).path("text").asText())
          .isEqualTo("tools changed");
      JsonNode notification = StdioJsonRpc.parse(server.nextLine(TIMEOUT).orElseThrow());
      assertThat(notification)
          .isEqualTo(json("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}"));
      List<String> after = names(server.listTools(TIMEOUT));
      assertThat(after).endsWith("added_later");
      JsonNode later = server.callTool("added_later", args("x", "y"), TIMEOUT);
      assertThat(later.path("result").path("content").path(0).path("text").asText())
          .isEqualTo("added_later: y");

      // hostile answers
      int huge = server.sendRequest("tools/call", StdioJsonRpc.toolCall("huge", null));
      String hugeLine = server.nextLine(TIMEOUT).orElseThrow();
      assertThat(hugeLine.length()).isGreaterThan(ScriptedMcpServer.HUGE_CHARS);
      JsonNode hugeMessage = StdioJsonRpc.parse(hugeLine);
      assertThat(hugeMessage.path("id").asInt()).isEqualTo(huge);
      assertThat(hugeMessage.path("result").path("content").path(0).path("text").asText())
          .hasSize(ScriptedMcpServer.HUGE_CHARS);

      server.sendRequest("tools/call", StdioJsonRpc.toolCall("malformed", null));
      assertThat(server.nextLine(TIMEOUT)).contains(ScriptedMcpServer.MALFORMED);
      server.sendRequest("tools/call", StdioJsonRpc.toolCall("bad_jsonrpc", null));
      assertThat(server.nextLine(TIMEOUT)).contains(ScriptedMcpServer.BAD_JSONRPC);
      assertThat(server.nextLine(QUIET)).as("nothing after a bad answer").isEmpty();

      JsonNode liar = server.callTool("liar", JSON.createObjectNode().put("n", 1), TIMEOUT);
      assertThat(liar.path("error").path("code").asInt()).isEqualTo(-32602);

      // die: exit status 3, no answer, but the call was logged
      int die = server.sendRequest("tools/call", StdioJsonRpc.toolCall("die", null));
      assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(server.process().exitValue()).isEqualTo(ScriptedMcpServer.DIE_STATUS);
      assertThat(server.outputEnded(TIMEOUT)).isTrue();
      List<JsonNode> calls = ScriptedMcpServer.calls(log);
      assertThat(calls.get(calls.size() - 1))
          .isEqualTo(json("{\"name\":\"die\",\"arguments\":{},\"id\":" + die + "}"));
      assertThat(names(toArray(calls)))
          .containsExactly(
              "echo",
              "fail",
              "hang",
              "change_tools",
              "added_later",
              "huge",
              "malformed",
              "bad_jsonrpc",
              "liar",
              "die");
    }
  }

  @Test
  void modes() throws Exception {
    Path log = tmp.resolve("calls.jsonl");
    // crash-on-start: exit 1 with a message, before reading anything
    Process crash =
        new ProcessBuilder(ScriptedMcpServer.command(log, "--mode", "crash-on-start"))
            .redirectErrorStream(true)
            .start();
    String crashOutput = new String(crash.getInputStream().readAllBytes());
    assertThat(crash.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(crash.exitValue()).isEqualTo(1);
    assertThat(crashOutput).contains(ScriptedMcpServer.CRASH_MESSAGE);

    // no-initialize: initialize is never answered, ping is
    try (StdioJsonRpc server =
        StdioJsonRpc.start(
            ScriptedMcpServer.command(log, "--mode", "no-initialize"),
            tmp.resolve("no-init.stderr"))) {
      server.sendRequest("initialize", JSON.createObjectNode());
      assertThat(server.request("ping", null, TIMEOUT).has("result")).isTrue();
      assertThat(server.nextLine(QUIET)).isEmpty();
    }
  }

  @Test
  void streamableHttp() throws Exception {
    Path log = tmp.resolve("http-calls.jsonl");
    try (Started server = ScriptedMcpServer.startHttp(log, "--token", "s3cret")) {
      Http http = new Http(server);

      // bearer token required
      assertThat(http.post(null, null, request(1, "initialize", initParams())).statusCode())
          .isEqualTo(401);
      HttpResponse<String> wrong =
          http.send(
              http.builder(null, "Bearer nope")
                  .POST(HttpRequest.BodyPublishers.ofString(request(1, "ping", null).toString())));
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(wrong.headers().firstValue("www-authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));

      // handshake: a session id, then required
      HttpResponse<String> init = http.post(null, request(1, "initialize", initParams()));
      assertThat(init.statusCode()).isEqualTo(200);
      assertThat(init.headers().firstValue("content-type")).contains("application/json");
      assertThat(StdioJsonRpc.parse(init.body()).path("result").path("protocolVersion").asText())
          .isEqualTo("2025-06-18");
      String session = init.headers().firstValue("mcp-session-id").orElseThrow();
      HttpResponse<String> initialized =
          http.post(
              session,
              JSON.createObjectNode()
                  .put("jsonrpc", "2.0")
                  .put("method", "notifications/initialized"));
      assertThat(initialized.statusCode()).isEqualTo(202);
      assertThat(initialized.body()).isEmpty();
      assertThat(http.post(null, request(2, "tools/list", null)).statusCode()).isEqualTo(400);
      assertThat(http.post("no-such-session", request(2, "tools/list", null)).statusCode())
          .isEqualTo(404);
      assertThat(http.send(http.builder(session, "Bearer s3cret").GET()).statusCode())
          .isEqualTo(405);

      HttpResponse<String> list = http.post(session, request(3, "tools/list", null));
      assertThat(names(StdioJsonRpc.parse(list.body()).path("result").path("tools")))
          .containsExactlyElementsOf(ScriptedMcpServer.TOOLS);

      HttpResponse<String> echo =
          http.post(session, request(4, "tools/call", call("echo", args("message", "over http"))));
      assertThat(StdioJsonRpc.parse(echo.body()).path("result").path("structuredContent"))
          .isEqualTo(json("{\"message\":\"over http\"}"));
      assertThat(ScriptedMcpServer.calls(log))
          .containsExactly(
              json("{\"name\":\"echo\",\"arguments\":{\"message\":\"over http\"},\"id\":4}"));

      HttpResponse<String> fail = http.post(session, request(5, "tools/call", call("fail", null)));
      assertThat(StdioJsonRpc.parse(fail.body()).path("result").path("isError").asBoolean())
          .isTrue();

      // list_changed travels in an SSE answer before the response
      HttpResponse<String> change =
          http.post(session, request(6, "tools/call", call("change_tools", null)));
      assertThat(change.headers().firstValue("content-type")).contains("text/event-stream");
      assertThat(change.body().indexOf("notifications/tools/list_changed"))
          .isNotNegative()
          .isLessThan(change.body().indexOf("\"id\":6"));
      assertThat(NodeMcpServersTest.message(change).path("result").path("content").path(0))
          .isEqualTo(json("{\"type\":\"text\",\"text\":\"tools changed\"}"));
      HttpResponse<String> relist = http.post(session, request(7, "tools/list", null));
      assertThat(names(StdioJsonRpc.parse(relist.body()).path("result").path("tools")))
          .endsWith("added_later");

      HttpResponse<String> malformed =
          http.post(session, request(8, "tools/call", call("malformed", null)));
      assertThat(malformed.statusCode()).isEqualTo(200);
      assertThat(malformed.headers().firstValue("content-type")).contains("application/json");
      assertThat(malformed.body()).isEqualTo(ScriptedMcpServer.MALFORMED);

      // hang: the request stays open; the call was logged
      assertThatThrownBy(
              () ->
                  http.send(
                      http.builder(session, "Bearer s3cret")
                          .timeout(Duration.ofSeconds(1))
                          .POST(
                              HttpRequest.BodyPublishers.ofString(
                                  request(9, "tools/call", call("hang", null)).toString()))))
          .isInstanceOf(HttpTimeoutException.class);
      assertThat(lastCall(log).path("name").asText()).isEqualTo("hang");

      // die: the process exits with 3 during the request
      assertThatThrownBy(() -> http.post(session, request(10, "tools/call", call("die", null))))
          .isInstanceOf(java.io.IOException.class);
      assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(server.process().exitValue()).isEqualTo(ScriptedMcpServer.DIE_STATUS);
      assertThat(lastCall(log).path("name").asText()).isEqualTo("die");
    }
  }

  @Test
  void negotiatesTheProtocolVersion() {
    for (String offered : ScriptedMcpServer.PROTOCOL_VERSIONS) {
      assertThat(initialize(server("normal"), offered).path("protocolVersion").asText())
          .isEqualTo(offered);
    }
    assertThat(initialize(server("normal"), "2099-01-01").path("protocolVersion").asText())
        .isEqualTo(ScriptedMcpServer.LATEST_PROTOCOL_VERSION);
  }

  @Test
  void answersByTheRules() {
    ScriptedMcpServer.Server server = server("normal");
    ScriptedMcpServer.Session session = new ScriptedMcpServer.Session();
    assertThat(answer(server, session, request(1, "tools/list", null)).path("error").path("code"))
        .as("before initialize")
        .isEqualTo(json("-32600"));
    answer(server, session, request(2, "initialize", initParams()));

    JsonNode sum =
        answer(
            server, session, request(3, "tools/call", call("add", json("{\"a\":0.1,\"b\":0.2}"))));
    assertThat(sum.path("result").path("structuredContent").toString())
        .as("an exact decimal sum")
        .isEqualTo("{\"sum\":0.3}");
    assertThat(sum.path("result").path("content").path(0).path("text").asText())
        .isEqualTo("{\"sum\":0.3}");

    JsonNode wrongType =
        answer(server, session, request(4, "tools/call", call("echo", json("{\"message\":1}"))));
    assertThat(wrongType.path("result").path("isError").asBoolean()).isTrue();
    JsonNode extra =
        answer(
            server,
            session,
            request(5, "tools/call", call("echo", json("{\"message\":\"a\",\"b\":1}"))));
    assertThat(extra.path("result").path("isError").asBoolean()).isTrue();

    JsonNode unknown = answer(server, session, request(6, "tools/call", call("nope", null)));
    assertThat(unknown.path("error").path("code").asInt()).isEqualTo(-32602);
    assertThat(unknown.path("error").path("message").asText()).isEqualTo("Unknown tool: nope");
    assertThat(
            answer(server, session, request(7, "tools/call", call("added_later", null)))
                .path("error")
                .path("code")
                .asInt())
        .as("added_later before change_tools")
        .isEqualTo(-32602);

    JsonNode deleted =
        answer(server, session, request(8, "tools/call", call("delete_record", args("id", "r1"))));
    assertThat(deleted.path("result").path("content").path(0).path("text").asText())
        .isEqualTo("deleted r1");
    assertThat(answer(server, session, request(9, "resources/list", null)).path("error"))
        .isEqualTo(json("{\"code\":-32601,\"message\":\"Method not found: resources/list\"}"));
    assertThat(
            server.handle(
                JSON.createObjectNode().put("jsonrpc", "2.0").put("method", "notifications/x"),
                session))
        .isInstanceOf(Reply.Accepted.class);
  }

  @Test
  void badSchemaModeListsABrokenTool() {
    ScriptedMcpServer.Server server = server("bad-schema");
    ScriptedMcpServer.Session session = new ScriptedMcpServer.Session();
    answer(server, session, request(1, "initialize", initParams()));
    JsonNode tools = answer(server, session, request(2, "tools/list", null)).at("/result/tools");
    assertThat(names(tools)).contains("echo").endsWith("broken");
    assertThat(tools.get(tools.size() - 1).path("inputSchema")).isEqualTo(json("{\"type\":12}"));
  }

  // ---------------------------------------------------------------------------------------------

  private ScriptedMcpServer.Server server(String mode) {
    return new ScriptedMcpServer.Server(
        ScriptedMcpServer.Mode.parse(mode), tmp.resolve("in-process-" + mode + ".jsonl"));
  }

  private static JsonNode initialize(ScriptedMcpServer.Server server, String version) {
    ObjectNode params = initParams().put("protocolVersion", version);
    return answer(server, new ScriptedMcpServer.Session(), request(1, "initialize", params))
        .path("result");
  }

  private static JsonNode answer(
      ScriptedMcpServer.Server server, ScriptedMcpServer.Session session, JsonNode request) {
    Reply r = server.handle(request, session);
    assertThat(r).isInstanceOf(Reply.Message.class);
    return ((Reply.Message) r).message();
  }

  private static ObjectNode initParams() {
    ObjectNode params = JSON.createObjectNode().put("protocolVersion", "2025-06-18");
    params.putObject("capabilities");
    params.putObject("clientInfo").put("name", "llm-streams-tests").put("version", "0");
    return params;
  }

  private static ObjectNode request(int id, String method, JsonNode params) {
    ObjectNode m = JSON.createObjectNode().put("jsonrpc", "2.0").put("id", id);
    m.put("method", method).set("params", params == null ? JSON.createObjectNode() : params);
    return m;
  }

  private static ObjectNode call(String name, JsonNode arguments) {
    return StdioJsonRpc.toolCall(name, arguments);
  }

  private static int id(JsonNode response) {
    return response.path("id").asInt();
  }

  private static JsonNode lastCall(Path log) {
    List<JsonNode> calls = ScriptedMcpServer.calls(log);
    assertThat(calls).isNotEmpty();
    return calls.get(calls.size() - 1);
  }

  private static JsonNode toArray(List<JsonNode> calls) {
    return JSON.createArrayNode().addAll(new ArrayList<>(calls));
  }

  /** A bare HTTP client with the bearer token of {@link #streamableHttp}. */
  private static final class Http {
    private final Started server;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    Http(Started server) {
      this.server = server;
    }

    HttpRequest.Builder builder(String session, String authorization) {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(server.url())
              .timeout(TIMEOUT)
              .header("Content-Type", "application/json")
              .header("Accept", "application/json, text/event-stream");
      if (authorization != null) {
        b.header("Authorization", authorization);
      }
      if (session != null) {
        b.header("Mcp-Session-Id", session).header("MCP-Protocol-Version", "2025-06-18");
      }
      return b;
    }

    HttpResponse<String> post(String session, JsonNode body) throws Exception {
      return post(session, "Bearer s3cret", body);
    }

    HttpResponse<String> post(String session, String authorization, JsonNode body)
        throws Exception {
      return send(
          builder(session, authorization)
              .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
  }
}
