package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.mcp.NodeMcpServers;
import dev.llmstreams.testkit.mcp.StdioJsonRpc;
import dev.llmstreams.tools.ToolsModule;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llm-streams as an MCP server, end to end on a real broker: the app runs the gateway (offline
 * engine), the controller, the tools and the summarizer, and serves {@code /mcp}. The SDK's own
 * client initializes, lists the five tools, submits a calculator goal and waits for its result,
 * sends a document and reads its synthesis back (tool and resource), and gets a tool error for a
 * bad argument; a GET is refused with 405. Then the protocol's conformance suite runs the server
 * scenarios that apply to a server without the suite's fixture tools, and the inspector CLI lists
 * the tools and runs a goal (both from npm, pinned in {@code src/test/npm}; skipped only without
 * Node.js). Last, {@code llm-streams mcp --stdio} in a child JVM serves the same tools over stdio,
 * through the same Kafka and the app's HTTP server.
 */
@WithKafka
class McpServerIT {
  /** The tools llm-streams serves, in the order tools/list gives them. */
  private static final List<String> TOOLS =
      List.of(
          "submit_goal",
          "get_goal",
          "list_goals",
          "send_document",
          "get_synthesis",
          "list_syntheses",
          "classify_text");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** A goal the offline engine answers with one calculator call (see demo/goals.jsonl). */
  private static final String GOAL = "What is 6 * 7? Compute 6 * 7.";

  /**
   * The conformance suite's server scenarios (0.1.16) that apply to this server: it has no fixture
   * tools (test_simple_text, test_error_handling...), prompts, completions, logging or static
   * resources, so tools-call-*, prompts-*, completion-complete, logging-set-level,
   * resources-read-*, resources-templates-read (needs test://template/{id}/data) and
   * resources-(un)subscribe do not. Tool calls and tool errors are checked here with the SDK's
   * client instead.
   */
  static final List<String> CONFORMANCE_SCENARIOS =
      List.of(
          "server-initialize", "ping", "tools-list", "resources-list", "dns-rebinding-protection");

  @TempDir static Path dir;

  private static Observability observability;
  private static LlmStreamsApp app;
  private static TestDeployment deployment;
  private static URI mcp;

  private McpSyncClient client;

  @BeforeAll
  static void startApp(KafkaCluster kafka) throws Exception {
    deployment = TestDeployment.create(kafka, "mcpsrv", dir);
    // Syntheses as soon as a document is summarized: no interval to wait out.
    deployment.with(Map.of(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "0"));
    observability = new Observability();
    app =
        new LlmStreamsApp(AppConfig.of(deployment.settings()), deployment.catalog(), observability);
    app.start(
        List.of(
            new GatewayModule(),
            new ControllerModule(),
            new ToolsModule(),
            new SummarizerModule()));
    await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
    mcp = URI.create("http://127.0.0.1:" + app.httpPort() + "/mcp");
  }

  @AfterAll
  static void stopApp() {
    if (app != null) {
      app.close();
    }
    if (observability != null) {
      observability.close();
    }
  }

  @BeforeEach
  void connect() {
    HttpClientStreamableHttpTransport transport =
        HttpClientStreamableHttpTransport.builder("http://127.0.0.1:" + app.httpPort())
            .endpoint("/mcp")
            .jsonMapper(new JacksonMcpJsonMapper(new ObjectMapper()))
            .build();
    client =
        McpClient.sync(transport)
            .requestTimeout(Duration.ofSeconds(90))
            .clientInfo(McpSchema.Implementation.builder("mcp-server-it", "1").build())
            // The SDK's own validator is not on the classpath; the server checks the arguments.
            .jsonSchemaValidator(
                (JsonSchemaValidator)
                    (schema, content) -> JsonSchemaValidator.ValidationResponse.asValid(null))
            .build();
    McpSchema.InitializeResult init = client.initialize();
    assertThat(init.serverInfo().name()).isEqualTo("llm-streams");
  }

