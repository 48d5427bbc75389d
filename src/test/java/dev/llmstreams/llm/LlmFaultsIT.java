package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.llm.sim.SimulatedLlmServer.Faults;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.RecordLog;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.Gauge;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults from the LLM side, through the simulated provider over real HTTP, with the gateway, the
 * controller, the summarizer and the tool workers on a real broker. The simulator's faults are
 * switched while the app runs: a 5xx storm (the circuit opens), calm (it closes), 429s with
 * Retry-After (honoured), then a mix of 5xx, 429, malformed bodies, hangs, answers that never end
 * and tool calls whose arguments are not JSON, then calm again. Every goal ends with one status (a
 * failure says why), every document is summarized or its failed chunk is in dead-letters, and
 * nothing stays in flight.
 */
@WithKafka
class LlmFaultsIT {
  private static final JsonSerde<Goal> GOALS = JsonSerde.of(Goal.class);
  private static final JsonSerde<Document> DOCUMENTS = JsonSerde.of(Document.class);
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<Synthesis> SYNTHESES = JsonSerde.of(Synthesis.class);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final int TIMEOUT_MS = 500;
  private static final int ATTEMPTS = 3;
  private static final Duration RETRY_AFTER = Duration.ofSeconds(2);

  @TempDir Path dir;

