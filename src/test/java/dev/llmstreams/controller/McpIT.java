package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.mcp.NodeMcpServers;
import dev.llmstreams.testkit.mcp.ScriptedMcpServer;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MCP servers' tools as controller tools, end to end on a real broker: the gateway, the controller
 * and the tools pattern (the MCP bridge) in one app, a scripted OpenAI-compatible LLM on loopback,
 * and MCP servers declared in an {@code mcp.dir} written by the test, run as real child processes
 * over stdio: the npm reference servers (server-everything, server-filesystem) and the test kit's
 * scripted, hostile server, whose call log proves what reached it and what did not.
 *
 * <p>Each LLM script is a function of the conversation it is sent (the goal's id in its first user
 * message, the assistant turns so far, the tool messages), as in {@link ControllerIT}.
 */
@WithKafka
class McpIT {
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<ToolResult> TOOL_RESULTS = JsonSerde.of(ToolResult.class);
  private static final JsonSerde<Approval> APPROVALS = JsonSerde.of(Approval.class);
  private static final String NOTE = "the meeting moved to Thursday at 10:30";

  @TempDir Path dir;
  private KafkaCluster kafka;
  private ScriptedLlmServer llm;
  private Watcher watcher;

  @BeforeEach
  void setUp(KafkaCluster kafka) {
    this.kafka = kafka;
    llm = ScriptedLlmServer.start();
  }

  @AfterEach
  void tearDown() {
    if (watcher != null) {
      watcher.close();
    }
    llm.close();
  }

