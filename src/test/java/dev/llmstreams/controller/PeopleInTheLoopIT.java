package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * People in a goal's loop, on a real broker, as users would with kcat: cancelling goals (a goal
 * whose publish call waits for a person, and a goal whose LLM call is in flight, each end {@code
 * cancelled} with one result, read committed; the approval that comes after does not dispatch the
 * call, and the late LLM reply changes nothing), and a question to a person ({@code ask_human})
 * that survives a restart of the app and finishes the goal when the answer arrives.
 */
@WithKafka
@SuppressWarnings("try") // apps started by a helper, closed by try-with-resources
class PeopleInTheLoopIT {
  @TempDir Path dir;

  @Test
  void shouldEndGoalsCancelledOnceWhateverArrivesAfterwards(KafkaCluster kafka) throws Exception {
    try (SimulatedLlmServer llm =
        new SimulatedLlmServer(
                SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofSeconds(4)))
            .start()) {
      TestDeployment deployment =
          TestDeployment.create(kafka, "cancel", dir).withOpenAi(llm.baseUrl());
      TopicCatalog catalog = deployment.catalog();
      String goals = catalog.spec(TopicRole.GOALS).name();
      String cancellations = catalog.spec(TopicRole.GOAL_CANCELLATIONS).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app = started(deployment, observability);
          KafkaProducer<String, String> producer = producer(kafka)) {
        Kcat.produce(
            kafka.bootstrapServers(),
            goals,
            List.of(
                Map.entry(
                    "held",
                    "{\"goalId\":\"held\",\"goal\":\"Tell the team we shipped\",\"tools\":[\"publish\"]}")));
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> events(kafka, catalog, "held").contains(GoalEventType.APPROVAL_REQUESTED));
        Kcat.produce(
            kafka.bootstrapServers(),
            goals,
            List.of(
                Map.entry(
                    "slow",
                    "{\"goalId\":\"slow\",\"goal\":\"What is 6 * 7?\",\"tools\":[\"calculator\"]}")));
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> events(kafka, catalog, "slow").contains(GoalEventType.LLM_REQUESTED));
        // Both cancelled with kcat while one waits for a person and the other for its LLM.
        Kcat.produce(
            kafka.bootstrapServers(),
            cancellations,
            List.of(
                Map.entry(
                    "held",
                    "{\"goalId\":\"held\",\"reason\":\"not today\",\"by\":\"ops@example.com\"}"),
                Map.entry("slow", "{\"goalId\":\"slow\",\"by\":\"ops@example.com\"}")));
        await().atMost(Duration.ofSeconds(30)).until(() -> results(kafka, catalog).size() == 2);
        // The approval after the cancellation, and the LLM reply in flight (4 s), come too late.
        producer
            .send(
                new ProducerRecord<>(
                    catalog.spec(TopicRole.APPROVALS).name(),
                    "held",
                    Json.writer()
                        .writeValueAsString(
                            new Approval(
                                "held",
                                "held/1/0",
                                Approval.Decision.APPROVE,
                                null,
                                "alice",
                                null))))
            .get();
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    app.health().ready()
                        && observability
                                .registry()
                                .get("llmstreams.controller.records.ignored")
                                .counter()
                                .count()
                            >= 2);
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(10))
            .until(() -> results(kafka, catalog).size() == 2);
        List<GoalResult> results = results(kafka, catalog);
        assertThat(results).allSatisfy(r -> assertThat(r.status()).isEqualTo(GoalStatus.CANCELLED));
        GoalResult held = results.stream().filter(r -> r.goalId().equals("held")).findFirst().get();
        assertThat(held.reason())
            .isEqualTo(
                "cancelled by ops@example.com: not today; open calls left unanswered: held/1/0"
                    + " (publish, awaiting_approval)");
        assertThat(
                CommittedReads.count(
                    kafka,
                    catalog.toolCalls("publish", dev.llmstreams.events.ToolCall.class).name()))
            .as("the approved call of a cancelled goal is never dispatched")
            .isZero();
        assertThat(
                observability
                    .registry()
                    .get("llmstreams.controller.cancellations")
                    .tag("outcome", "cancelled")
                    .counter()
                    .count())
            .isEqualTo(2.0);
      }
    }
  }

  @Test
  void shouldResumeAGoalWaitingForAPersonAfterARestartAndFinishItWithTheAnswer(KafkaCluster kafka)
      throws Exception {
    try (SimulatedLlmServer llm =
        new SimulatedLlmServer(SimulatedLlmServer.Settings.defaults()).start()) {
      llm.withToolScript(
          (tool, messages) ->
              tool.equals("ask_human")
                  ? Json.tree("{\"question\":\"Which day suits the launch party?\"}")
                  : null);
      TestDeployment deployment =
          TestDeployment.create(kafka, "ask", dir).withOpenAi(llm.baseUrl());
      TopicCatalog catalog = deployment.catalog();
      String questions =
          catalog.toolCalls("ask_human", dev.llmstreams.events.ToolCall.class).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app = started(deployment, observability)) {
        Kcat.produce(
            kafka.bootstrapServers(),
            catalog.spec(TopicRole.GOALS).name(),
            List.of(
                Map.entry(
                    "party",
                    "{\"goalId\":\"party\",\"goal\":\"Book the launch party\",\"tools\":[\"ask_human\"]}")));
        // The question reaches the people's topic, committed.
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> CommittedReads.count(kafka, questions) == 1);
      }
      long callsBeforeRestart = llm.stats().calls();
      // A new app on the same state and groups: the goal still waits for its answer.
      try (Observability observability = new Observability();
          LlmStreamsApp app = started(deployment, observability)) {
        assertThat(results(kafka, catalog)).isEmpty();
        Kcat.produce(
            kafka.bootstrapServers(),
            catalog.spec(TopicRole.HUMAN_ANSWERS).name(),
            List.of(
                Map.entry(
                    "party",
                    "{\"goalId\":\"party\",\"callId\":\"party/1/0\",\"answer\":\"Friday after 5\",\"by\":\"ops@example.com\"}")));
        await().atMost(Duration.ofSeconds(60)).until(() -> results(kafka, catalog).size() == 1);
        GoalResult result = results(kafka, catalog).get(0);
        assertThat(result.status()).isEqualTo(GoalStatus.SUCCEEDED);
        assertThat(result.steps()).isEqualTo(2);
        assertThat(llm.stats().calls())
            .as("one more LLM call, after the answer")
            .isEqualTo(callsBeforeRestart + 1);
        List<GoalEvent> toolResults = new ArrayList<>();
        CommittedReads.eachValue(
            kafka,
            catalog.spec(TopicRole.GOAL_EVENTS).name(),
            GoalEvent.class,
            e -> {
              if (e.type() == GoalEventType.TOOL_RESULT) {
                toolResults.add(e);
              }
            });
        assertThat(toolResults)
            .singleElement()
            .satisfies(
                e -> {
                  assertThat(e.data().path("worker").asText()).isEqualTo("human:ops@example.com");
                  assertThat(e.summary()).contains("Friday after 5");
                });
      }
    }
  }

  /**
   * Tenants on a real broker: tenant {@code a}, whose cost budget its first goal spends, and tenant
   * {@code b}, whose budget is large. Once a's total reached its budget (tenant-totals, read
   * committed), every further goal of a ends {@code budget_exhausted} naming the tenant's budget,
   * while all of b's goals, submitted at the same time, succeed; goals name their tenant in the
   * field or in the header, with kcat and with the Java client.
   */
  @Test
  void shouldStopATenantAtItsCostBudgetAndFinishTheOthersGoals(KafkaCluster kafka)
      throws Exception {
    try (SimulatedLlmServer llm =
        new SimulatedLlmServer(SimulatedLlmServer.Settings.defaults()).start()) {
      TestDeployment deployment =
          TestDeployment.create(kafka, "tenants", dir)
              .withOpenAi(llm.baseUrl())
              .withOpenAiPrices(1000, 1000)
              .with(
                  Map.of(
                      "controller.tenant.a.budget.cost.usd",
                      "0.000001",
                      "controller.tenant.b.budget.cost.usd",
                      "100"));
      TopicCatalog catalog = deployment.catalog();
      String goals = catalog.spec(TopicRole.GOALS).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app = started(deployment, observability);
          KafkaProducer<String, String> producer = producer(kafka)) {
        // a's first goal: nothing spent yet, so it runs, and its cost reaches a's budget.
        Kcat.produce(kafka.bootstrapServers(), goals, List.of(goal("a1", "a")));
        await().atMost(Duration.ofSeconds(60)).until(() -> results(kafka, catalog).size() == 1);
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    totals(kafka, catalog).stream()
                        .anyMatch(t -> t.tenant().equals("a") && t.costUsd() >= 0.000001));
        // Then goals of both tenants at once: a's by field and by header with kcat, b's by field
        // with kcat and by header with the Java client.
        Kcat.produce(kafka.bootstrapServers(), goals, List.of(goal("a2", "a"), goal("a3", "a")));
        Kcat.produce(
            kafka.bootstrapServers(),
            goals,
            List.of(goal("a4", null), goal("a5", null)),
            Map.of(dev.llmstreams.events.Goal.TENANT_HEADER, "a"));
        Kcat.produce(kafka.bootstrapServers(), goals, List.of(goal("b1", "b"), goal("b2", "b")));
        for (String id : List.of("b3", "b4")) {
          ProducerRecord<String, String> r =
              new ProducerRecord<>(goals, id, goal(id, null).getValue());
          r.headers()
              .add(
                  dev.llmstreams.events.Goal.TENANT_HEADER,
                  "b".getBytes(java.nio.charset.StandardCharsets.UTF_8));
          producer.send(r).get();
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> results(kafka, catalog).size() >= 9);
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(10))
            .until(() -> results(kafka, catalog).size() == 9);
        Map<String, GoalResult> byGoal = new java.util.TreeMap<>();
        for (GoalResult r : results(kafka, catalog)) {
          assertThat(byGoal.put(r.goalId(), r)).as("one result for %s", r.goalId()).isNull();
        }
        assertThat(byGoal).containsOnlyKeys("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4");
        assertThat(byGoal.get("a1").status()).isEqualTo(GoalStatus.SUCCEEDED);
        for (String id : List.of("a2", "a3", "a4", "a5")) {
          GoalResult r = byGoal.get(id);
          assertThat(r.status()).as(id).isEqualTo(GoalStatus.BUDGET_EXHAUSTED);
          assertThat(r.reason())
              .as(id)
              .startsWith("tenant a's budget is spent: $")
              .contains("controller.tenant.a.budget.cost.usd");
          assertThat(r.steps()).as("%s made no LLM call", id).isZero();
        }
        for (String id : List.of("b1", "b2", "b3", "b4")) {
          assertThat(byGoal.get(id).status()).as(id).isEqualTo(GoalStatus.SUCCEEDED);
        }
        assertThat(
                observability
                    .registry()
                    .get("llmstreams.controller.goals.finished")
                    .tag("tenant", "a")
                    .tag("status", "budget_exhausted")
                    .counter()
                    .count())
            .isEqualTo(4.0);
        assertThat(
                observability
                    .registry()
                    .get("llmstreams.controller.goals.finished")
                    .tag("tenant", "b")
                    .tag("status", "succeeded")
                    .counter()
                    .count())
            .isEqualTo(4.0);
      }
    }
  }

  /** The gateway, controller and tools of {@code deployment}, started and ready. */
  private static LlmStreamsApp started(TestDeployment deployment, Observability observability)
      throws Exception {
    return deployment.start(
        observability, List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
  }

  private static KafkaProducer<String, String> producer(KafkaCluster kafka) {
    return new KafkaProducer<>(
        kafka.producerProps(), new StringSerializer(), new StringSerializer());
  }

  /** A goal without tools (one LLM turn), of {@code tenant} in its field (null: none). */
  private static Map.Entry<String, String> goal(String id, String tenant) {
    return Map.entry(
        id,
        "{\"goalId\":\""
            + id
            + "\",\"goal\":\"Say hello\",\"tools\":[]"
            + (tenant == null ? "" : ",\"tenant\":\"" + tenant + "\"")
            + "}");
  }

  private static List<dev.llmstreams.events.TenantTotal> totals(
      KafkaCluster kafka, TopicCatalog catalog) {
    return CommittedReads.values(
        kafka,
        catalog.spec(TopicRole.TENANT_TOTALS).name(),
        dev.llmstreams.events.TenantTotal.class);
  }

  private static List<GoalEventType> events(KafkaCluster kafka, TopicCatalog catalog, String id) {
    List<GoalEventType> out = new ArrayList<>();
    CommittedReads.eachValue(
        kafka,
        catalog.spec(TopicRole.GOAL_EVENTS).name(),
        GoalEvent.class,
        e -> {
          if (e.goalId().equals(id)) {
            out.add(e.type());
          }
        });
    return out;
  }

  private static List<GoalResult> results(KafkaCluster kafka, TopicCatalog catalog) {
    return CommittedReads.values(
        kafka, catalog.spec(TopicRole.GOAL_RESULTS).name(), GoalResult.class);
  }
}
