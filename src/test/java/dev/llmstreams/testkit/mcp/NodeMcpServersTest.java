package dev.llmstreams.testkit.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real npm servers start and speak MCP: the handshake and {@code tools/list} written by hand
 * over stdio (and over Streamable HTTP for server-everything). Skipped only where Node.js is
 * absent. The tool names and annotations they report are recorded in {@link NodeMcpServers}.
 */
class NodeMcpServersTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void installedPackagesMatchTheLockFile() {
    NodeMcpServers.assumeNode();
    assertThat(NodeMcpServers.staleness()).isEmpty();
    assertThat(NodeMcpServers.everythingStdio())
        .last()
        .isEqualTo("stdio"); // node <abs>/server-everything/dist/index.js stdio
    assertThat(Path.of(NodeMcpServers.everythingStdio().get(1))).isAbsolute().isRegularFile();
  }

  @Test
  void everythingListsEchoOverStdio() {
    List<String> command = NodeMcpServers.everythingStdio();
    try (StdioJsonRpc server = StdioJsonRpc.start(command, tmp.resolve("everything.stderr"))) {
      JsonNode init = server.initialize(TIMEOUT);
      assertThat(init.path("serverInfo").path("name").asText()).isEqualTo("mcp-servers/everything");
      assertThat(init.path("protocolVersion").asText()).isEqualTo(StdioJsonRpc.PROTOCOL_VERSION);
      assertThat(init.path("capabilities").path("tools").isObject()).isTrue();

      JsonNode tools = server.listTools(TIMEOUT);
      List<String> names = names(tools);
      assertThat(names).as("tools of server-everything: %s", names).contains("echo", "get-sum");
      assertThat(annotations(tools, "echo"))
          .isEqualTo(
              json(
                  "{\"readOnlyHint\":true,\"destructiveHint\":false,\"idempotentHint\":true,"
                      + "\"openWorldHint\":false}"));

      JsonNode echo = server.callTool("echo", args("message", "hello"), TIMEOUT);
      assertThat(echo.path("result").path("content").path(0).path("text").asText())
          .isEqualTo("Echo: hello");
      assertThat(echo.path("result").path("isError").asBoolean(false)).isFalse();
    }
  }

  @Test
  void filesystemListsAndReadsOverStdio() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Files.writeString(root.resolve("notes.txt"), "first line\nsecond line\n");
    List<String> command = NodeMcpServers.filesystemStdio(root);
    try (StdioJsonRpc server = StdioJsonRpc.start(command, tmp.resolve("filesystem.stderr"))) {
      JsonNode init = server.initialize(TIMEOUT);
      assertThat(init.path("serverInfo").path("name").asText())
          .isEqualTo("secure-filesystem-server");

      JsonNode tools = server.listTools(TIMEOUT);
      List<String> names = names(tools);
      assertThat(names)
          .as("tools of server-filesystem: %s", names)
          .contains("read_text_file", "list_directory", "write_file");
      assertThat(annotations(tools, "read_text_file"))
          .isEqualTo(json("{\"readOnlyHint\":true,\"openWorldHint\":false}"));
      assertThat(annotations(tools, "write_file"))
          .isEqualTo(
              json(
                  "{\"readOnlyHint\":false,\"idempotentHint\":true,\"destructiveHint\":true,"
                      + "\"openWorldHint\":false}"));

      JsonNode read =
          server.callTool(
              "read_text_file",
              args("path", root.resolve("notes.txt").toAbsolutePath().toString()),
              TIMEOUT);
      assertThat(read.path("result").path("content").path(0).path("text").asText())
          .isEqualTo("first line\nsecond line\n");

      JsonNode outside = server.callTool("read_text_file", args("path", "/etc/hostname"), TIMEOUT);
      assertThat(outside.path("result").path("isError").asBoolean(false))
          .as("reading outside the root: %s", outside)
          .isTrue();
    }
  }

  @Test
  void everythingListsEchoOverStreamableHttp() throws Exception {
    try (Started server = NodeMcpServers.everythingHttp()) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
      ObjectNode params = JSON.createObjectNode().put("protocolVersion", "2025-11-25");
      params.putObject("capabilities");
      params.putObject("clientInfo").put("name", "llm-streams-tests").put("version", "0");
      HttpResponse<String> init = post(http, server.url(), null, request(1, "initialize", params));
      assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
      String session = init.headers().firstValue("mcp-session-id").orElseThrow();
      assertThat(message(init).path("result").path("serverInfo").path("name").asText())
          .isEqualTo("mcp-servers/everything");

      HttpResponse<String> initialized =
          post(
              http,
              server.url(),
              session,
              JSON.createObjectNode()
                  .put("jsonrpc", "2.0")
                  .put("method", "notifications/initialized"));
      assertThat(initialized.statusCode()).isEqualTo(202);

      HttpResponse<String> list =
          post(http, server.url(), session, request(2, "tools/list", JSON.createObjectNode()));
      List<String> names = names(message(list).path("result").path("tools"));
      assertThat(names).as("tools of server-everything over HTTP: %s", names).contains("echo");
    }
  }

  private static HttpResponse<String> post(HttpClient http, URI url, String session, JsonNode body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(url)
            .timeout(TIMEOUT)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (session != null) {
      b.header("Mcp-Session-Id", session).header("MCP-Protocol-Version", "2025-11-25");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The JSON-RPC response in a body: JSON, or the last {@code data:} event of an SSE stream. */
  static JsonNode message(HttpResponse<String> response) {
    String type = response.headers().firstValue("content-type").orElse("");
    if (!type.startsWith("text/event-stream")) {
      return StdioJsonRpc.parse(response.body());
    }
    List<JsonNode> messages = new ArrayList<>();
    for (String line : response.body().split("\n")) {
      if (line.startsWith("data:") && !line.substring(5).isBlank()) {
        messages.add(StdioJsonRpc.parse(line.substring(5).strip()));
      }
    }
    return messages.stream()
        .filter(m -> m.has("result") || m.has("error"))
        .reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError("no response in " + response.body()));
  }

  private static ObjectNode request(int id, String method, JsonNode params) {
    ObjectNode m = JSON.createObjectNode().put("jsonrpc", "2.0").put("id", id);
    m.put("method", method).set("params", params);
    return m;
  }

  static List<String> names(JsonNode tools) {
    return StreamSupport.stream(tools.spliterator(), false)
        .map(t -> t.path("name").asText())
        .toList();
  }

  static JsonNode annotations(JsonNode tools, String name) {
    return StreamSupport.stream(tools.spliterator(), false)
        .filter(t -> t.path("name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no tool " + name + " in " + names(tools)))
        .path("annotations");
  }

  static ObjectNode args(String name, String value) {
    return JSON.createObjectNode().put(name, value);
  }

  static JsonNode json(String text) {
    return StdioJsonRpc.parse(text);
  }
}
