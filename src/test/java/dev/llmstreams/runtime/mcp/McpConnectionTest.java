package dev.llmstreams.runtime.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolException;
import dev.llmstreams.testkit.mcp.NodeMcpServers;
import dev.llmstreams.testkit.mcp.ScriptedMcpServer;
import dev.llmstreams.testkit.mcp.Started;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link McpConnection} against real MCP servers in child processes: the scripted, hostile one of
 * the test kit (stdio and Streamable HTTP), and the npm reference servers.
 */
class McpConnectionTest {
  @TempDir Path dir;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicInteger changes = new AtomicInteger();
  private McpConnection connection;

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
  }

  private Path log() {
    return dir.resolve("calls.jsonl");
  }

  private McpConnection stdio(long timeoutMs, String... options) {
    McpServerSpec spec =
        McpServerSpec.stdio("scripted", ScriptedMcpServer.command(log(), options), timeoutMs)
            .excluding(List.of("add"));
    connection = new McpConnection(spec, meters, c -> changes.incrementAndGet());
    return connection;
  }

  private static JsonNode args(String json) {
    return Json.tree(json);
  }

  @Test
  void listsTheToolsWithTheirSchemasAndAnApprovalWhereTheAnnotationsAskForOne() {
    McpConnection c = stdio(5_000);
    c.connect();
    List<String> names = c.tools().stream().map(ToolDefinition::name).toList();
    assertThat(names)
        .contains("scripted__echo", "scripted__delete_record", "scripted__annotated_nothing")
        .doesNotContain("scripted__add"); // excluded by the declaration
    ToolDefinition echo = find(c, "scripted__echo");
    assertThat(echo.requiresApproval()).as("readOnlyHint true").isFalse();
    assertThat(echo.parameters().path("required").toString()).contains("message");
    assertThat(echo.timeoutMs()).isEqualTo(5_000);
    assertThat(find(c, "scripted__delete_record").requiresApproval()).as("destructive").isTrue();
    assertThat(find(c, "scripted__annotated_nothing").requiresApproval())
        .as("no annotations: MCP's defaults are not read-only")
        .isTrue();
    assertThat(meters.get("llmstreams.mcp.tools").gauge().value()).isEqualTo(names.size());
  }

  @Test
  void callsAToolAndMapsItsTextAndStructuredContent() throws Exception {
    McpConnection c = stdio(5_000);
    JsonNode result = c.call("echo", args("{\"message\":\"hi there\"}"), Duration.ofSeconds(5));
    assertThat(result.path("text").asText()).isEqualTo("echo: hi there");
    assertThat(result.path("structuredContent").path("message").asText()).isEqualTo("hi there");
    assertThat(ScriptedMcpServer.calls(log()))
        .singleElement()
        .satisfies(call -> assertThat(call.path("name").asText()).isEqualTo("echo"));
    assertThat(count("echo", "ok")).isEqualTo(1);
  }

  @Test
  void aCallMadeForASpanCarriesItsTraceContextInMeta() throws Exception {
    McpConnection c = stdio(5_000);
    var span =
        new dev.llmstreams.observability.tracing.SpanRef(
            "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, "k=v", 0);
    dev.llmstreams.observability.tracing.CurrentSpan.set(span);
    try {
      c.call("echo", args("{\"message\":\"traced\"}"), Duration.ofSeconds(5));
    } finally {
      dev.llmstreams.observability.tracing.CurrentSpan.clear();
    }
    c.call("echo", args("{\"message\":\"not traced\"}"), Duration.ofSeconds(5));
    List<JsonNode> calls = ScriptedMcpServer.calls(log());
    assertThat(calls.get(0).path("_meta").path("traceparent").asText())
        .isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assertThat(calls.get(0).path("_meta").path("tracestate").asText()).isEqualTo("k=v");
    assertThat(calls.get(1).has("_meta")).isFalse();
  }

  @Test
  void anIsErrorResultAndAJsonRpcErrorFailTheCallWithTheServersWords() {
    McpConnection c = stdio(5_000);
    assertThatThrownBy(() -> c.call("fail", args("{}"), Duration.ofSeconds(5)))
        .isInstanceOf(ToolException.class)
        .hasMessageStartingWith("the tool reported an error: the operation failed");
    assertThatThrownBy(() -> c.call("no_such_tool", args("{}"), Duration.ofSeconds(5)))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("refused the call")
        .hasMessageContaining("no_such_tool");
    assertThat(count("fail", "tool_error")).isEqualTo(1);
    assertThat(count("no_such_tool", "refused")).isEqualTo(1);
  }

  @Test
  void aServerThatLiesAboutItsSchemasIsRefusedWithTheReason() throws Exception {
    McpConnection c = stdio(5_000);
    // liar declares {n: integer} and rejects whatever it gets as invalid params.
    assertThatThrownBy(() -> c.call("liar", args("{\"n\":1}"), Duration.ofSeconds(5)))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("refused the call")
        .hasMessageContaining("invalid params");
    // wrong_output declares a numeric sum as its output and answers a word.
    assertThatThrownBy(() -> c.call("wrong_output", args("{}"), Duration.ofSeconds(5)))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("answered against its own outputSchema");
    assertThat(count("wrong_output", "invalid_output")).isEqualTo(1);
    // The session goes on serving.
    assertThat(
            c.call("echo", args("{\"message\":\"still here\"}"), Duration.ofSeconds(5))
                .path("text")
                .asText())
        .isEqualTo("echo: still here");
    assertThat(restarts()).isZero();
  }

  @Test
  void aCallThatHangsEndsAtItsTimeLimitAndTheSessionStillServes() throws Exception {
    McpConnection c = stdio(60_000);
    // The call's own limit ended it (the session's is 60 s): the message names 1500 ms.
    assertThatThrownBy(() -> c.call("hang", args("{}"), Duration.ofMillis(1_500)))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("no answer within 1500 ms");
    // The server still answers a ping: the session is kept, not started again.
    assertThat(
            c.call("echo", args("{\"message\":\"after\"}"), Duration.ofSeconds(5))
                .path("text")
                .asText())
        .isEqualTo("echo: after");
    assertThat(restarts()).isZero();
  }

  @Test
  void aHugeAnswerIsCutAndSaysSo() throws Exception {
    McpConnection c = stdio(60_000);
    JsonNode result = c.call("huge", args("{}"), Duration.ofSeconds(60));
    String text = result.path("text").asText();
    assertThat(text.length()).isLessThan(McpConnection.MAX_RESULT_CHARS + 200);
    assertThat(text)
        .endsWith("[cut: 100000 of " + ScriptedMcpServer.HUGE_CHARS + " characters kept]");
  }

  @Test
  void aServerThatExitsMidCallFailsTheCallAtOnceAndIsStartedAgain() throws Exception {
    McpConnection c = stdio(60_000);
    c.connect();
    // The exit ends the call, not the 60 s time limit: the message says so.
    assertThatThrownBy(() -> c.call("die", args("{}"), Duration.ofSeconds(60)))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("exited")
        .hasMessageNotContaining("no answer within");
    assertThat(
            c.call("echo", args("{\"message\":\"again\"}"), Duration.ofSeconds(10))
                .path("text")
                .asText())
        .isEqualTo("echo: again");
    assertThat(restarts()).isEqualTo(1);
  }

  @Test
  void garbageOnTheWireEndsTheCallWithAReasonAndANewSessionServesTheNext() throws Exception {
    McpConnection c = stdio(60_000);
    for (String tool : List.of("malformed", "bad_jsonrpc")) {
      // The SDK drops a line it cannot read, so the call ends at its time limit: keep it short.
      assertThatThrownBy(() -> c.call(tool, args("{}"), Duration.ofSeconds(1)))
          .as(tool)
          .isInstanceOf(ToolException.class)
          .hasMessageContaining("MCP server scripted");
      assertThat(
              c.call("echo", args("{\"message\":\"ok\"}"), Duration.ofSeconds(10))
                  .path("text")
                  .asText())
          .as("after " + tool)
          .isEqualTo("echo: ok");
    }
  }

  @Test
  void aChangedToolListIsListedAgainAndReported() throws Exception {
    McpConnection c = stdio(10_000);
    c.connect();
    int before = changes.get();
    c.call("change_tools", args("{}"), Duration.ofSeconds(5));
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(c.tools())
                    .extracting(ToolDefinition::name)
                    .contains("scripted__added_later"));
    assertThat(changes.get()).isGreaterThan(before);
  }

  @Test
  void aToolWhoseSchemaIsNotAJsonSchemaIsNotOffered() {
    McpConnection c = stdio(5_000, "--mode", "bad-schema");
    c.connect();
    assertThat(c.tools())
        .extracting(ToolDefinition::name)
        .contains("scripted__echo")
        .doesNotContain("scripted__broken");
  }

  @Test
  void aServerThatCannotStartOrNeverAnswersIsUnavailableWithItsName() {
    assertThatThrownBy(() -> stdio(3_000, "--mode", "crash-on-start").connect())
        .isInstanceOf(McpUnavailableException.class)
        .hasMessageStartingWith("MCP server scripted cannot be reached");
    connection.close();
    // Never answers initialize: the connection gives up at the server's time limit, kept short.
    assertThatThrownBy(() -> stdio(1_000, "--mode", "no-initialize").connect())
        .isInstanceOf(McpUnavailableException.class)
        .hasMessageStartingWith("MCP server scripted cannot be reached");
    McpServerSpec missing =
        McpServerSpec.stdio("gone", List.of(dir.resolve("no-such-program").toString()), 30_000);
    try (McpConnection c = new McpConnection(missing, meters, x -> {})) {
      assertThatThrownBy(c::connect)
          .isInstanceOf(McpUnavailableException.class)
          .hasMessageStartingWith("MCP server gone cannot be reached");
    }
  }

  @Test
  void overStreamableHttpWithABearerTokenFromAFile() throws Exception {
    Files.writeString(dir.resolve("token"), "t0ken\n");
    try (Started server = ScriptedMcpServer.startHttp(log(), "--token", "t0ken")) {
      McpServerSpec spec =
          McpServerSpec.http(
              "web",
              server.url().toString(),
              Map.of("Authorization", "Bearer ${file:" + dir.resolve("token") + "}"),
              5_000);
      try (McpConnection c = new McpConnection(spec, meters, x -> {})) {
        assertThat(
                c.call("add", args("{\"a\":2,\"b\":40}"), Duration.ofSeconds(5))
                    .path("structuredContent")
                    .path("sum")
                    .asInt())
            .isEqualTo(42);
        assertThatThrownBy(() -> c.call("hang", args("{}"), Duration.ofSeconds(1)))
            .hasMessageContaining("no answer within 1000 ms");
      }
      McpServerSpec noToken = McpServerSpec.http("web", server.url().toString(), null, 5_000);
      try (McpConnection c = new McpConnection(noToken, meters, x -> {})) {
        assertThatThrownBy(c::connect)
            .isInstanceOf(McpUnavailableException.class)
            .hasMessageStartingWith("MCP server web cannot be reached");
      }
    }
  }

  @Test
  void theReferenceServersFromNpmOverStdio() throws Exception {
    NodeMcpServers.assumeNode();
    McpServerSpec spec =
        McpServerSpec.stdio("everything", NodeMcpServers.everythingStdio(), 20_000);
    try (McpConnection c = new McpConnection(spec, meters, x -> {})) {
      c.connect();
      assertThat(find(c, "everything__echo").requiresApproval()).isFalse();
      assertThat(
              c.call("echo", args("{\"message\":\"streams\"}"), Duration.ofSeconds(20))
                  .path("text")
                  .asText())
          .isEqualTo("Echo: streams");
    }
    Path root = Files.createDirectories(dir.resolve("files"));
    Files.writeString(root.resolve("note.txt"), "the meeting moved to Thursday");
    McpServerSpec files =
        McpServerSpec.stdio("files", NodeMcpServers.filesystemStdio(root), 20_000);
    try (McpConnection c = new McpConnection(files, meters, x -> {})) {
      c.connect();
      assertThat(find(c, "files__read_text_file").requiresApproval()).isFalse();
      assertThat(find(c, "files__write_file").requiresApproval()).isTrue();
      JsonNode read =
          c.call(
              "read_text_file",
              new com.fasterxml.jackson.databind.ObjectMapper()
                  .createObjectNode()
                  .put("path", root.resolve("note.txt").toString()),
              Duration.ofSeconds(20));
      assertThat(read.path("text").asText()).contains("the meeting moved to Thursday");
    }
  }

  private static ToolDefinition find(McpConnection c, String name) {
    return c.tools().stream()
        .filter(t -> t.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " not in " + c.tools()));
  }

  private double count(String tool, String outcome) {
    var counter =
        meters.find("llmstreams.mcp.calls").tags("tool", tool, "outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  private double restarts() {
    return meters.get("llmstreams.mcp.sessions.restarted").counter().count();
  }
}