  /**
   * The real servers from npm: one goal, produced with kcat (librdkafka, its own partitioner), asks
   * server-everything to echo and server-filesystem to read a file in one turn; the answer the LLM
   * writes from the two results ends the goal.
   */
  @Test
  void theToolsOfTheNpmReferenceServersAnswerAGoalProducedWithKcat() throws Exception {
    NodeMcpServers.assumeNode();
    Path root = Files.createDirectories(dir.resolve("shared"));
    Path note = root.resolve("note.txt");
    Files.writeString(note, NOTE);
    Path mcpDir = Files.createDirectories(dir.resolve("mcp"));
    declare(mcpDir, "everything", NodeMcpServers.everythingStdio(), 20_000);
    declare(mcpDir, "files", NodeMcpServers.filesystemStdio(root), 20_000);
    String notePath = note.toAbsolutePath().toString();
    Deployment d = deploy("mcp-npm", mcpDir, List.of("everything", "files"));
    llm.setDefault(
        request ->
            ScriptedLlmServer.Reply.json(
                switch (ScriptedLlmServer.assistantTurns(request.json())) {
                  case 0 ->
                      ScriptedLlmServer.openAiToolCalls(
                          new ToolCallRequest(
                              "call_echo",
                              "everything__echo",
                              Json.tree("{\"message\":\"streams of tools\"}")),
                          new ToolCallRequest(
                              "call_read",
                              "files__read_text_file",
                              JsonNodeFactory.instance.objectNode().put("path", notePath)));
                  default ->
                      ScriptedLlmServer.openAiText(
                          "The echo: "
                              + ScriptedLlmServer.lastToolResults(request.json()).get(0)
                              + " | The note: "
                              + ScriptedLlmServer.lastToolResults(request.json()).get(1));
                }));

    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(d.settings), d.catalog, observability)) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      System.out.println("mcp it: " + Kcat.requireInstalled());
      ObjectNode goal = JsonNodeFactory.instance.objectNode();
      goal.put("goalId", "n1")
          .put("goal", "Goal n1: echo 'streams of tools' and read " + notePath + ".")
          .putArray("tools")
          .add("everything__echo")
          .add("files__read_text_file");
      Kcat.produce(
          kafka.bootstrapServers(),
          d.catalog.spec(TopicRole.GOALS).name(),
          List.of(Map.entry("n1", goal.toString())));

      await().atMost(Duration.ofSeconds(60)).until(() -> watcher.finished("n1"));
      GoalResult result = watcher.onlyResult("n1");
      assertThat(result.status()).as(result.reason()).isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(result.answer())
          .startsWith("The echo: Echo: streams of tools | The note: ")
          .contains(NOTE);
      assertThat(result.steps()).isEqualTo(2);
      assertThat(result.provenance().models()).containsExactly("openai/" + ScriptedLlmServer.MODEL);

      // Both calls went through the MCP bridge on one topic per server and came back ok.
      assertThat(watcher.toolResults)
          .filteredOn(r -> r.goalId().equals("n1"))
          .extracting(ToolResult::tool, ToolResult::ok)
          .containsExactlyInAnyOrder(
              org.assertj.core.groups.Tuple.tuple("everything__echo", true),
              org.assertj.core.groups.Tuple.tuple("files__read_text_file", true));
      assertThat(
              watcher.events("n1").stream()
                  .filter(e -> e.type() == GoalEventType.TOOL_CALLED && e.step() == 1))
          .hasSize(2);
      assertThat(watcher.events("n1"))
          .noneMatch(
              e ->
                  e.type() == GoalEventType.GUARD_TRIPPED
                      || e.type() == GoalEventType.APPROVAL_REQUESTED);

      List<JsonNode> bodies = requestsOf("n1");
      assertThat(bodies).hasSize(2);
      // The goal's allowlist is what the LLM is offered, with the servers' own schemas.
      assertThat(bodies.get(0).path("tools"))
          .extracting(t -> t.path("function").path("name").asText())
          .containsExactlyInAnyOrder("everything__echo", "files__read_text_file");
      assertThat(ScriptedLlmServer.lastToolResults(bodies.get(1)))
          .satisfiesExactly(
              echo -> assertThat(echo).isEqualTo("Echo: streams of tools"),
              file -> assertThat(file).contains(NOTE));
      watcher.assertOneResultEach(List.of("n1"));
    }
  }

  /**
   * The scripted server, three goals at once: a destructive call held until a person approves it; a
   * call of a tool outside the goal's allowlist and two calls against the tool's inputSchema,
   * refused before any reaches the server and repaired by the LLM; a tool error fed back to the
   * LLM.
   */
  @Test
  void approvalsRefusalsAndToolErrorsWithTheScriptedServer() throws Exception {
    Path log = dir.resolve("scripted-calls.jsonl");
    Path mcpDir = Files.createDirectories(dir.resolve("mcp"));
    declare(mcpDir, "scripted", ScriptedMcpServer.command(log), 10_000);
    Deployment d = deploy("mcp-scripted", mcpDir, List.of("scripted"));
    llm.setDefault(request -> ScriptedLlmServer.Reply.json(scriptedLlm(request.json())));

    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(d.settings), d.catalog, observability)) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      produceGoals(
          d,
          Map.of(
              "held",
              List.of("scripted__delete_record", "scripted__echo"),
              "repair",
              List.of("scripted__echo"),
              "failing",
              List.of("scripted__fail")));

      // 1. The destructive call waits for approval: nothing reaches the server meanwhile, though
      // the bridge serves the other goals' calls.
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  watcher.events("held").stream()
                      .anyMatch(e -> e.type() == GoalEventType.APPROVAL_REQUESTED));
      GoalEvent held =
          watcher.events("held").stream()
              .filter(e -> e.type() == GoalEventType.APPROVAL_REQUESTED)
              .findFirst()
              .orElseThrow();
      assertThat(held.summary())
          .startsWith("scripted__delete_record needs approval")
          .contains(held.causationId());
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> watcher.finished("repair") && watcher.finished("failing"));
      assertThat(callsOf(log, "delete_record")).as("held, not sent").isEmpty();
      assertThat(watcher.results).extracting(GoalResult::goalId).doesNotContain("held");

      approve(d, "held", held.causationId());
      await().atMost(Duration.ofSeconds(60)).until(() -> watcher.finished("held"));
      GoalResult approved = watcher.onlyResult("held");
      assertThat(approved.status()).as(approved.reason()).isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(approved.answer()).isEqualTo("Done: deleted r-42");
      assertThat(callsOf(log, "delete_record"))
          .singleElement()
          .satisfies(
              c -> assertThat(c.path("arguments")).isEqualTo(Json.tree("{\"id\":\"r-42\"}")));
      assertThat(watcher.events("held"))
          .extracting(GoalEvent::type)
          .containsSubsequence(
              GoalEventType.APPROVAL_REQUESTED,
              GoalEventType.APPROVAL_RECEIVED,
              GoalEventType.TOOL_CALLED,
              GoalEventType.TOOL_RESULT,
              GoalEventType.FINISHED);

      // 2. Refusals: a tool outside the allowlist and arguments against the schema never reach the
      // server; the LLM is told why and repairs.
      GoalResult repaired = watcher.onlyResult("repair");
      assertThat(repaired.status()).as(repaired.reason()).isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(repaired.answer()).isEqualTo("Repaired: echo: fixed");
      assertThat(repaired.steps()).isEqualTo(3);
      List<GoalEvent> refusals =
          watcher.events("repair").stream()
              .filter(e -> e.type() == GoalEventType.GUARD_TRIPPED)
              .toList();
      assertThat(refusals).hasSize(3);
      assertThat(refusals)
          .extracting(GoalEvent::summary)
          .anySatisfy(s -> assertThat(s).contains("scripted__add").contains("not available"))
          .anySatisfy(
              s ->
                  assertThat(s)
                      .contains("invalid arguments for scripted__echo")
                      .contains("message"))
          .anySatisfy(
              s ->
                  assertThat(s).contains("invalid arguments for scripted__echo").contains("shout"));
      assertThat(watcher.events("repair"))
          .extracting(GoalEvent::type)
          .containsSubsequence(
              GoalEventType.LLM_REPLIED,
              GoalEventType.GUARD_TRIPPED,
              GoalEventType.REPAIR_REQUESTED,
              GoalEventType.LLM_REQUESTED,
              GoalEventType.TOOL_CALLED,
              GoalEventType.TOOL_RESULT,
              GoalEventType.FINISHED);
      List<JsonNode> repairBodies = requestsOf("repair");
      assertThat(repairBodies).hasSize(3);
      assertThat(ScriptedLlmServer.lastToolResults(repairBodies.get(1)))
          .hasSize(3)
          .allSatisfy(t -> assertThat(t).startsWith("error: the call was not run"));
      assertThat(ScriptedLlmServer.lastToolResults(repairBodies.get(2)))
          .containsExactly("echo: fixed");

      // 3. A tool error (isError) comes back to the LLM with the server's words.
      GoalResult failing = watcher.onlyResult("failing");
      assertThat(failing.status()).as(failing.reason()).isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(failing.answer()).isEqualTo("The tool failed, so I stop here.");
      assertThat(watcher.toolResults)
          .filteredOn(r -> r.goalId().equals("failing"))
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.ok()).isFalse();
                assertThat(r.error())
                    .isEqualTo("the tool reported an error: the operation failed: disk full");
              });
      List<JsonNode> failingBodies = requestsOf("failing");
      assertThat(failingBodies).hasSize(2);
      assertThat(ScriptedLlmServer.lastToolResults(failingBodies.get(1)))
          .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
          .startsWith("error: ")
          .contains("the operation failed: disk full");

      // What reached the server, in all: one approved delete, one repaired echo, one fail.
      assertThat(callsOf(log, "add")).as("not in the goal's allowlist").isEmpty();
      assertThat(callsOf(log, "echo"))
          .singleElement()
          .satisfies(
              c -> assertThat(c.path("arguments")).isEqualTo(Json.tree("{\"message\":\"fixed\"}")));
      assertThat(callsOf(log, "fail")).hasSize(1);
      assertThat(ScriptedMcpServer.calls(log)).hasSize(3);
      watcher.assertOneResultEach(List.of("held", "repair", "failing"));
    }
  }

  /** The scripted LLM of the scripted server's goals, by goal and turn. */
  private static JsonNode scriptedLlm(JsonNode request) {
    int turn = ScriptedLlmServer.assistantTurns(request);
    List<String> results = ScriptedLlmServer.lastToolResults(request);
    return switch (ScriptedLlmServer.goalIdOf(request) + "/" + Math.min(turn, 2)) {
      case "held/0" ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_del", "scripted__delete_record", Json.tree("{\"id\":\"r-42\"}")));
      case "held/1" -> ScriptedLlmServer.openAiText("Done: " + results.get(0));
      case "repair/0" ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest("call_add", "scripted__add", Json.tree("{\"a\":1,\"b\":2}")),
              new ToolCallRequest("call_num", "scripted__echo", Json.tree("{\"message\":5}")),
              new ToolCallRequest(
                  "call_extra",
                  "scripted__echo",
                  Json.tree("{\"message\":\"hi\",\"shout\":true}")));
      case "repair/1" ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_fix", "scripted__echo", Json.tree("{\"message\":\"fixed\"}")));
      case "repair/2" ->
          ScriptedLlmServer.openAiText("Repaired: " + results.get(results.size() - 1));
      case "failing/0" ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_fail", "scripted__fail", Json.tree("{\"reason\":\"disk full\"}")));
      case "failing/1" -> ScriptedLlmServer.openAiText("The tool failed, so I stop here.");
      default -> ScriptedLlmServer.openAiText("unexpected turn " + turn + " of " + request);
    };
  }

  // ---- helpers

  /** One deployment's catalog (with the servers' tool-calls.mcp.* topics) and settings. */
  private record Deployment(TopicCatalog catalog, Map<String, String> settings) {}

  private Deployment deploy(String name, Path mcpDir, List<String> servers) throws Exception {
    TestDeployment deployment = TestDeployment.create(kafka, name, dir);
    TopicCatalog catalog = deployment.catalog().withMcpTopics(servers, deployment.prefix());
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    // Brokers learn of new topics a moment after they are created; a pattern that starts before
    // its source topic shows would lose its stream thread for a whole session timeout.
    java.util.Set<String> names = catalog.names();
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> kafka.admin().listTopics().names().get().containsAll(names));
    Map<String, String> settings =
        deployment
            .with(
                Map.of(
                    AppConfig.LLM_ROUTE_DEFAULT,
                    "openai",
                    AppConfig.provider("openai", "base.url"),
                    llm.openAiBaseUrl().toString(),
                    AppConfig.provider("openai", "api.key"),
                    "sk-test-not-a-secret",
                    AppConfig.MCP_DIR,
                    mcpDir.toString(),
                    AppConfig.CONTROLLER_TICK_MS,
                    "100"))
            .settings();
    watcher = new Watcher(catalog);
    return new Deployment(catalog, settings);
  }

  /** Writes {@code <mcpDir>/<name>.json}: a stdio server running {@code command}. */
  private static void declare(Path mcpDir, String name, List<String> command, long timeoutMs)
      throws Exception {
    ObjectNode spec = JsonNodeFactory.instance.objectNode();
    spec.put("name", name).put("transport", "stdio").put("command", command.get(0));
    command.subList(1, command.size()).forEach(spec.putArray("args")::add);
    spec.put("timeoutMs", timeoutMs);
    Files.writeString(mcpDir.resolve(name + ".json"), spec.toString());
  }

  private void produceGoals(Deployment d, Map<String, List<String>> goals) throws Exception {
    String topic = d.catalog.spec(TopicRole.GOALS).name();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (Map.Entry<String, List<String>> g : goals.entrySet()) {
        ObjectNode goal = JsonNodeFactory.instance.objectNode();
        goal.put("goalId", g.getKey())
            .put("goal", "Goal " + g.getKey() + ": do the scripted thing.");
        g.getValue().forEach(goal.putArray("tools")::add);
        producer
            .send(
                new ProducerRecord<>(
                    topic,
                    g.getKey().getBytes(StandardCharsets.UTF_8),
                    goal.toString().getBytes(StandardCharsets.UTF_8)))
            .get();
      }
    }
  }

  private void approve(Deployment d, String goalId, String callId) throws Exception {
    String topic = d.catalog.spec(TopicRole.APPROVALS).name();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  topic,
                  goalId.getBytes(StandardCharsets.UTF_8),
                  APPROVALS
                      .serializer()
                      .serialize(
                          topic,
                          new Approval(
                              goalId,
                              callId,
                              Approval.Decision.APPROVE,
                              "record r-42 is a duplicate",
                              "mcp-it-approver",
                              null))))
          .get();
    }
  }

  private static List<JsonNode> callsOf(Path log, String tool) {
    return ScriptedMcpServer.calls(log).stream()
        .filter(c -> c.path("name").asText().equals(tool))
        .toList();
  }

  /** The LLM requests of one goal, in order. */
  private List<JsonNode> requestsOf(String goalId) {
    return llm.requests().stream()
        .map(ScriptedLlmServer.RecordedRequest::json)
        .filter(body -> goalId.equals(ScriptedLlmServer.goalIdOf(body)))
        .toList();
  }

  /** Reads the outputs a user would see (read_committed) into lists. */
  private final class Watcher implements AutoCloseable {
    final List<GoalEvent> events = new CopyOnWriteArrayList<>();
    final List<GoalResult> results = new CopyOnWriteArrayList<>();
    final List<ToolResult> toolResults = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Function<byte[], Object>> readers;

    Watcher(TopicCatalog catalog) {
      readers =
          Map.of(
              catalog.spec(TopicRole.GOAL_EVENTS).name(),
              v -> events.add(EVENTS.deserializer().deserialize(null, v)),
              catalog.spec(TopicRole.GOAL_RESULTS).name(),
              v -> results.add(RESULTS.deserializer().deserialize(null, v)),
              catalog.spec(TopicRole.TOOL_RESULTS).name(),
              v -> toolResults.add(TOOL_RESULTS.deserializer().deserialize(null, v)));
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("mcp-watch")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      consumer.subscribe(List.copyOf(readers.keySet()));
      thread = new Thread(this::loop, "mcp-it-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          readers.get(r.topic()).apply(r.value());
        }
      }
    }

    List<GoalEvent> events(String goalId) {
      return events.stream().filter(e -> e.goalId().equals(goalId)).toList();
    }

    /**
     * Whether the goal's result and its finished event are in (they are committed together, but the
     * watcher may read one topic before the other).
     */
    boolean finished(String goalId) {
      return results.stream().anyMatch(r -> r.goalId().equals(goalId))
          && events(goalId).stream().anyMatch(e -> e.type() == GoalEventType.FINISHED);
    }

    GoalResult onlyResult(String goalId) {
      List<GoalResult> mine = results.stream().filter(r -> r.goalId().equals(goalId)).toList();
      assertThat(mine).as("results of " + goalId).hasSize(1);
      return mine.get(0);
    }

    /** Exactly one result per goal, and still one a while later (a duplicate would show). */
    void assertOneResultEach(List<String> goalIds) {
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  results.size() == goalIds.size()
                      && goalIds.stream()
                          .allMatch(
                              id ->
                                  results.stream().filter(r -> r.goalId().equals(id)).count()
                                      == 1));
    }

    @Override
    public void close() {
      try {
        running.set(false);
        thread.join(5_000);
        consumer.close(
            org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
      }
    }
  }
}
