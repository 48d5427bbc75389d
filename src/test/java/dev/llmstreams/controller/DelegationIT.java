package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChildGoal;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.Usage;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.CommittedReads;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subagents on a real broker, produced with kcat and the Java client and read committed: a goal
 * that delegates three children in one step ends {@code succeeded} with their results and their
 * spend summed, and the children ran in parallel (their times add up to more than the parent's); a
 * parent cancelled while its children wait for a slow tool leaves no child running; and a SIGKILL
 * of the app in the middle of a fan-out leaves exactly one result per parent and per child, and no
 * child goal started twice.
 *
 * <p>The simulated LLM calls the first tool it is offered: {@code delegate} for a parent (three
 * parallel calls, each handing on {@code http_get}), {@code http_get} for a child, whose worker
 * fetches from a loopback server that answers after {@code slowMs}; the children of a parent this
 * test cancels hand on {@code publish} instead, whose calls wait for an approval that never comes.
 */
@WithKafka
class DelegationIT {
  private static final int CHILDREN = 3;

  @TempDir Path dir;
  private HttpServer slow;
  private volatile long slowMs = 600;

  @BeforeEach
  void startSlowServer() throws Exception {
    slow = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    slow.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    slow.createContext(
        "/",
        exchange -> {
          try {
            Thread.sleep(slowMs);
            byte[] body = "{\"price\":10}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } finally {
            exchange.close();
          }
        });
    slow.start();
  }

  @AfterEach
  void stopSlowServer() {
    slow.stop(0);
  }

  /**
   * Three delegate calls for a parent; for a child, a fetch; for doomed's, a publish held for an
   * approval that never comes.
   */
  private SimulatedLlmServer.ToolScript script() {
    String base = "http://127.0.0.1:" + slow.getAddress().getPort();
    return (tool, messages) -> {
      String task = messages.path(1).path("content").asText();
      if (tool.equals("delegate")) {
        var calls = Json.tree("[]");
        for (int i = 0; i < CHILDREN; i++) {
          ((com.fasterxml.jackson.databind.node.ArrayNode) calls)
              .addObject()
              .put("task", "Part " + i + " of: " + task)
              .putArray("tools")
              .add(task.contains("doomed") ? "publish" : "http_get");
        }
        return calls;
      }
      if (tool.equals("publish")) {
        return Json.tree("{\"topic\":\"news\",\"record\":{\"n\":1}}");
      }
      if (tool.equals("http_get")) {
        return Json.tree("{\"url\":\"" + base + "/price" + "\"}");
      }
      return null;
    };
  }

  private static TestDeployment deployment(
      KafkaCluster kafka, String name, Path dir, SimulatedLlmServer llm) throws Exception {
    return TestDeployment.create(kafka, name, dir)
        .withOpenAi(llm.baseUrl())
        .with(
            Map.of(
                AppConfig.TOOLS_HTTP_ALLOWED_HOSTS,
                "127.0.0.1",
                AppConfig.TOOLS_HTTP_TIMEOUT_MS,
                "60000",
                AppConfig.provider("openai", "price.input.per.mtok"),
                "0.15",
                AppConfig.provider("openai", "price.output.per.mtok"),
                "0.6",
                AppConfig.CONTROLLER_TICK_MS,
                "100"));
  }

  private static String goalJson(String id, String text) {
    return "{\"goalId\":\""
        + id
        + "\",\"goal\":\""
        + text
        + "\",\"tools\":[\"delegate\",\""
        + (text.contains("doomed") ? "publish" : "http_get")
        + "\"]}";
  }

  @Test
  void shouldRunThreeChildrenInParallelSumTheirSpendAndCancelThemWithTheirParent(KafkaCluster kafka)
      throws Exception {
    try (SimulatedLlmServer llm =
        new SimulatedLlmServer(
                SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofMillis(400)))
            .start()) {
      llm.withToolScript(script());
      TestDeployment deployment = deployment(kafka, "fan", dir, llm);
      TopicCatalog catalog = deployment.catalog();
      String goals = catalog.spec(TopicRole.GOALS).name();
      try (Observability observability = new Observability();
          LlmStreamsApp app =
              deployment.start(
                  observability,
                  List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
          KafkaProducer<String, String> producer =
              new KafkaProducer<>(
                  kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        Kcat.produce(
            kafka.bootstrapServers(),
            goals,
            List.of(Map.entry("fan-1", goalJson("fan-1", "Compare three vendors"))));
        producer
            .send(new ProducerRecord<>(goals, "fan-2", goalJson("fan-2", "Compare three banks")))
            .get();
        int total = 2 * (1 + CHILDREN);
        await()
            .atMost(Duration.ofSeconds(90))
            .until(
                () ->
                    values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class).size()
                        >= total);

        List<GoalResult> results = values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class);
        Map<String, GoalResult> byId = byId(results);
        assertThat(results).as("one result per goal").hasSize(total).hasSameSizeAs(byId.values());
        for (String parentId : List.of("fan-1", "fan-2")) {
          GoalResult parent = byId.get(parentId);
          assertThat(parent.status()).isEqualTo(GoalStatus.SUCCEEDED);
          assertThat(parent.children()).hasSize(CHILDREN);
          List<GoalResult> children =
              parent.children().stream().map(c -> byId.get(c.goalId())).toList();
          assertThat(children)
              .allSatisfy(
                  c -> {
                    assertThat(c.status()).isEqualTo(GoalStatus.SUCCEEDED);
                    assertThat(c.parentGoalId()).isEqualTo(parentId);
                    assertThat(c.steps()).as("a fetch, then the answer").isEqualTo(2);
                  });
          // The parent's view of each child is the child's own result.
          for (ChildGoal c : parent.children()) {
            assertThat(c.status()).isEqualTo(GoalStatus.SUCCEEDED);
            assertThat(c.usage()).isEqualTo(byId.get(c.goalId()).usage());
            assertThat(c.costUsd()).isCloseTo(byId.get(c.goalId()).costUsd(), within(1e-12));
          }
          Usage sum = parent.usage();
          double cost = parent.costUsd();
          for (GoalResult c : children) {
            sum = sum.plus(c.usage());
            cost += c.costUsd();
          }
          assertThat(parent.totalUsage()).isEqualTo(sum);
          assertThat(parent.totalCostUsd()).isCloseTo(cost, within(1e-12));
          assertThat(cost).isGreaterThan(parent.costUsd());
          long childTime = children.stream().mapToLong(GoalResult::durationMs).sum();
          System.out.printf(
              "delegation: %s took %d ms; its %d children %d ms in all%n",
              parentId, parent.durationMs(), CHILDREN, childTime);
          assertThat(childTime)
              .as(
                  "children of one step run in parallel: their times add up to more than the parent's")
              .isGreaterThan(parent.durationMs());
        }
        // GET /goals/{id} shows the tree and its spend.
        JsonNode view = get(app, "/goals/fan-1");
        assertThat(view.path("status").asText()).isEqualTo("succeeded");
        assertThat(view.path("result").path("children")).hasSize(CHILDREN);
        assertThat(view.path("result").path("totalCostUsd").asDouble())
            .isCloseTo(byId.get("fan-1").totalCostUsd(), within(1e-12));

        // A parent cancelled while its children wait for approvals that never come.
        Kcat.produce(
            kafka.bootstrapServers(),
            goals,
            List.of(Map.entry("doomed", goalJson("doomed", "Compare doomed vendors"))));
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    values(kafka, catalog, TopicRole.GOAL_EVENTS, GoalEvent.class).stream()
                            .filter(e -> e.goalId().startsWith("doomed/"))
                            .filter(e -> e.type() == GoalEventType.APPROVAL_REQUESTED)
                            .count()
                        == CHILDREN);
        Kcat.produce(
            kafka.bootstrapServers(),
            catalog.spec(TopicRole.GOAL_CANCELLATIONS).name(),
            List.of(
                Map.entry(
                    "doomed",
                    "{\"goalId\":\"doomed\",\"reason\":\"not needed\",\"by\":\"ops@example.com\"}")));
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class).size()
                        >= total + 1 + CHILDREN);
        Map<String, GoalResult> after =
            byId(values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class));
        assertThat(after.get("doomed").status()).isEqualTo(GoalStatus.CANCELLED);
        for (int i = 0; i < CHILDREN; i++) {
          String child = "doomed/1/" + i;
          assertThat(after.get(child).status()).isEqualTo(GoalStatus.CANCELLED);
          assertThat(after.get(child).reason())
              .startsWith(
                  "cancelled by controller (parent doomed): the parent goal doomed ended cancelled");
          assertThat(get(app, "/goals/" + child.replace("/", "%2F")).path("status").asText())
              .as("no child left running")
              .isEqualTo("cancelled");
        }
        assertThat(
                observability
                    .registry()
                    .get("llmstreams.controller.child.goals")
                    .tag("event", "cancelled_by_parent")
                    .counter()
                    .count())
            .isEqualTo(CHILDREN);
      }
    }
  }

  @Test
  void shouldLeaveOneResultPerGoalAndStartNoChildTwiceAcrossASigkillMidFanOut(KafkaCluster kafka)
      throws Exception {
    slowMs = 1_500; // the children's fetches keep the fan-out open long enough to kill into
    try (SimulatedLlmServer llm =
        new SimulatedLlmServer(
                SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofMillis(300)))
            .start()) {
      llm.withToolScript(script());
      TestDeployment deployment = deployment(kafka, "fankill", dir, llm);
      deployment.with(TestDeployment.SHORT_SESSIONS);
      TopicCatalog catalog = deployment.catalog();
      Path config = ChildJvm.writeConfig(dir.resolve("app.properties"), deployment.settings());
      List<String> parents = List.of("k1", "k2", "k3", "k4");
      Process first = ChildJvm.runApp(dir, "first", config, "gateway,controller,tools");
      try {
        Kcat.produce(
            kafka.bootstrapServers(),
            catalog.spec(TopicRole.GOALS).name(),
            parents.stream()
                .map(id -> Map.entry(id, goalJson(id, "Compare vendors " + id)))
                .toList());
        // Killed once children have started and before the parents have finished.
        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () ->
                    values(kafka, catalog, TopicRole.GOAL_EVENTS, GoalEvent.class).stream()
                            .filter(e -> e.type() == GoalEventType.TOOL_CALLED)
                            .filter(e -> e.goalId().contains("/"))
                            .count()
                        >= 4);
        first.destroyForcibly(); // SIGKILL: no shutdown hook, no commit
        first.waitFor();
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError("no fan-out in the first app; its log ends:\n" + tail("first"), e);
      } finally {
        first.destroyForcibly();
      }
      int parentsAtKill =
          (int)
              values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class).stream()
                  .filter(r -> r.parentGoalId() == null)
                  .count();
      Process second = ChildJvm.runApp(dir, "second", config, "gateway,controller,tools");
      int total = parents.size() * (1 + CHILDREN);
      try {
        await()
            .atMost(Duration.ofSeconds(180))
            .until(
                () ->
                    byId(values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class)).size()
                        >= total);
        // a little longer: no late duplicate may arrive
        await()
            .during(Duration.ofSeconds(3))
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class).size()
                        == total);
      } finally {
        second.destroy();
        second.waitFor();
      }
      System.out.printf(
          "delegation hard kill: %d of %d parents had finished at the kill%n",
          parentsAtKill, parents.size());
      assertThat(parentsAtKill)
          .as("the kill fell in the middle of the fan-out")
          .isLessThan(parents.size());
      List<GoalResult> results = values(kafka, catalog, TopicRole.GOAL_RESULTS, GoalResult.class);
      Map<String, GoalResult> byId = byId(results);
      assertThat(results).hasSize(total).hasSameSizeAs(byId.values());
      assertThat(parents)
          .allSatisfy(p -> assertThat(byId.get(p).status()).isEqualTo(GoalStatus.SUCCEEDED));
      assertThat(results).allSatisfy(r -> assertThat(r.status()).isEqualTo(GoalStatus.SUCCEEDED));
      // No child started twice: one committed child goal record and one goal_received each.
      Map<String, Long> childGoals =
          values(kafka, catalog, TopicRole.GOALS, Goal.class).stream()
              .filter(g -> g.parent() != null)
              .collect(Collectors.groupingBy(Goal::goalId, Collectors.counting()));
      assertThat(childGoals).hasSize(parents.size() * CHILDREN);
      assertThat(childGoals.values()).containsOnly(1L);
      Map<String, Long> received =
          values(kafka, catalog, TopicRole.GOAL_EVENTS, GoalEvent.class).stream()
              .filter(e -> e.type() == GoalEventType.GOAL_RECEIVED)
              .collect(Collectors.groupingBy(GoalEvent::goalId, Collectors.counting()));
      assertThat(received).hasSize(total);
      assertThat(received.values()).containsOnly(1L);
    }
  }

  private String tail(String name) throws java.io.IOException {
    List<String> lines = java.nio.file.Files.readAllLines(dir.resolve(name + ".log"));
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private static Map<String, GoalResult> byId(List<GoalResult> results) {
    return results.stream()
        .collect(
            Collectors.toMap(GoalResult::goalId, Function.identity(), (a, b) -> a, HashMap::new));
  }

  private static JsonNode get(LlmStreamsApp app, String path) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
    return Json.tree(response.body());
  }

  private static <V> List<V> values(
      KafkaCluster kafka, TopicCatalog catalog, TopicRole role, Class<V> type) {
    return CommittedReads.values(kafka, catalog.spec(role).name(), type);
  }
}