  @AfterEach
  void disconnect() {
    if (client != null) {
      client.closeGracefully();
    }
  }

  private CallToolResult call(String tool, Map<String, Object> arguments) {
    return client.callTool(McpSchema.CallToolRequest.builder(tool).arguments(arguments).build());
  }

  private static McpSchema.ReadResourceRequest readRequest(String uri) {
    return McpSchema.ReadResourceRequest.builder(uri).build();
  }

  private static JsonNode structured(CallToolResult r) {
    assertThat(r.isError()).as("%s", r.content()).isNotEqualTo(Boolean.TRUE);
    return JSON.valueToTree(r.structuredContent());
  }

  private static String text(CallToolResult r) {
    return ((McpSchema.TextContent) r.content().get(0)).text();
  }

  @Test
  void listsTheSevenToolsEachWithASchemaAndADescription() {
    List<McpSchema.Tool> tools = client.listTools().tools();
    assertThat(tools).extracting(McpSchema.Tool::name).containsExactlyElementsOf(TOOLS);
    for (McpSchema.Tool t : tools) {
      assertThat(t.description()).as(t.name()).hasSizeGreaterThan(40);
      assertThat(t.inputSchema()).as(t.name()).containsEntry("type", "object");
      if (t.name().startsWith("list_")) {
        // every argument of a list is optional: without any, the first page of everything
        assertThat(t.inputSchema()).as(t.name()).doesNotContainKey("required");
        assertThat(t.annotations().readOnlyHint()).as(t.name()).isTrue();
      } else {
        assertThat((List<?>) t.inputSchema().get("required")).as(t.name()).isNotEmpty();
      }
    }
    assertThat(client.listResourceTemplates().resourceTemplates())
        .extracting(McpSchema.ResourceTemplate::uriTemplate)
        .containsExactly("synthesis://{key}");
  }

  @Test
  void submitsAGoalAndWaitsForItsResultThenGetsIt() {
    String goalId = "mcp-goal-" + UUID.randomUUID();
    JsonNode out =
        structured(
            call(
                "submit_goal",
                Map.of(
                    "goal",
                    GOAL,
                    "tools",
                    List.of("calculator"),
                    "goalId",
                    goalId,
                    "wait_seconds",
                    60)));
    assertThat(out.path("goalId").asText()).isEqualTo(goalId);
    assertThat(out.path("status").asText()).as(out.toString()).isEqualTo("succeeded");
    assertThat(out.path("result").path("answer").asText()).contains("42");

    JsonNode got = structured(call("get_goal", Map.of("goalId", goalId)));
    assertThat(got.path("status").asText()).isEqualTo("succeeded");
    assertThat(got.path("result").path("answer").asText()).contains("42");

    // Without waiting: the goal is on the log, and get_goal follows it to its end.
    JsonNode submitted =
        structured(call("submit_goal", Map.of("goal", GOAL, "tools", List.of("calculator"))));
    assertThat(submitted.path("status").asText()).isEqualTo("submitted");
    assertThat(submitted.path("topic").asText()).isEqualTo(deployment.prefix() + "goals");
    String id = submitted.path("goalId").asText();
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> {
              CallToolResult r = call("get_goal", Map.of("goalId", id));
              assertThat(r.isError()).as("%s", r.content()).isFalse();
              assertThat(structured(r).path("status").asText()).isEqualTo("succeeded");
            });

