package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.CommittedReads;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replay goals} on a real broker with the simulator: 200 goals recorded by a production
 * controller under simulated model A (one tool turn; publish calls approved by a person) run again
 * under simulated model B (two tool turns, on another server). The report matches what this test
 * computes itself from the production and run topics; the replay writes no {@code publish} record
 * and executes no write tool; and a second replay of the same slice makes no provider call.
 */
@WithKafka
class ReplayGoalsIT {
  private static final int GOALS = 200;
  private static final Pattern GOAL_ID = Pattern.compile("goal (g-\\d+):");

  @TempDir Path dir;

  @Test
  void shouldReplayRecordedGoalsUnderASecondModelWithoutSideEffectsAndFreeTheSecondTime(
      KafkaCluster kafka) throws Exception {
    String publishTopic = KafkaCluster.uniqueName("replay-published");
    try (SimulatedLlmServer modelA =
            new SimulatedLlmServer(SimulatedLlmServer.Settings.defaults().withModel("sim-a"))
                .start();
        SimulatedLlmServer modelB =
            new SimulatedLlmServer(
                    SimulatedLlmServer.Settings.defaults().withModel("sim-b").withToolSteps(2))
                .start()) {
      modelA.withToolScript((tool, messages) -> arguments(tool, messages, publishTopic));
      modelB.withToolScript((tool, messages) -> arguments(tool, messages, publishTopic));
      TestDeployment deployment =
          TestDeployment.create(kafka, "rgoal", dir)
              .withOpenAi(modelA.baseUrl())
              .with(
                  Map.of(
                      AppConfig.provider("openai", "model"),
                      "sim-a",
                      AppConfig.provider("openai", "price.input.per.mtok"),
                      "2.5",
                      AppConfig.provider("openai", "price.output.per.mtok"),
                      "10",
                      AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS,
                      publishTopic));
      kafka.createTopics(publishTopic);
      TopicCatalog catalog = deployment.catalog();
      Path config = deployment.writeProperties(dir.resolve("app.properties"));
      Instant before = Instant.now();

      record(kafka, deployment, catalog, publishTopic);
      long publishedBefore = CommittedReads.count(kafka, publishTopic);
      assertThat(publishedBefore).as("publish records of the original run").isEqualTo(GOALS / 4);
      long callsA = modelA.stats().calls();

      // The refusal of a setting that would leave the run's isolation.
      CliRun refused =
          CliRun.of("--config", config.toString(), "replay", "goals", "--set", "topics.prefix=x");
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.err()).contains("--set topics.prefix");

      Path report = dir.resolve("r1.json");
      Path md = dir.resolve("r1.md");
      CliRun r1 =
          replay(
              config,
              "r1",
              modelB,
              before,
              "--json",
              report.toString(),
              "--markdown",
              md.toString());
      assertThat(r1.exit()).as(r1.err()).isZero();
      long callsB = modelB.stats().calls();
      assertThat(callsB).as("the candidate's provider calls").isPositive();
      assertThat(modelA.stats().calls()).as("no call to the original model").isEqualTo(callsA);

      // No publish record and no write tool run during the replay: the target topic holds the
      // original run's records only, and every publish call of the run was answered from the
      // record or not executed.
      assertThat(CommittedReads.count(kafka, publishTopic)).isEqualTo(publishedBefore);
      String runPrefix = deployment.prefix() + "replay.r1.";
      TopicCatalog run = TopicCatalog.load().withPrefix(runPrefix);
      Expected expected = expected(kafka, catalog, run);
      assertThat(expected.results).hasSize(GOALS);
      assertThat(expected.kinds.get("publish"))
          .as("publish calls by answer")
          .containsOnlyKeys("recorded", "not_executed");
      assertThat(expected.kinds.get("calculator"))
          .as("calculator calls by answer")
          .containsKeys("recorded", "executed_read_only");
      assertThat(expected.kinds.get("publish").get("not_executed")).isEqualTo(GOALS / 4);

      JsonNode r = Json.tree(Files.readString(report));
      assertMatches(r, expected, callsB);
      assertThat(r.path("candidate").path("model").asText()).isEqualTo("openai/sim-b");
      assertThat(r.path("candidate").path("llm.openai.base.url").asText())
          .isEqualTo(modelB.baseUrl().toString());
      assertThat(r.path("application_id").asText())
          .isEqualTo(deployment.settings().get(AppConfig.APPLICATION_ID) + "-replay-r1");
      assertThat(Files.readString(md)).contains("# Replay of goals").contains("same_status");

      // The same slice under the same candidate again: every reply from the reply cache.
      Path again = dir.resolve("r2.json");
      CliRun r2 = replay(config, "r2", modelB, before, "--json", again.toString());
      assertThat(r2.exit()).as(r2.err()).isZero();
      assertThat(modelB.stats().calls())
          .as("provider calls of the second replay")
          .isEqualTo(callsB);
      JsonNode second = Json.tree(Files.readString(again));
      assertThat(second.path("totals").path("llm").path("provider_calls").asLong()).isZero();
      assertThat(second.path("totals").path("llm").path("cached").asLong())
          .isEqualTo(r.path("totals").path("llm").path("replies").asLong());
      Expected expected2 =
          expected(
              kafka, catalog, TopicCatalog.load().withPrefix(deployment.prefix() + "replay.r2."));
      assertMatches(second, expected2, 0);
      for (String id : expected.results.keySet()) {
        assertThat(expected2.results.get(id).status()).isEqualTo(expected.results.get(id).status());
        assertThat(expected2.results.get(id).answer()).isEqualTo(expected.results.get(id).answer());
      }
      assertThat(CommittedReads.count(kafka, publishTopic)).isEqualTo(publishedBefore);

      // A run is written once.
      java.util.Set<String> stateFolders = stateFolders("r1");
      CliRun twice = replay(config, "r1", modelB, before);
      assertThat(twice.exit()).isNotZero();
      assertThat(twice.err()).contains("run r1 was written already");
      // A refused run leaves no temporary state folder behind.
      assertThat(stateFolders("r1")).isEqualTo(stateFolders);

      // Cleaning up: replay delete removes run r1's topics (its own and its applications'
      // internal ones), and nothing of run r2, of production or of the shared reply cache.
      String appId = deployment.settings().get(AppConfig.APPLICATION_ID);
      CliRun dry =
          CliRun.of("--config", config.toString(), "replay", "delete", "--run", "r1", "--dry-run");
      assertThat(dry.exit()).as(dry.err()).isZero();
      assertThat(dry.out())
          .contains("would delete " + runPrefix + "goals\n")
          .contains("would delete " + appId + "-replay-r1-controller-")
          .doesNotContain("replay.r2.")
          .doesNotContain("reply-cache");
      assertThat(kafka.admin().listTopics().names().get()).contains(runPrefix + "goals");
      CliRun delete = CliRun.of("--config", config.toString(), "replay", "delete", "--run", "r1");
      assertThat(delete.exit()).as(delete.err()).isZero();
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(kafka.admin().listTopics().names().get())
                      .noneMatch(
                          t -> t.startsWith(runPrefix) || t.startsWith(appId + "-replay-r1-"))
                      .contains(
                          deployment.prefix() + "replay.r2.goals",
                          deployment.prefix() + "replay.reply-cache",
                          catalog.spec(TopicRole.GOALS).name())
                      .anyMatch(t -> t.startsWith(appId + "-replay-r2-controller-")));
    }
  }

  /**
   * The original run: 200 goals (a quarter produced with kcat), on a production gateway, controller
   * and tool workers under model A; publish calls approved once requested.
   */
  private static void record(
      KafkaCluster kafka, TestDeployment deployment, TopicCatalog catalog, String publishTopic)
      throws Exception {
    String goals = catalog.spec(TopicRole.GOALS).name();
    List<Map.Entry<String, String>> byKcat = new ArrayList<>();
    try (Observability observability = new Observability();
        LlmStreamsApp app =
            new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability);
        KafkaProducer<String, String> producer =
            new KafkaProducer<>(
                kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
      for (int i = 0; i < GOALS; i++) {
        String id = String.format("g-%03d", i);
        ObjectNode goal = JsonNodeFactory.instance.objectNode().put("goalId", id);
        switch (i % 4) {
          case 3 -> {
            goal.put("goal", "goal " + id + ": tell the team about " + i);
            goal.putArray("tools").add("publish");
          }
          case 2 -> {
            // Two steps are enough for model A (one tool turn), not for model B (two).
            goal.put("goal", "goal " + id + ": what is " + i + " times seven?");
            goal.putArray("tools").add("calculator");
            goal.put("maxSteps", 2);
          }
          default -> {
            goal.put("goal", "goal " + id + ": what is " + i + " times seven?");
            goal.putArray("tools").add("calculator");
          }
        }
        if (i % 4 == 1) {
          byKcat.add(Map.entry(id, goal.toString()));
        } else {
          producer.send(new ProducerRecord<>(goals, id, goal.toString()));
        }
      }
      producer.flush();
      Kcat.produce(kafka.bootstrapServers(), goals, byKcat);

      // A person approves each publish call once the controller asks.
      String events = catalog.spec(TopicRole.GOAL_EVENTS).name();
      List<GoalEvent> asked = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(120))
          .until(
              () -> {
                asked.clear();
                CommittedReads.eachValue(
                    kafka,
                    events,
                    GoalEvent.class,
                    e -> {
                      if (e.type() == GoalEventType.APPROVAL_REQUESTED) {
                        asked.add(e);
                      }
                    });
                return asked.size() == GOALS / 4;
              });
      String approvals = catalog.spec(TopicRole.APPROVALS).name();
      for (GoalEvent e : asked) {
        producer.send(
            new ProducerRecord<>(
                approvals,
                e.goalId(),
                Json.writer()
                    .writeValueAsString(
                        new Approval(
                            e.goalId(),
                            e.causationId(),
                            Approval.Decision.APPROVE,
                            "looks right",
                            "ops@example.com",
                            Instant.now()))));
      }
      producer.flush();
      String results = catalog.spec(TopicRole.GOAL_RESULTS).name();
      await()
          .atMost(Duration.ofSeconds(120))
          .until(() -> CommittedReads.count(kafka, results) == GOALS);
    }
  }

  /**
   * The arguments both models give: the calculator gets {@code i * 7} on the first tool turn and
   * {@code i + 1} on the second; publish a record naming the goal and the turn.
   */
  private static JsonNode arguments(String tool, JsonNode messages, String publishTopic) {
    String goalId = null;
    int turn = 1;
    for (JsonNode m : messages) {
      Matcher g = GOAL_ID.matcher(m.path("content").asText(""));
      if ("user".equals(m.path("role").asText()) && g.find()) {
        goalId = g.group(1);
      }
      if ("assistant".equals(m.path("role").asText()) && !m.path("tool_calls").isEmpty()) {
        turn++;
      }
    }
    if (goalId == null) {
      return null;
    }
    int n = Integer.parseInt(goalId.substring(2));
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    if (tool.equals("calculator")) {
      return args.put("expression", turn == 1 ? n + " * 7" : n + " + 1");
    }
    if (tool.equals("publish")) {
      args.put("topic", publishTopic).put("key", goalId);
      args.putObject("record").put("goalId", goalId).put("turn", turn);
      return args;
    }
    return null;
  }

  /** What the report must say, as this test computes it from the topics. */
  private record Expected(
      Map<String, GoalResult> original,
      Map<String, GoalResult> results,
      Map<String, Map<String, Integer>> kindsByGoal,
      Map<String, Map<String, Integer>> kinds,
      Map<String, long[]> llmByGoal) {}

  private static Expected expected(KafkaCluster kafka, TopicCatalog catalog, TopicCatalog run) {
    Map<String, GoalResult> original = results(kafka, catalog.spec(TopicRole.GOAL_RESULTS).name());
    Map<String, GoalResult> replayed = results(kafka, run.spec(TopicRole.GOAL_RESULTS).name());
    // The original run's calls with a result, by goal, tool and arguments (as JSON trees, whose
    // equality ignores the order of keys).
    Map<String, ToolCall> originalCalls = new HashMap<>();
    for (String tool : List.of("calculator", "publish")) {
      CommittedReads.values(kafka, catalog.toolCalls(tool, ToolCall.class).name(), ToolCall.class)
          .forEach(c -> originalCalls.putIfAbsent(c.callId(), c));
    }
    List<List<Object>> answered = new ArrayList<>();
    CommittedReads.eachValue(
        kafka,
        catalog.spec(TopicRole.TOOL_RESULTS).name(),
        ToolResult.class,
        r -> {
          ToolCall c = originalCalls.get(r.callId());
          if (c != null) {
            answered.add(List.of(c.goalId(), c.tool(), c.arguments()));
          }
        });
    Map<String, ToolCall> runCalls = new HashMap<>();
    for (String tool : List.of("calculator", "publish")) {
      CommittedReads.values(kafka, run.toolCalls(tool, ToolCall.class).name(), ToolCall.class)
          .forEach(c -> runCalls.putIfAbsent(c.callId(), c));
    }
    Map<String, Map<String, Integer>> kindsByGoal = new TreeMap<>();
    Map<String, Map<String, Integer>> kinds = new TreeMap<>();
    Map<String, ToolResult> runResults = new HashMap<>();
    CommittedReads.eachValue(
        kafka,
        run.spec(TopicRole.TOOL_RESULTS).name(),
        ToolResult.class,
        r -> runResults.putIfAbsent(r.callId(), r));
    runResults
        .values()
        .forEach(
            r -> {
              ToolCall c = runCalls.get(r.callId());
              assertThat(c).as("the run's call " + r.callId()).isNotNull();
              boolean made = answered.contains(List.of(c.goalId(), c.tool(), c.arguments()));
              // What the rules say, checked against how the run's worker answered.
              String kind =
                  made
                      ? "recorded"
                      : c.tool().equals("calculator") ? "executed_read_only" : "not_executed";
              String seen =
                  r.worker().startsWith("recorded:")
                      ? "recorded"
                      : !r.ok() && r.error().startsWith("not executed in replay")
                          ? "not_executed"
                          : "executed_read_only";
              assertThat(seen)
                  .as("how " + r.callId() + " " + c.arguments() + " was answered")
                  .isEqualTo(kind);
              if (kind.equals("executed_read_only")) {
                assertThat(r.ok()).isTrue();
                assertThat(r.worker()).doesNotStartWith("recorded:");
              }
              kindsByGoal
                  .computeIfAbsent(c.goalId(), k -> new TreeMap<>())
                  .merge(kind, 1, Integer::sum);
              kinds.computeIfAbsent(c.tool(), k -> new TreeMap<>()).merge(kind, 1, Integer::sum);
            });
    Map<String, long[]> llm = new HashMap<>();
    Map<String, LlmReply> replies = new HashMap<>();
    CommittedReads.eachValue(
        kafka,
        run.spec(TopicRole.CONTROLLER_LLM_REPLIES).name(),
        LlmReply.class,
        r -> replies.putIfAbsent(r.requestId(), r));
    replies
        .values()
        .forEach(
            r -> {
              long[] n = llm.computeIfAbsent(r.correlationId(), k -> new long[2]);
              if (r.cached()) {
                n[1]++;
              } else {
                n[0] += r.attempts() == null ? 1 : r.attempts();
              }
            });
    return new Expected(original, replayed, kindsByGoal, kinds, llm);
  }

  /** The report's totals and every goal's item are what the topics say. */
  private static void assertMatches(JsonNode report, Expected e, long providerCalls) {
    JsonNode totals = report.path("totals");
    assertThat(totals.path("goals").asInt()).isEqualTo(GOALS);
    assertThat(totals.path("finished").asInt()).isEqualTo(GOALS);
    assertThat(totals.path("llm").path("provider_calls").asLong()).isEqualTo(providerCalls);
    int sameStatus = 0;
    int sameAnswer = 0;
    long replayTokens = 0;
    assertThat(report.path("items")).hasSize(GOALS);
    for (JsonNode item : report.path("items")) {
      String id = item.path("goal_id").asText();
      GoalResult a = e.original().get(id);
      GoalResult b = e.results().get(id);
      assertThat(a).as(id).isNotNull();
      assertThat(b).as(id).isNotNull();
      assertSide(item.path("original"), a);
      assertSide(item.path("replay"), b);
      boolean status = a.status() == b.status();
      boolean answer = Objects.equals(a.answer(), b.answer());
      sameStatus += status ? 1 : 0;
      sameAnswer += answer ? 1 : 0;
      replayTokens += b.usage().totalTokens();
      assertThat(item.path("same_status").asBoolean()).as(id).isEqualTo(status);
      assertThat(item.path("same_answer").asBoolean()).as(id).isEqualTo(answer);
      Map<String, Integer> kinds = e.kindsByGoal().getOrDefault(id, Map.of());
      for (String kind : List.of("recorded", "executed_read_only", "not_executed")) {
        assertThat(item.path("tool_calls").path(kind).asInt())
            .as(id + " " + kind)
            .isEqualTo(kinds.getOrDefault(kind, 0));
      }
      long[] llm = e.llmByGoal().getOrDefault(id, new long[2]);
      assertThat(item.path("llm").path("provider_calls").asLong()).as(id).isEqualTo(llm[0]);
      assertThat(item.path("llm").path("cached").asLong()).as(id).isEqualTo(llm[1]);
    }
    assertThat(totals.path("same_status").asInt()).isEqualTo(sameStatus);
    assertThat(totals.path("same_answer").asInt()).isEqualTo(sameAnswer);
    assertThat(totals.path("replay").path("tokens").asLong()).isEqualTo(replayTokens);
    assertThat(totals.path("replay").path("cost_usd").asDouble())
        .isCloseTo(
            e.results().values().stream().mapToDouble(GoalResult::costUsd).sum(),
            org.assertj.core.api.Assertions.within(1e-9));
    assertThat(totals.path("original").path("cost_usd").asDouble())
        .isCloseTo(
            e.original().values().stream().mapToDouble(GoalResult::costUsd).sum(),
            org.assertj.core.api.Assertions.within(1e-9))
        .isPositive();
    // Model B's second tool turn does not fit the goals limited to two steps.
    assertThat(sameStatus).isEqualTo(GOALS - GOALS / 4);
  }

  private static void assertSide(JsonNode side, GoalResult r) {
    assertThat(side.path("status").asText()).isEqualTo(r.status().name().toLowerCase());
    assertThat(side.path("answer").isMissingNode() ? null : side.path("answer").asText())
        .isEqualTo(r.answer());
    assertThat(side.path("steps").asInt()).isEqualTo(r.steps());
    assertThat(side.path("tokens").asLong()).isEqualTo(r.usage().totalTokens());
    assertThat(side.path("cost_usd").asDouble()).isEqualTo(r.costUsd());
    assertThat(side.path("duration_ms").asLong()).isEqualTo(r.durationMs());
  }

  private static CliRun replay(
      Path config, String run, SimulatedLlmServer candidate, Instant from, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--config",
                config.toString(),
                "replay",
                "goals",
                "--from",
                from.toString(),
                "--run",
                run,
                "--model",
                "sim-b",
                "--set",
                "llm.openai.base.url=" + candidate.baseUrl(),
                // The candidate's price list: a cheaper model.
                "--set",
                "llm.openai.price.input.per.mtok=0.15",
                "--set",
                "llm.openai.price.output.per.mtok=0.6",
                "--timeout",
                "PT120S"));
    args.addAll(List.of(more));
    return CliRun.of(args.toArray(String[]::new));
  }

  /** The replay state folders of run {@code run} in the temp directory. */
  private static java.util.Set<String> stateFolders(String run) throws java.io.IOException {
    try (java.util.stream.Stream<Path> all =
        java.nio.file.Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return all.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("llm-streams-replay-" + run))
          .collect(java.util.stream.Collectors.toSet());
    }
  }

  private static Map<String, GoalResult> results(KafkaCluster kafka, String topic) {
    Map<String, GoalResult> out = new TreeMap<>();
    CommittedReads.eachValue(
        kafka,
        topic,
        GoalResult.class,
        r -> assertThat(out.put(r.goalId(), r)).as("one result per goal").isNull());
    return out;
  }
}
