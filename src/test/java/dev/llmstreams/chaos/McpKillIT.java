package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.mcp.ScriptedMcpServer;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SIGKILL of the MCP bridge mid-goal (issue #17): the gateway and the controller run in this JVM
 * against a scripted LLM; the tools pattern, whose stdio child is the scripted MCP server, runs in
 * a child JVM that is killed while goals are calling {@code scripted__echo} and then restarted on
 * the same state.
 *
 * <p>What must hold: a call whose result was committed before the kill (read with {@code
 * read_committed} while the worker is dead, so nothing more can commit) is never sent to the server
 * again; only calls in flight at the kill may be; every goal ends with exactly one result, all
 * succeeded with their own echo.
 */
@WithKafka
class McpKillIT {
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<ToolResult> TOOL_RESULTS = JsonSerde.of(ToolResult.class);
  private static final int GOALS = 40;
  private static final int CALLS_BEFORE_KILL = 8;
  private static final Duration GOAL_PACE = Duration.ofMillis(120);
  private static final String TOOL = "scripted__echo";

  @TempDir Path dir;

  @Test
  void aKilledMcpBridgeNeverResendsAnAnsweredCallAndEveryGoalEndsOnce(KafkaCluster kafka)
      throws Exception {
    long testStart = System.nanoTime();
    Path log = dir.resolve("scripted-calls.jsonl");
    Path mcpDir = Files.createDirectories(dir.resolve("mcp"));
    declareScripted(mcpDir, log);

    TestDeployment deployment = TestDeployment.create(kafka, "mcp-kill", dir);
    TopicCatalog catalog =
        deployment.catalog().withMcpTopics(List.of("scripted"), deployment.prefix());
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    Set<String> names = catalog.names();
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> kafka.admin().listTopics().names().get().containsAll(names));

    // The tools pattern alone in a child JVM, on the same deployment, with a short session timeout
    // so that the killed member's partitions move within seconds, not 45 s.
    int workerPort = freePort();
    Map<String, String> workerSettings = new LinkedHashMap<>();
    for (String key :
        List.of(AppConfig.KAFKA_BOOTSTRAP, AppConfig.TOPICS_PREFIX, AppConfig.APPLICATION_ID)) {
      workerSettings.put(key, deployment.settings().get(key));
    }
    workerSettings.put(AppConfig.STATE_DIR, dir.resolve("worker").resolve("state").toString());
    workerSettings.put(AppConfig.HTTP_PORT, Integer.toString(workerPort));
    workerSettings.put(AppConfig.PATTERNS, "tools");
    workerSettings.put(AppConfig.MCP_DIR, mcpDir.toString());
    workerSettings.put(AppConfig.CLIENT_PREFIX + "session.timeout.ms", "6000");
    workerSettings.put(AppConfig.CLIENT_PREFIX + "heartbeat.interval.ms", "1500");

    Map<String, String> settings =
        deployment
            .with(
                Map.of(
                    AppConfig.LLM_ROUTE_DEFAULT,
                    "openai",
                    AppConfig.MCP_DIR,
                    mcpDir.toString(),
                    AppConfig.CONTROLLER_TICK_MS,
                    "100"))
            .settings();

    List<ProcessHandle> oldServers = new ArrayList<>();
    try (ScriptedLlmServer llm = ScriptedLlmServer.start();
        AppInstance worker =
            new AppInstance(
                "mcp-worker",
                dir.resolve("worker"),
                workerPort,
                workerSettings,
                "384m",
                // Started and restarted within the test: C1 alone and the serial collector start
                // it sooner than C2's compiler threads and G1 on a shared machine.
                List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        Watcher watcher = new Watcher(kafka, catalog)) {
      settings.put(AppConfig.provider("openai", "base.url"), llm.openAiBaseUrl().toString());
      settings.put(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret");
      llm.setDefault(request -> ScriptedLlmServer.Reply.json(echoLlm(request.json())));
      worker.start();
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
        app.start(List.of(new GatewayModule(), new ControllerModule()));
        await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
        if (worker.awaitReady(Duration.ofSeconds(90)).isEmpty()) {
          throw new AssertionError("the worker did not get ready:\n" + worker.logTail(60));
        }

        // The goals arrive at a steady pace, so that the kill falls in the middle of them.
        List<String> goalIds =
            IntStream.range(0, GOALS).mapToObj(i -> String.format("k%02d", i)).toList();
        Thread feeder = new Thread(() -> produceGoals(kafka, catalog, goalIds), "mcp-kill-feeder");
        feeder.setDaemon(true);
        feeder.start();

        await()
            .atMost(Duration.ofSeconds(90))
            .pollInterval(Duration.ofMillis(20))
            .ignoreExceptions()
            .until(() -> ScriptedMcpServer.calls(log).size() >= CALLS_BEFORE_KILL);
        oldServers.addAll(
            ProcessHandle.of(worker.pid().orElseThrow())
                .map(p -> p.descendants().toList())
                .orElse(List.of()));
        long killedAt = System.nanoTime();
        worker.kill();
        assertThat(worker.alive()).as("killed").isFalse();

        // The old scripted server's standard input is closed: it exits once it has read what was
        // already written to it. Should it not, nothing can send it a call any more either.
        boolean serversExited = true;
        for (ProcessHandle server : oldServers) {
          try {
            server.onExit().get(15, TimeUnit.SECONDS);
          } catch (java.util.concurrent.TimeoutException e) {
            serversExited = false;
          }
        }
        // With the worker dead nothing can commit: the results committed before the kill.
        Map<String, String> answeredBefore = committedEchoResults(kafka, catalog);
        List<JsonNode> before = ScriptedMcpServer.calls(log);
        int k = before.size();
        Set<String> sentBefore = messages(before);
        System.err.printf(
            "mcp kill it: killed the worker after %d calls (%d answered and committed), old"
                + " server exited: %s%n",
            k, answeredBefore.size(), serversExited);

        assertThat(k).as("the kill fell mid-run").isLessThan(GOALS);
        assertThat(answeredBefore).as("calls answered and committed before the kill").isNotEmpty();
        assertThat(sentBefore)
            .as("a committed result means its call had reached the server")
            .containsAll(answeredBefore.values());

        long restartedAt = System.nanoTime();
        worker.start();
        Duration ready =
            worker
                .awaitReady(Duration.ofSeconds(90))
                .orElseThrow(
                    () ->
                        new AssertionError(
                            "the restarted worker did not get ready:\n" + worker.logTail(60)));
        feeder.join(Duration.ofSeconds(60).toMillis());
        assertThat(feeder.isAlive()).as("all goals produced").isFalse();
        try {
          await()
              .atMost(Duration.ofSeconds(90))
              .pollInterval(Duration.ofMillis(50))
              .until(() -> watcher.goalsWithResult().size() == GOALS);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
          throw new AssertionError(
              "results for "
                  + watcher.goalsWithResult().size()
                  + " of "
                  + GOALS
                  + " goals; the restarted worker's log ends:\n"
                  + worker.logTail(60),
              e);
        }
        long allDoneAt = System.nanoTime();

        // Exactly one result per goal, and still one a moment later (a duplicate would show).
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(10))
            .until(() -> watcher.results.size() == GOALS);
        Map<String, List<GoalResult>> byGoal =
            watcher.results.stream().collect(Collectors.groupingBy(GoalResult::goalId));
        assertThat(byGoal.keySet()).containsExactlyInAnyOrderElementsOf(goalIds);
        for (String id : goalIds) {
          assertThat(byGoal.get(id)).as("results of " + id).hasSize(1);
          GoalResult r = byGoal.get(id).get(0);
          assertThat(r.status()).as(id + ": " + r.reason()).isEqualTo(GoalStatus.SUCCEEDED);
          assertThat(r.answer()).as(id).isEqualTo("echo: " + id);
        }

        // What reached the server: every goal's call at least once; after the kill, no call whose
        // result was committed before it; twice only a call in flight at the kill.
        List<JsonNode> all = ScriptedMcpServer.calls(log);
        assertThat(all)
            .allSatisfy(c -> assertThat(c.path("name").asText()).isEqualTo("echo"))
            .extracting(c -> c.path("arguments").path("message").asText())
            .allMatch(goalIds::contains);
        Map<String, Long> timesSent =
            all.stream()
                .collect(
                    Collectors.groupingBy(
                        c -> c.path("arguments").path("message").asText(),
                        TreeMap::new,
                        Collectors.counting()));
        assertThat(timesSent.keySet())
            .as("every goal's call reached the server")
            .containsAll(goalIds);
        List<JsonNode> after = all.subList(k, all.size());
        Set<String> answeredGoals = new TreeSet<>(answeredBefore.values());
        assertThat(messages(after))
            .as("calls sent after the kill, against those answered and committed before it")
            .doesNotContainAnyElementsOf(answeredGoals);
        Map<String, Long> resent = new TreeMap<>(timesSent);
        resent.values().removeIf(n -> n < 2);
        assertThat(resent)
            .as("calls sent more than once: only those in flight at the kill, at most twice")
            .allSatisfy(
                (goal, n) -> {
                  assertThat(n).as(goal).isEqualTo(2);
                  assertThat(sentBefore).as(goal).contains(goal);
                  assertThat(answeredGoals).as(goal).doesNotContain(goal);
                });
        List<ToolResult> echoResults =
            watcher.toolResults.stream().filter(r -> r.tool().equals(TOOL)).toList();
        assertThat(echoResults).allMatch(ToolResult::ok);

        System.err.printf(
            "mcp kill it: %d goals; %d calls reached the server before the kill, %d answered and"
                + " committed (none sent again); %d sent again after the kill (in flight): %s;"
                + " %d calls in all; restart to ready %.1f s; kill to all results %.1f s (restart"
                + " to all results %.1f s); test %.1f s%n",
            GOALS,
            k,
            answeredGoals.size(),
            resent.size(),
            resent.keySet(),
            all.size(),
            ready.toMillis() / 1000.0,
            seconds(allDoneAt - killedAt),
            seconds(allDoneAt - restartedAt),
            seconds(System.nanoTime() - testStart));
      }
    } finally {
      // An old scripted server that outlived its worker (it should not): ours, ended by its id.
      for (ProcessHandle server : oldServers) {
        if (server.isAlive()) {
          server.destroyForcibly();
        }
      }
    }
  }

  /**
   * The scripted LLM: turn 1 asks {@code scripted__echo} for the goal's id, turn 2 answers with the
   * echo.
   */
  private static JsonNode echoLlm(JsonNode request) {
    String goalId = ScriptedLlmServer.goalIdOf(request);
    if (ScriptedLlmServer.assistantTurns(request) == 0) {
      return ScriptedLlmServer.openAiToolCalls(
          new ToolCallRequest(
              "call_" + goalId,
              TOOL,
              JsonNodeFactory.instance.objectNode().put("message", goalId)));
    }
    List<String> texts = ScriptedLlmServer.lastToolResults(request);
    return ScriptedLlmServer.openAiText(texts.isEmpty() ? "no tool result" : texts.get(0));
  }

  /**
   * Writes {@code <mcpDir>/scripted.json}: the scripted server over stdio, logging to {@code log}.
   */
  private static void declareScripted(Path mcpDir, Path log) throws IOException {
    List<String> command = ScriptedMcpServer.command(log);
    ObjectNode spec = JsonNodeFactory.instance.objectNode();
    spec.put("name", "scripted").put("transport", "stdio").put("command", command.get(0));
    command.subList(1, command.size()).forEach(spec.putArray("args")::add);
    spec.putArray("include").add("echo");
    // Longer than the worker's outage: the controller waits instead of resending or timing out.
    spec.put("timeoutMs", 120_000);
    Files.writeString(mcpDir.resolve("scripted.json"), spec.toString());
  }

  private static void produceGoals(KafkaCluster kafka, TopicCatalog catalog, List<String> ids) {
    String topic = catalog.spec(TopicRole.GOALS).name();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (String id : ids) {
        ObjectNode goal = JsonNodeFactory.instance.objectNode();
        goal.put("goalId", id).put("goal", "Goal " + id + ": echo your id.");
        goal.putArray("tools").add(TOOL);
        producer
            .send(
                new ProducerRecord<>(
                    topic,
                    id.getBytes(StandardCharsets.UTF_8),
                    goal.toString().getBytes(StandardCharsets.UTF_8)))
            .get();
        Thread.sleep(GOAL_PACE.toMillis()); // pacing the load, not waiting for an outcome
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("cannot produce the goals", e);
    }
  }

  /**
   * The {@code scripted__echo} results committed on {@code tool-results} so far, read to the end
   * with {@code read_committed}: callId to goalId.
   */
  private static Map<String, String> committedEchoResults(
      KafkaCluster kafka, TopicCatalog catalog) {
    String topic = catalog.spec(TopicRole.TOOL_RESULTS).name();
    Map<String, String> out = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            kafka.consumerProps(KafkaCluster.uniqueName("mcp-kill-a")),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic)) {
        partitions.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      // read_committed: the last stable offset, below any transaction the killed worker left open.
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                  ToolResult result = TOOL_RESULTS.deserializer().deserialize(topic, r.value());
                  if (result.tool().equals(TOOL)) {
                    out.put(result.callId(), result.goalId());
                  }
                }
                return partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
              });
    }
    return out;
  }

  private static Set<String> messages(List<JsonNode> calls) {
    return calls.stream()
        .map(c -> c.path("arguments").path("message").asText())
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Reads goal and tool results as a user would see them (read_committed). */
  private static final class Watcher implements AutoCloseable {
    final List<GoalResult> results = new CopyOnWriteArrayList<>();
    final List<ToolResult> toolResults = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String resultsTopic;
    private final Thread thread;

    Watcher(KafkaCluster kafka, TopicCatalog catalog) {
      resultsTopic = catalog.spec(TopicRole.GOAL_RESULTS).name();
      String toolResultsTopic = catalog.spec(TopicRole.TOOL_RESULTS).name();
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("mcp-kill-watch")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      consumer.subscribe(List.of(resultsTopic, toolResultsTopic));
      thread = new Thread(this::loop, "mcp-kill-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.topic().equals(resultsTopic)) {
            results.add(RESULTS.deserializer().deserialize(r.topic(), r.value()));
          } else {
            toolResults.add(TOOL_RESULTS.deserializer().deserialize(r.topic(), r.value()));
          }
        }
      }
    }

    Set<String> goalsWithResult() {
      return results.stream().map(GoalResult::goalId).collect(Collectors.toSet());
    }

    @Override
    public void close() {
      running.set(false);
      try {
        thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
      }
      consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
    }
  }
}