  @Test
  void shouldEndEveryGoalOpenAndCloseTheCircuitHonourRetryAfterAndLeaveNothingInFlight(
      KafkaCluster kafka) throws Exception {
    TestDeployment deployment = TestDeployment.create(kafka, "llmfaults", dir);
    TopicCatalog catalog = deployment.catalog();
    try (SimulatedLlmServer sim =
        new SimulatedLlmServer(
                SimulatedLlmServer.Settings.defaults()
                    .withLatency(Duration.ofMillis(20))
                    .withSeed(42))
            .start()) {
      Map<String, String> settings =
          deployment
              .with(
                  Map.ofEntries(
                      Map.entry(AppConfig.LLM_ROUTE_DEFAULT, "openai"),
                      Map.entry(AppConfig.provider("openai", "base.url"), sim.baseUrl().toString()),
                      Map.entry(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret"),
                      Map.entry(AppConfig.provider("openai", "model"), "simulated"),
                      Map.entry(
                          AppConfig.provider("openai", "timeout.ms"), Integer.toString(TIMEOUT_MS)),
                      Map.entry(AppConfig.LLM_RETRY_MAX_ATTEMPTS, Integer.toString(ATTEMPTS)),
                      // Far below Retry-After: a wait of Retry-After between attempts can only come
                      // from the header.
                      Map.entry(AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS, "10"),
                      Map.entry(AppConfig.LLM_RETRY_MAX_BACKOFF_MS, "5000"),
                      Map.entry(AppConfig.LLM_CIRCUIT_MINIMUM_CALLS, "6"),
                      Map.entry(AppConfig.LLM_CIRCUIT_FAILURE_RATE, "50"),
                      Map.entry(AppConfig.LLM_CIRCUIT_OPEN_MS, "1500"),
                      Map.entry(AppConfig.CONTROLLER_TICK_MS, "100"),
                      Map.entry(AppConfig.SUMMARIZER_WINDOW_MS, "0"),
                      Map.entry(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "0"),
                      Map.entry(AppConfig.SUMMARIZER_MERGE_FAN_IN, "2"),
                      Map.entry(AppConfig.SUMMARIZER_CHUNK_TOKENS, "40"),
                      Map.entry(AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS, "0")))
              .settings();
      String goals = catalog.spec(TopicRole.GOALS).name();
      String documents = catalog.spec(TopicRole.DOCUMENTS).name();
      String results = catalog.spec(TopicRole.GOAL_RESULTS).name();
      String events = catalog.spec(TopicRole.GOAL_EVENTS).name();
      String syntheses = catalog.spec(TopicRole.SYNTHESES).name();
      String deadLetters = catalog.spec(TopicRole.DEAD_LETTERS).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
          RecordLog log = new RecordLog(kafka, List.of(results, events, syntheses, deadLetters));
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
        app.start(
            List.of(
                new GatewayModule(),
                new ControllerModule(),
                new SummarizerModule(),
                new ToolsModule()));
        await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
        Gauge circuit =
            observability
                .registry()
                .get("llmstreams.llm.circuit.state")
                .tag("provider", "openai")
                .gauge();
        Gauge inFlight =
            observability
                .registry()
                .get("llmstreams.llm.inflight")
                .tag("provider", "openai")
                .gauge();
        List<String> sent = new ArrayList<>();
        Phases phases = new Phases(producer, goals, documents, sent);

        // 1. A 5xx storm: every call fails, the circuit opens, the goals fail and say why.
        sim.setFaults(Faults.none().withErrorRate(1.0));
        List<String> storm = phases.goals("storm", 6);
        await().atMost(Duration.ofSeconds(30)).until(() -> circuit.value() == 1.0);
        Map<String, GoalResult> stormResults = awaitResults(log, results, storm);
        assertThat(stormResults.values())
            .allSatisfy(
                r -> {
                  assertThat(r.status()).isEqualTo(GoalStatus.FAILED);
                  assertThat(r.reason()).containsAnyOf("provider_error", "circuit_open");
                });
        assertThat(stormResults.values())
            .anySatisfy(r -> assertThat(r.reason()).contains("circuit_open"));

        // 2. Calm: the circuit half-opens after llm.circuit.open.ms, its trial calls succeed, it
        // closes.
        sim.setFaults(Faults.none());
        await().atMost(Duration.ofSeconds(10)).until(() -> circuit.value() != 1.0);
        // One goal at a time: the half-open circuit lets a few trial calls through, and their
        // success closes it.
        probeUntilClosed(phases, log, results, circuit, "probe");
        assertThat(circuit.value()).isEqualTo(0.0);
        List<String> calm = phases.goals("calm", 4);
        List<String> calmDocs = phases.documents("calm-key", 3);
        assertThat(awaitResults(log, results, calm).values())
            .allSatisfy(r -> assertThat(r.status()).isEqualTo(GoalStatus.SUCCEEDED));
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> covered(log, syntheses, "calm-key").containsAll(calmDocs));

        // 3. 429 with Retry-After: the gateway waits what the provider asked between attempts, then
        // gives up.
        sim.setFaults(Faults.none().withRateLimitRate(1.0).withRetryAfter(RETRY_AFTER));
        String limited = phases.goals("limited", 1).get(0);
        GoalResult limitedResult = awaitResults(log, results, List.of(limited)).get(limited);
        assertThat(limitedResult.status()).isEqualTo(GoalStatus.FAILED);
        assertThat(limitedResult.reason()).contains("rate_limited after " + ATTEMPTS + " attempts");
        long latencyMs =
            events(log, events, limited).stream()
                .filter(e -> e.type() == GoalEventType.LLM_REPLIED)
                .mapToLong(e -> e.data().path("latencyMs").asLong())
                .max()
                .orElseThrow();
        // Two waits between three attempts; with the configured 10 ms backoff alone it would be a
        // few ms.
        assertThat(latencyMs).isGreaterThanOrEqualTo((ATTEMPTS - 1) * RETRY_AFTER.toMillis());

        // 4. A mix: 5xx, 429, malformed bodies, hangs, endless answers, tool calls whose arguments
        // are not JSON.
        sim.setFaults(new Faults(0.08, 0.08, 0.08, 0.08, 0.08, 0.08, Duration.ofSeconds(1)));
        long callsBefore = sim.stats().calls();
        List<String> mixed = phases.goals("mixed", 16);
        List<String> mixedDocs = phases.documents("mixed-key", 6);
        Map<String, GoalResult> mixedResults = awaitResults(log, results, mixed);
        assertThat(mixedResults.values())
            .allSatisfy(
                r -> {
                  assertThat(r.status()).isNotNull();
                  if (r.status() != GoalStatus.SUCCEEDED) {
                    assertThat(r.reason()).isNotBlank();
                  }
                });
        SimulatedLlmServer.Stats stats = sim.stats();
        System.out.printf(
            "LLM faults: %d calls in the mix; %s; goal statuses %s%n",
            stats.calls() - callsBefore,
            stats.toJson(),
            mixedResults.values().stream()
                .collect(Collectors.groupingBy(GoalResult::status, Collectors.counting())));
        assertThat(stats.hangs()).isPositive();
        assertThat(stats.endless()).isPositive();
        assertThat(stats.malformed()).isPositive();
        assertThat(stats.badToolCalls()).isPositive();
        // Each document is in a synthesis, or the chunk that failed is in dead-letters with the
        // reason. A hung call holds its chunk until the gateway's timeout: on two busy cores this
        // took over 30 s once.
        await()
            .atMost(Duration.ofSeconds(120))
            .untilAsserted(
                () -> {
                  Set<String> done = covered(log, syntheses, "mixed-key");
                  List<String> failedChunks =
                      log.of(deadLetters).stream()
                          .map(RecordLog::value)
                          .filter(v -> v != null)
                          .toList();
                  assertThat(mixedDocs)
                      .allSatisfy(
                          d ->
                              assertThat(
                                      done.contains(d)
                                          || failedChunks.stream()
                                              .anyMatch(v -> v.contains("/" + d + "/")))
                                  .as(d)
                                  .isTrue());
                });

        // 5. Calm again: new goals succeed, and nothing is left in flight or open.
        sim.setFaults(Faults.none());
        await().atMost(Duration.ofSeconds(20)).until(() -> circuit.value() != 1.0);
        probeUntilClosed(phases, log, results, circuit, "after");

        Map<String, GoalResult> all = awaitResults(log, results, sent);
        assertThat(log.of(results)).hasSize(sent.size()); // exactly one result per goal
        assertThat(all.keySet()).containsExactlyInAnyOrderElementsOf(sent);
        String base = "http://127.0.0.1:" + app.httpPort();
        for (String id : sent) {
          HttpResponse<String> view =
              HTTP.send(
                  HttpRequest.newBuilder(URI.create(base + "/goals/" + id)).GET().build(),
                  HttpResponse.BodyHandlers.ofString());
          assertThat(view.statusCode()).as(id).isEqualTo(200);
          JsonNode goal = Json.tree(view.body());
          assertThat(goal.path("status").asText())
              .as(id)
              .isEqualTo(all.get(id).status().name().toLowerCase());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> inFlight.value() == 0.0);
        assertThat(app.health().ready()).isTrue();
      }
    }
  }

  /**
   * Sends goals (each one calculator call, then the answer) and documents, remembering every goal
   * sent.
   */
  private record Phases(
      KafkaProducer<byte[], byte[]> producer, String goals, String documents, List<String> sent) {
    List<String> goals(String prefix, int n) throws Exception {
      List<String> ids = IntStream.range(0, n).mapToObj(i -> prefix + "-" + i).toList();
      for (String id : ids) {
        Goal goal =
            new Goal(
                id,
                "What is 1+2? (" + id + ")",
                List.of("calculator"),
                null,
                null,
                null,
                Map.of(),
                null);
        producer
            .send(new ProducerRecord<>(goals, bytes(id), GOALS.serializer().serialize(goals, goal)))
            .get();
        sent.add(id);
      }
      return ids;
    }

    List<String> documents(String key, int n) throws Exception {
      List<String> ids = IntStream.range(0, n).mapToObj(i -> key + "-doc" + i).toList();
      for (String id : ids) {
        Document doc =
            new Document(
                id,
                ("The team of "
                        + id
                        + " agreed to ship the release in March. The budget is "
                        + "twelve thousand euros. Marketing asked for a launch event. ")
                    .repeat(3),
                Instant.now(),
                Map.of());
        producer
            .send(
                new ProducerRecord<>(
                    documents, bytes(key), DOCUMENTS.serializer().serialize(documents, doc)))
            .get();
      }
      return ids;
    }
  }

  private static Map<String, GoalResult> awaitResults(
      RecordLog log, String topic, List<String> ids) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> results(log, topic).keySet().containsAll(ids));
    Map<String, GoalResult> all = results(log, topic);
    return ids.stream().collect(Collectors.toMap(id -> id, all::get));
  }

  private static Map<String, GoalResult> results(RecordLog log, String topic) {
    return log.of(topic).stream()
        .map(r -> RESULTS.deserializer().deserialize(topic, r.value()))
        .collect(Collectors.toMap(GoalResult::goalId, r -> r, (a, b) -> a));
  }

  private static List<GoalEvent> events(RecordLog log, String topic, String goalId) {
    return log.of(topic).stream()
        .map(r -> EVENTS.deserializer().deserialize(topic, r.value()))
        .filter(e -> e.goalId().equals(goalId))
        .toList();
  }

  /** The documents the syntheses of a key cover so far. */
  private static Set<String> covered(RecordLog log, String topic, String key) {
    return log.of(topic).stream()
        .filter(r -> key.equals(RecordLog.key(r)))
        .flatMap(
            r -> SYNTHESES.deserializer().deserialize(topic, r.value()).sourceDocIds().stream())
        .collect(Collectors.toSet());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Sends one goal after another until one succeeds with the circuit closed again. */
  private static void probeUntilClosed(
      Phases phases, RecordLog log, String results, Gauge circuit, String prefix) {
    List<String> probes = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              String probe = phases.goals(prefix + probes.size(), 1).get(0);
              probes.add(probe);
              return awaitResults(log, results, List.of(probe)).get(probe).status()
                      == GoalStatus.SUCCEEDED
                  && circuit.value() == 0.0;
            });
  }
}