    // list_goals names both among the succeeded ones, in pages of one; none of them runs.
    List<String> listed = new ArrayList<>();
    String after = null;
    for (int page = 0; page < 100; page++) {
      Map<String, Object> args = new LinkedHashMap<>(Map.of("status", "succeeded", "limit", 1));
      if (after != null) {
        args.put("after", after);
      }
      CallToolResult r = call("list_goals", args);
      assertThat(r.isError()).as("%s", r.content()).isFalse();
      JsonNode body = structured(r);
      assertThat(body.path("goals").size()).isLessThanOrEqualTo(1);
      body.path("goals").forEach(g -> assertThat(g.path("status").asText()).isEqualTo("succeeded"));
      listed.addAll(body.path("goals").findValuesAsText("goalId"));
      if (!body.has("next")) {
        break;
      }
      after = body.path("next").asText();
    }
    assertThat(listed).contains(goalId, id).doesNotHaveDuplicates();
    assertThat(structured(call("list_goals", Map.of("status", "running"))).path("goals").toString())
        .doesNotContain(goalId, id);
    CallToolResult badStatus = call("list_goals", Map.of("status", "done"));
    assertThat(badStatus.isError()).isTrue();
  }

  @Test
  void sendsADocumentAndReadsItsSynthesisBack() {
    String key = "mcp-doc-" + UUID.randomUUID();
    JsonNode sent =
        structured(
            call(
                "send_document",
                Map.of(
                    "key",
                    key,
                    "text",
                    "The platform team agreed to ship the streaming release in March. The budget is"
                        + " twelve euros per unit.",
                    "timestamp",
                    "2026-11-02T09:00:00Z")));
    assertThat(sent.path("topic").asText()).isEqualTo(deployment.prefix() + "documents");
    assertThat(sent.path("timestamp").asText()).isEqualTo("2026-11-02T09:00:00Z");

    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> {
              CallToolResult r = call("get_synthesis", Map.of("key", key));
              assertThat(r.isError()).as("%s", r.content()).isFalse();
              JsonNode synthesis = structured(r);
              assertThat(synthesis.path("key").asText()).isEqualTo(key);
              assertThat(synthesis.path("text").asText()).containsIgnoringCase("march");
            });
    JsonNode list = structured(call("list_syntheses", Map.of("limit", 1000)));
    assertThat(list.path("syntheses").findValuesAsText("key")).contains(key);
    for (JsonNode e : list.path("syntheses")) {
      if (e.path("key").asText().equals(key)) {
        assertThat(e.path("documents").asLong()).isEqualTo(1);
      }
    }
    McpSchema.ReadResourceResult resource = client.readResource(readRequest("synthesis://" + key));
    McpSchema.TextResourceContents contents =
        (McpSchema.TextResourceContents) resource.contents().get(0);
    assertThat(contents.mimeType()).isEqualTo("application/json");
    assertThat(contents.text()).contains(key);

    CallToolResult none = call("get_synthesis", Map.of("key", "never-sent-" + UUID.randomUUID()));
    assertThat(none.isError()).isTrue();
    assertThat(text(none)).contains("no synthesis");
    assertThatThrownBy(
            () -> client.readResource(readRequest("synthesis://never-sent-" + UUID.randomUUID())))
        .isInstanceOf(McpError.class)
        .hasMessageContaining("not found");
  }

  @Test
  void badArgumentsAreToolErrorsAndAnUnknownToolIsAJsonRpcError() {
    CallToolResult tooLong =
        call(
            "submit_goal",
            Map.of("goal", GOAL, "tools", List.of("calculator"), "wait_seconds", 500));
    assertThat(tooLong.isError()).isTrue();
    assertThat(text(tooLong)).contains("wait_seconds");

    CallToolResult missing = call("send_document", Map.of("text", "no key"));
    assertThat(missing.isError()).isTrue();
    assertThat(text(missing)).contains("key");

    CallToolResult badTime =
        call("send_document", Map.of("key", "k", "text", "t", "timestamp", "yesterday"));
    assertThat(badTime.isError()).isTrue();
    assertThat(text(badTime)).contains("timestamp");

    CallToolResult unknownGoal = call("get_goal", Map.of("goalId", "no-such-goal"));
    assertThat(unknownGoal.isError()).isTrue();
    assertThat(text(unknownGoal)).contains("unknown goal");

    // The specialist does not run here: the wait ends with a tool error that says so.
    CallToolResult timeout = call("classify_text", Map.of("text", "hello", "timeout_seconds", 1));
    assertThat(timeout.isError()).isTrue();
    assertThat(text(timeout)).contains("timed out");

    assertThatThrownBy(() -> call("no_such_tool", Map.of()))
        .isInstanceOf(McpError.class)
        .satisfies(
            e ->
                assertThat(((McpError) e).getJsonRpcError().code())
                    .isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS));
  }

  @Test
  void getAndDeleteAreMethodNotAllowed() throws Exception {
    for (String method : List.of("GET", "DELETE")) {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(mcp)
                  .method(method, HttpRequest.BodyPublishers.noBody())
                  .header("Accept", "text/event-stream")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(method).isEqualTo(405);
      assertThat(r.headers().firstValue("Allow")).hasValue("POST");
    }
  }

  @Test
  void passesTheConformanceSuitesServerScenarios() throws Exception {
    NodeMcpServers.assumeNode();
    for (String scenario : CONFORMANCE_SCENARIOS) {
      Path out = Files.createDirectories(dir.resolve("conformance").resolve(scenario));
      NodeMcpServers.Run run =
          NodeMcpServers.runBin(
              NodeMcpServers.CONFORMANCE,
              List.of(
                  "server", "--url", mcp.toString(), "--scenario", scenario, "-o", out.toString()),
              dir,
              Path.of("target", "mcp-conformance-" + scenario + ".log"),
              Duration.ofSeconds(60));
      assertThat(run.exitCode()).as("%s:\n%s", scenario, run.output()).isZero();
      List<JsonNode> checks = new ArrayList<>();
      try (Stream<Path> files = Files.walk(out)) {
        for (Path f : files.filter(p -> p.endsWith("checks.json")).toList()) {
          JSON.readTree(f.toFile()).forEach(checks::add);
        }
      }
      assertThat(checks).as(scenario + ": checks.json").isNotEmpty();
      assertThat(checks)
          .as(scenario)
          .noneMatch(c -> c.path("status").asText().equals("FAILURE"))
          .anyMatch(c -> c.path("status").asText().equals("SUCCESS"));
      System.out.printf(
          "conformance %s: %s%n",
          scenario,
          checks.stream()
              .map(c -> c.path("id").asText() + "=" + c.path("status").asText())
              .toList());
    }
  }

  @Test
  void theInspectorCliListsTheToolsAndRunsAGoal() throws Exception {
    NodeMcpServers.assumeNode();
    NodeMcpServers.Run list = inspector("tools-list", "--method", "tools/list");
    assertThat(list.exitCode()).as(list.output()).isZero();
    assertThat(list.output()).contains(TOOLS);

    String goalId = "inspector-" + UUID.randomUUID();
    NodeMcpServers.Run goal =
        inspector(
            "submit-goal",
            "--method",
            "tools/call",
            "--tool-name",
            "submit_goal",
            "--tool-arg",
            "goal=" + GOAL,
            "--tool-arg",
            "tools=[\"calculator\"]",
            "--tool-arg",
            "goalId=" + goalId,
            "--tool-arg",
            "wait_seconds=60");
    assertThat(goal.exitCode()).as(goal.output()).isZero();
    JsonNode result = lastJson(goal.output());
    assertThat(result.path("isError").asBoolean(false)).as(goal.output()).isFalse();
    assertThat(result.path("structuredContent").path("status").asText())
        .as(goal.output())
        .isEqualTo("succeeded");

    NodeMcpServers.Run got =
        inspector(
            "get-goal",
            "--method",
            "tools/call",
            "--tool-name",
            "get_goal",
            "--tool-arg",
            "goalId=" + goalId);
    assertThat(got.exitCode()).as(got.output()).isZero();
    JsonNode read = lastJson(got.output()).path("structuredContent");
    assertThat(read.path("goalId").asText()).isEqualTo(goalId);
    assertThat(read.path("status").asText()).isEqualTo("succeeded");
    assertThat(read.path("result").path("answer").asText()).contains("42");
  }

  private static NodeMcpServers.Run inspector(String name, String... args) {
    List<String> all = new ArrayList<>(List.of("--cli", mcp.toString(), "--transport", "http"));
    all.addAll(List.of(args));
    // Run in the package's build folder: inspector-cli 1.0.3 looks for "../package.json" relative
    // to
    // the working directory but imports it relative to its module, and fails anywhere else.
    return NodeMcpServers.runBin(
        NodeMcpServers.INSPECTOR_CLI,
        all,
        NodeMcpServers.entryPoint(NodeMcpServers.INSPECTOR_CLI).getParent(),
        Path.of("target", "mcp-inspector-" + name + ".log"),
        Duration.ofSeconds(90));
  }

  /** The JSON document the inspector printed (it may print notices before it). */
  private static JsonNode lastJson(String output) throws Exception {
    int start = output.indexOf("{\n");
    if (start < 0) {
      start = output.indexOf('{');
    }
    return JSON.readTree(output.substring(start, output.lastIndexOf('}') + 1));
  }

  @Test
  void servesTheSameToolsOverStdio() throws Exception {
    Map<String, String> settings = new java.util.HashMap<>(deployment.settings());
    settings.put(AppConfig.MCP_APP_URL, "http://127.0.0.1:" + app.httpPort());
    Path config = ChildJvm.writeConfig(dir.resolve("stdio.properties"), settings);
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m",
            // The app's own logging configuration (stderr), not the tests' (stdout).
            "-Dlog4j2.configurationFile=log4j2.xml",
            "-cp",
            String.join(File.pathSeparator, LocalBroker.childClasspath()),
            "dev.llmstreams.app.Main",
            "--config",
            config.toString(),
            "mcp",
            "--stdio");
    try (StdioJsonRpc stdio = StdioJsonRpc.start(command, dir.resolve("stdio.stderr"))) {
      JsonNode init = stdio.initialize(Duration.ofSeconds(30));
      assertThat(init.path("serverInfo").path("name").asText()).isEqualTo("llm-streams");
      assertThat(stdio.listTools(Duration.ofSeconds(10)).findValuesAsText("name"))
          .containsExactlyElementsOf(TOOLS);

      String goalId = "stdio-" + UUID.randomUUID();
      ObjectNode args =
          JSON.createObjectNode().put("goal", GOAL).put("goalId", goalId).put("wait_seconds", 60);
      args.putArray("tools").add("calculator");
      JsonNode submitted = stdio.callTool("submit_goal", args, Duration.ofSeconds(90));
      assertThat(submitted.path("result").path("isError").asBoolean(false))
          .as(submitted.toString())
          .isFalse();
      assertThat(submitted.path("result").path("structuredContent").path("status").asText())
          .as("%s; stderr: %s", submitted, stdio.stderr())
          .isEqualTo("succeeded");

      JsonNode got =
          stdio.callTool(
              "get_goal", JSON.createObjectNode().put("goalId", goalId), Duration.ofSeconds(30));
      assertThat(got.path("result").path("structuredContent").path("status").asText())
          .as(got.toString())
          .isEqualTo("succeeded");

      JsonNode bad =
          stdio.callTool(
              "submit_goal", JSON.createObjectNode().put("goal", GOAL), Duration.ofSeconds(30));
      assertThat(bad.path("result").path("isError").asBoolean()).as(bad.toString()).isTrue();

      // Standard input closed: the server ends, having written nothing but protocol.
      stdio.process().getOutputStream().close();
      assertThat(stdio.outputEnded(Duration.ofSeconds(30))).as(stdio.stderr()).isTrue();
      assertThat(stdio.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(stdio.process().exitValue()).as(stdio.stderr()).isZero();
      assertThat(stdio.stderr()).contains("MCP server on stdio");
    }
  }
}
