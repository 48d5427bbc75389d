package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
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
          LlmStreamsApp app =
              new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability);
          KafkaProducer<String, String> producer =
              new KafkaProducer<>(
                  kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
        assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
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
          LlmStreamsApp app =
              new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability)) {
        app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
        assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
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
          LlmStreamsApp app =
              new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability)) {
        app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
        assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
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
