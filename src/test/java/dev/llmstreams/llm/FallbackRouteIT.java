package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ToolCallRequest;
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
 * Routes on a real broker. A route with a fallback: the controller's route is {@code
 * openai,offline}, and the OpenAI-compatible server answers every call with HTTP 500. Every goal
 * still finishes, on the offline engine; the replies (read committed) say which provider answered
 * and why, the first provider's circuit opens, and the fallbacks are metered by how the first
 * provider failed. A cheap model first and a stronger one for repairs: the cheap model's tool call
 * fails the guards, the repair turn goes to the strong model, the turn after it to the cheap one.
 */
@WithKafka
class FallbackRouteIT {
  private static final int GOALS = 12;

  @TempDir Path dir;

  @Test
  void shouldFinishEveryGoalOnTheFallbackWhileTheFirstProviderIsDown(KafkaCluster kafka)
      throws Exception {
    try (SimulatedLlmServer down =
        new SimulatedLlmServer(SimulatedLlmServer.Settings.defaults().withErrorRate(1.0)).start()) {
      TestDeployment deployment =
          TestDeployment.create(kafka, "fallback", dir)
              .withOpenAi(down.baseUrl())
              .with(
                  Map.of(
                      AppConfig.route("controller"),
                      "openai,offline",
                      AppConfig.LLM_RETRY_MAX_ATTEMPTS,
                      "2",
                      AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS,
                      "10",
                      AppConfig.LLM_CIRCUIT_MINIMUM_CALLS,
                      "4",
                      AppConfig.LLM_CIRCUIT_OPEN_MS,
                      "600000"));
      TopicCatalog catalog = deployment.catalog();
      String goals = catalog.spec(TopicRole.GOALS).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app = goalsApp(deployment, observability);
          KafkaProducer<String, String> producer =
              new KafkaProducer<>(
                  kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        assertThat(app.awaitReady(Duration.ofSeconds(90))).isTrue();
        List<Map.Entry<String, String>> byKcat = new ArrayList<>();
        for (int i = 0; i < GOALS; i++) {
          String id = "f-" + i;
          String goal =
              "{\"goalId\":\""
                  + id
                  + "\",\"goal\":\"What is "
                  + i
                  + " * 7? Compute "
                  + i
                  + " * 7.\",\"tools\":[\"calculator\"]}";
          if (i % 2 == 0) {
            byKcat.add(Map.entry(id, goal));
          } else {
            producer.send(new ProducerRecord<>(goals, id, goal));
          }
        }
        producer.flush();
        Kcat.produce(kafka.bootstrapServers(), goals, byKcat);
        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () ->
                    CommittedReads.values(
                                kafka,
                                catalog.spec(TopicRole.GOAL_RESULTS).name(),
                                GoalResult.class)
                            .size()
                        == GOALS);
        List<GoalResult> results =
            CommittedReads.values(
                kafka, catalog.spec(TopicRole.GOAL_RESULTS).name(), GoalResult.class);
        assertThat(results)
            .allSatisfy(
                r -> {
                  assertThat(r.status()).as(r.reason()).isEqualTo(GoalStatus.SUCCEEDED);
                  assertThat(r.answer())
                      .contains(String.valueOf(Integer.parseInt(r.goalId().substring(2)) * 7));
                  assertThat(r.provenance().models()).allMatch(m -> m.startsWith("offline/"));
                });
        List<LlmReply> replies =
            CommittedReads.values(
                kafka, catalog.spec(TopicRole.CONTROLLER_LLM_REPLIES).name(), LlmReply.class);
        assertThat(replies).hasSize(GOALS * 2);
        assertThat(replies)
            .allSatisfy(
                r -> {
                  assertThat(r.provider()).isEqualTo("offline");
                  assertThat(r.fallback()).isNotNull();
                  assertThat(r.fallback().from()).isEqualTo("openai");
                });
        // The first calls met HTTP 500s (provider_error once their retries were spent, or
        // circuit_open when the circuit opened between their attempts, as it does when several are
        // in flight); once the circuit was open, the rest went to the fallback at once.
        assertThat(replies)
            .extracting(r -> r.fallback().code())
            .allMatch(c -> c == LlmError.Code.PROVIDER_ERROR || c == LlmError.Code.CIRCUIT_OPEN)
            .contains(LlmError.Code.CIRCUIT_OPEN);
        double fallbacks =
            observability
                .registry()
                .find("llmstreams.llm.fallbacks")
                .tag("from", "openai")
                .tag("to", "offline")
                .counters()
                .stream()
                .mapToDouble(c -> c.count())
                .sum();
        assertThat(fallbacks).isEqualTo(GOALS * 2.0);
        long openCalls = down.stats().calls();
        assertThat(openCalls)
            .as(
                "calls that reached the failing server: enough to open the circuit"
                    + " (llm.circuit.minimum.calls), far fewer than two per reply")
            .isGreaterThanOrEqualTo(4)
            .isLessThan(GOALS * 2L * 2L);
      }
    }
  }

  private static final String CHEAP = "cheap-1";
  private static final String STRONG = "strong-1";

  @Test
  void shouldRetryATurnWhoseToolCallFailsTheGuardsOnceOnTheStrongerModel(KafkaCluster kafka)
      throws Exception {
    int goalCount = 4;
    try (ScriptedLlmServer llm = ScriptedLlmServer.start()) {
      llm.setDefault(r -> ScriptedLlmServer.Reply.json(cheapOrStrong(r.json())));
      Map<String, String> routes =
          Map.of(
              AppConfig.route("controller"),
              "openai:" + CHEAP,
              AppConfig.route(AppConfig.CONTROLLER_REPAIR),
              "openai:" + STRONG);
      TestDeployment deployment =
          TestDeployment.create(kafka, "repair-route", dir)
              .withOpenAi(llm.openAiBaseUrl())
              .with(routes);
      TopicCatalog catalog = deployment.catalog();
      try (Observability observability = new Observability();
          LlmStreamsApp app = goalsApp(deployment, observability)) {
        assertThat(app.awaitReady(Duration.ofSeconds(90))).isTrue();
        List<Map.Entry<String, String>> goals = new ArrayList<>();
        for (int i = 0; i < goalCount; i++) {
          String id = "r-" + i;
          goals.add(
              Map.entry(
                  id,
                  "{\"goalId\":\""
                      + id
                      + "\",\"goal\":\"Goal "
                      + id
                      + ": what is "
                      + i
                      + " * 7?\",\"tools\":[\"calculator\"]}"));
        }
        Kcat.produce(kafka.bootstrapServers(), catalog.spec(TopicRole.GOALS).name(), goals);
        String resultsTopic = catalog.spec(TopicRole.GOAL_RESULTS).name();
        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () ->
                    CommittedReads.values(kafka, resultsTopic, GoalResult.class).size()
                        == goalCount);
        assertThat(CommittedReads.values(kafka, resultsTopic, GoalResult.class))
            .allSatisfy(
                r -> {
                  assertThat(r.status()).as(r.reason()).isEqualTo(GoalStatus.SUCCEEDED);
                  assertThat(r.answer())
                      .contains(String.valueOf(Integer.parseInt(r.goalId().substring(2)) * 7));
                  assertThat(r.provenance().models())
                      .containsExactlyInAnyOrder("openai/" + CHEAP, "openai/" + STRONG);
                });
        // At the server: per goal, the cheap model's failing call and its final answer, and
        // exactly one call of the strong model, for the repair.
        Map<String, List<String>> modelsByGoal = new java.util.TreeMap<>();
        for (ScriptedLlmServer.RecordedRequest r : llm.requests()) {
          modelsByGoal
              .computeIfAbsent(ScriptedLlmServer.goalIdOf(r.json()), g -> new ArrayList<>())
              .add(r.json().path("model").asText());
        }
        assertThat(modelsByGoal).hasSize(goalCount);
        assertThat(modelsByGoal.values())
            .allSatisfy(m -> assertThat(m).containsExactly(CHEAP, STRONG, CHEAP));
        List<GoalEvent> asked =
            CommittedReads.values(
                    kafka, catalog.spec(TopicRole.GOAL_EVENTS).name(), GoalEvent.class)
                .stream()
                .filter(e -> e.type() == GoalEventType.LLM_REQUESTED)
                .filter(e -> e.data().path("purpose").asText().equals(AppConfig.CONTROLLER_REPAIR))
                .toList();
        assertThat(asked)
            .hasSize(goalCount)
            .allSatisfy(
                e ->
                    assertThat(e.summary())
                        .endsWith("as controller.repair: the calls of step 1 failed the guards"));
      }
    }
  }

  /**
   * The cheap model asks for the calculator without its expression, then answers with the tool's
   * result; the strong model asks for it as it should.
   */
  private static com.fasterxml.jackson.databind.JsonNode cheapOrStrong(
      com.fasterxml.jackson.databind.JsonNode request) {
    String goal = ScriptedLlmServer.goalIdOf(request);
    String expression = goal.substring(2) + " * 7";
    String model = request.path("model").asText();
    com.fasterxml.jackson.databind.node.ObjectNode body;
    if (model.equals(STRONG)) {
      body =
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_ok", "calculator", Json.tree("{\"expression\":\"" + expression + "\"}")));
    } else if (ScriptedLlmServer.assistantTurns(request) == 0) {
      body =
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_bad", "calculator", Json.tree("{\"expr\":\"" + expression + "\"}")));
    } else {
      body =
          ScriptedLlmServer.openAiText(
              "It is " + ScriptedLlmServer.lastToolResults(request).get(0));
    }
    return body.put("model", model); // as a provider names the model that answered
  }

  /** The gateway, the controller and the tools of {@code deployment}, starting. */
  private static LlmStreamsApp goalsApp(TestDeployment deployment, Observability observability)
      throws Exception {
    LlmStreamsApp app =
        new LlmStreamsApp(AppConfig.of(deployment.settings()), deployment.catalog(), observability);
    try {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      return app;
    } catch (Exception e) {
      app.close();
      throw e;
    }
  }
}
