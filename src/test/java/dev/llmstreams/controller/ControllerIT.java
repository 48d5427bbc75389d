package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.Goal;
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
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.CommittedReads;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
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
 * The controller end to end on a real broker with the gateway, the built-in tool workers and a
 * scripted OpenAI-compatible server on loopback. The script is a function of the conversation it is
 * sent, so it answers the same way after a restart: turn 1 asks for calculator with a wrong
 * argument name (refused, fed back), turn 2 asks for two calculations at once, turn 3 asks to
 * publish (held for approval), turn 4 answers.
 */
@WithKafka
class ControllerIT {
  private static final JsonSerde<Goal> GOALS = JsonSerde.of(Goal.class);
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<ToolResult> TOOL_RESULTS = JsonSerde.of(ToolResult.class);
  private static final JsonSerde<Approval> APPROVALS = JsonSerde.of(Approval.class);
  static final String ANSWER = "12*7 = 84 and 100/8 = 12.5; the team has been told.";

  @TempDir Path dir;
  private ScriptedLlmServer server;
  private TopicCatalog catalog;
  private Map<String, String> settings;
  private KafkaCluster kafka;
  private String newsTopic;
  private Watcher watcher;

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    TestDeployment deployment = TestDeployment.create(kafka, "ctl", dir);
    catalog = deployment.catalog();
    newsTopic = deployment.prefix() + "team-news";
    server = ScriptedLlmServer.start();
    server.setDefault(
        request ->
            ScriptedLlmServer.Reply.json(script(request.json(), newsTopic))
                .withDelay(Duration.ofMillis(50)));
    kafka.admin().createTopics(List.of(new NewTopic(newsTopic, 1, (short) 1))).all().get();
    settings =
        deployment
            .with(
                Map.of(
                    AppConfig.LLM_ROUTE_DEFAULT,
                    "openai",
                    AppConfig.provider("openai", "base.url"),
                    server.openAiBaseUrl().toString(),
                    AppConfig.provider("openai", "api.key"),
                    "sk-test-not-a-secret",
                    AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS,
                    newsTopic,
                    AppConfig.CONTROLLER_TICK_MS,
                    "100"))
            .settings();
    watcher = new Watcher();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (watcher != null) {
      watcher.close();
    }
    server.close();
  }

  /**
   * The scripted LLM: what it answers depends only on how many turns the conversation already has.
   */
  static JsonNode script(JsonNode request, String newsTopic) {
    String goalId = ScriptedLlmServer.goalIdOf(request);
    return switch (ScriptedLlmServer.assistantTurns(request)) {
      case 0 ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest("call_a", "calculator", Json.tree("{\"expr\":\"12*7\"}")));
      case 1 ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest("call_b", "calculator", Json.tree("{\"expression\":\"12*7\"}")),
              new ToolCallRequest("call_c", "calculator", Json.tree("{\"expression\":\"100/8\"}")));
      case 2 ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  "call_d",
                  "publish",
                  Json.tree(
                      "{\"topic\":\""
                          + newsTopic
                          + "\",\"key\":\""
                          + goalId
                          + "\",\"record\":{\"goal\":\""
                          + goalId
                          + "\",\"total\":\"84\"}}")));
      default -> ScriptedLlmServer.openAiText(ANSWER);
    };
  }

  private Goal goal(String id) {
    return new Goal(
        id,
        "Goal " + id + ": compute 12*7 and 100/8, then tell the team the first result.",
        List.of("calculator", "publish"),
        null,
        null,
        null,
        Map.of(),
        null);
  }

  private void produceGoals(List<String> ids) throws Exception {
    String topic = catalog.spec(TopicRole.GOALS).name();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (String id : ids) {
        producer
            .send(
                new ProducerRecord<>(
                    topic,
                    id.getBytes(StandardCharsets.UTF_8),
                    GOALS.serializer().serialize(topic, goal(id))))
            .get();
      }
    }
  }

  @Test
  void shouldDriveAPlanWithARepairAParallelStepAndAnApprovalToAFinalAnswer() throws Exception {
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      // A poison goal first: it must land in dead-letters and not stop the goal after it.
      String goalsTopic = catalog.spec(TopicRole.GOALS).name();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
        producer
            .send(
                new ProducerRecord<>(
                    goalsTopic,
                    "g-bad".getBytes(StandardCharsets.UTF_8),
                    "{\"goalId\":\"g-bad\",\"goal\":".getBytes(StandardCharsets.UTF_8)))
            .get();
      }
      produceGoals(List.of("g1"));

      await().atMost(Duration.ofSeconds(90)).until(() -> watcher.results.size() >= 1);
      GoalResult result = watcher.results.get(0);
      assertThat(result.goalId()).isEqualTo("g1");
      assertThat(result.status()).isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(result.answer()).isEqualTo(ANSWER);
      assertThat(result.steps()).isEqualTo(4);
      assertThat(result.usage().inputTokens()).isEqualTo(4L * ScriptedLlmServer.INPUT_TOKENS);
      assertThat(result.provenance().models()).containsExactly("openai/" + ScriptedLlmServer.MODEL);

      // goal-results and goal-events are committed together, but the watcher may read one topic
      // before the other
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  watcher.events.stream()
                      .anyMatch(
                          e -> e.goalId().equals("g1") && e.type() == GoalEventType.FINISHED));
      List<GoalEvent> trail = watcher.events.stream().filter(e -> e.goalId().equals("g1")).toList();
      assertThat(trail)
          .extracting(GoalEvent::type)
          .containsSubsequence(
              GoalEventType.GOAL_RECEIVED,
              GoalEventType.LLM_REQUESTED,
              GoalEventType.GUARD_TRIPPED,
              GoalEventType.REPAIR_REQUESTED,
              GoalEventType.LLM_REQUESTED,
              GoalEventType.TOOL_CALLED,
              GoalEventType.TOOL_CALLED,
              GoalEventType.TOOL_RESULT,
              GoalEventType.TOOL_RESULT,
              GoalEventType.APPROVAL_REQUESTED,
              GoalEventType.APPROVAL_RECEIVED,
              GoalEventType.TOOL_CALLED,
              GoalEventType.TOOL_RESULT,
              GoalEventType.LLM_REPLIED,
              GoalEventType.FINISHED);
      assertThat(trail.stream().filter(e -> e.type() == GoalEventType.TOOL_CALLED && e.step() == 2))
          .hasSize(2);

      // What the LLM was shown: the refusal at turn 2, both results at turn 3.
      List<JsonNode> bodies =
          server.requests().stream().map(ScriptedLlmServer.RecordedRequest::json).toList();
      assertThat(bodies).hasSize(4);
      assertThat(bodies.get(1).path("messages").toString())
          .contains("not run")
          .contains("expression");
      assertThat(bodies.get(2).path("messages").toString()).contains("84").contains("12.5");
      assertThat(bodies.get(0).path("tools"))
          .extracting(t -> t.path("function").path("name").asText())
          .containsExactlyInAnyOrder("calculator", "publish");

      assertThat(watcher.news).containsExactly("g1={\"goal\":\"g1\",\"total\":\"84\"}");
      assertThat(watcher.deadLetters)
          .anySatisfy(d -> assertThat(d).contains(goalsTopic).contains("malformed JSON"));

      HttpResponse<String> view =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + app.httpPort() + "/goals/g1"))
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(view.statusCode()).isEqualTo(200);
      assertThat(Json.tree(view.body()).path("status").asText()).isEqualTo("succeeded");
      assertThat(app.health().ready()).isTrue();
    }
  }

  @Test
  void shouldFinishEveryGoalOnceAndPublishOnceAcrossAHardKill() throws Exception {
    settings.putAll(TestDeployment.SHORT_SESSIONS);
    // The product's default: the calculator answered in the controller's own transaction, publish
    // through its topic and worker, the LLM called from the controller's task (the gateway runs
    // beside it), so the kill also loses calls in flight that only the controller's store knows.
    settings.put(AppConfig.CONTROLLER_INLINE_TOOLS, "calculator");
    settings.put(AppConfig.CONTROLLER_LLM_CALLS, "direct");
    Path config = ChildJvm.writeConfig(dir.resolve("controller.properties"), settings);
    int n = 8;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add("k" + i);
    }
    Process first = ChildJvm.runApp(dir, "first", config, "gateway,controller,tools");
    try {
      produceGoals(ids);
      // Kill in the middle: some tool results are in, not every goal has finished.
      await().atMost(Duration.ofSeconds(120)).until(() -> watcher.answered().size() >= 6);
      first.destroyForcibly(); // SIGKILL: no shutdown hook, no commit
      first.waitFor();
    } finally {
      first.destroyForcibly();
    }
    int resultsAtKill = watcher.results.size();
    Process second = ChildJvm.runApp(dir, "second", config, "gateway,controller,tools");
    try {
      await()
          .atMost(Duration.ofSeconds(180))
          .until(
              () ->
                  watcher.results.stream()
                          .map(GoalResult::goalId)
                          .collect(Collectors.toSet())
                          .size()
                      >= n);
      // a little longer: no late duplicate may arrive for 3 s
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  watcher.results.size()
                      == watcher.results.stream().map(GoalResult::goalId).distinct().count());
    } finally {
      second.destroy();
      second.waitFor();
    }
    System.out.printf(
        "controller hard kill: %d of %d goals finished before the kill; %d LLM calls in all%n",
        resultsAtKill, n, server.callCount());
    assertThat(watcher.results).hasSize(n);
    assertThat(watcher.results)
        .extracting(GoalResult::goalId)
        .containsExactlyInAnyOrderElementsOf(ids);
    assertThat(watcher.results)
        .allSatisfy(
            r -> {
              assertThat(r.status()).isEqualTo(GoalStatus.SUCCEEDED);
              assertThat(r.answer()).isEqualTo(ANSWER);
            });
    // The side effect of the publish tool: exactly once per goal, whatever was replayed.
    assertThat(watcher.news).hasSize(n);
    assertThat(watcher.news.stream().map(s -> s.split("=")[0]).collect(Collectors.toSet()))
        .containsExactlyInAnyOrderElementsOf(ids);
    // Every call has one outcome: one committed tool_result per callId in the audit trail (the
    // calculator's answered inline: a step replayed after the kill ran it again and kept one), and
    // on tool-results only publish's, a repeat (a retry answered from the worker's store) being
    // the same result.
    Map<String, Long> answered =
        watcher.answered().stream()
            .collect(Collectors.groupingBy(GoalEvent::causationId, Collectors.counting()));
    assertThat(answered).hasSize(n * 3);
    assertThat(answered.values()).allSatisfy(c -> assertThat(c).isEqualTo(1L));
    assertThat(watcher.answered())
        .filteredOn(e -> e.data().path("tool").asText().equals("calculator"))
        .hasSize(n * 2)
        .allSatisfy(e -> assertThat(e.data().path("inline").asBoolean()).isTrue());
    Map<String, Set<String>> outcomes = new HashMap<>();
    watcher.toolResults.forEach(
        r ->
            outcomes
                .computeIfAbsent(r.callId(), k -> new java.util.HashSet<>())
                .add(r.tool() + " " + r.ok() + " " + r.result() + " " + r.error()));
    assertThat(outcomes).hasSize(n);
    assertThat(outcomes.values())
        .allSatisfy(o -> assertThat(o).singleElement().asString().startsWith("publish true"));
    // Called directly: no request went through the topics, and every turn's reply is in the audit.
    assertThat(CommittedReads.count(kafka, catalog.spec(TopicRole.CONTROLLER_LLM_REQUESTS).name()))
        .isZero();
    java.util.function.Function<GoalEventType, List<String>> requestIds =
        type ->
            watcher.events.stream()
                .filter(e -> e.type() == type)
                .map(e -> e.data().path("requestId").asText())
                .toList();
    assertThat(requestIds.apply(GoalEventType.LLM_REPLIED))
        .doesNotHaveDuplicates()
        .hasSizeGreaterThanOrEqualTo(n * 2)
        .containsExactlyInAnyOrderElementsOf(requestIds.apply(GoalEventType.LLM_REQUESTED));
  }

  /**
   * A direct run killed while its goals wait for their first LLM reply, restarted with {@code
   * controller.llm.calls=topic}: the calls the killed run left in {@code controller-llm-calls} go
   * to {@code controller.llm-requests} at the first tick, and every goal finishes once.
   */
  @Test
  void shouldSendTheCallsADirectRunLeftWaitingThroughTheTopicAfterARestartWithoutDirectCalls()
      throws Exception {
    settings.putAll(TestDeployment.SHORT_SESSIONS);
    settings.put(AppConfig.CONTROLLER_LLM_CALLS, "direct");
    java.util.concurrent.atomic.AtomicReference<Duration> delay =
        new java.util.concurrent.atomic.AtomicReference<>(Duration.ofSeconds(30));
    server.setDefault(
        request ->
            ScriptedLlmServer.Reply.json(script(request.json(), newsTopic)).withDelay(delay.get()));
    Path direct = ChildJvm.writeConfig(dir.resolve("direct.properties"), settings);
    List<String> ids = List.of("h1", "h2", "h3", "h4");
    Process first = ChildJvm.runApp(dir, "direct", direct, "gateway,controller,tools");
    try {
      produceGoals(ids);
      // Every goal's first turn committed as asked: the calls are in flight (30 s each).
      await()
          .atMost(Duration.ofSeconds(120))
          .until(
              () ->
                  watcher.events.stream()
                          .filter(e -> e.type() == GoalEventType.LLM_REQUESTED)
                          .count()
                      >= ids.size());
      first.destroyForcibly(); // SIGKILL: the replies never come to this process
      first.waitFor();
    } finally {
      first.destroyForcibly();
    }
    assertThat(watcher.results).isEmpty();
    delay.set(Duration.ofMillis(50));
    settings.put(AppConfig.CONTROLLER_LLM_CALLS, "topic");
    Path topic = ChildJvm.writeConfig(dir.resolve("topic.properties"), settings);
    Process second = ChildJvm.runApp(dir, "topic", topic, "gateway,controller,tools");
    try {
      await()
          .atMost(Duration.ofSeconds(180))
          .until(
              () ->
                  watcher.results.stream().map(GoalResult::goalId).distinct().count()
                      >= ids.size());
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(() -> watcher.results.size() == ids.size());
    } finally {
      second.destroy();
      second.waitFor();
    }
    assertThat(watcher.results)
        .extracting(GoalResult::goalId)
        .containsExactlyInAnyOrderElementsOf(ids);
    assertThat(watcher.results).allSatisfy(r -> assertThat(r.answer()).isEqualTo(ANSWER));
    assertThat(watcher.news).hasSize(ids.size());
    // The first turns went out again through the topic, with the requestIds the goals waited for.
    List<String> sent =
        CommittedReads.values(
                kafka,
                catalog.spec(TopicRole.CONTROLLER_LLM_REQUESTS).name(),
                dev.llmstreams.events.LlmRequest.class)
            .stream()
            .map(dev.llmstreams.events.LlmRequest::requestId)
            .toList();
    assertThat(sent)
        .doesNotHaveDuplicates()
        .contains("h1/1/llm", "h2/1/llm", "h3/1/llm", "h4/1/llm");
  }

  /**
   * goals and approvals created outside {@code topics apply}, with 2 and 1 partitions against the 6
   * of tool-results and controller.llm-replies: the goal logs stay in 6 partitions, and goals and
   * approvals not on their key's partition of those 6 are re-routed to it, so every goal still gets
   * its tool results, its approval and its answer.
   */
  @Test
  void shouldFinishEveryGoalWhenItsInputTopicsHaveFewerPartitions() throws Exception {
    String goalsTopic = catalog.spec(TopicRole.GOALS).name();
    String approvalsTopic = catalog.spec(TopicRole.APPROVALS).name();
    kafka.admin().deleteTopics(List.of(goalsTopic, approvalsTopic)).all().get();
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () -> {
              kafka
                  .admin()
                  .createTopics(
                      List.of(
                          new NewTopic(goalsTopic, 2, (short) 1),
                          new NewTopic(approvalsTopic, 1, (short) 1)))
                  .all()
                  .get();
              return true;
            });
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () ->
                kafka
                        .admin()
                        .describeTopics(List.of(goalsTopic, approvalsTopic))
                        .allTopicNames()
                        .get()
                        .get(goalsTopic)
                        .partitions()
                        .size()
                    == 2);
    List<String> ids = List.of("f1", "f2", "f3", "f4", "f5", "f6");
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      produceGoals(ids);
      await().atMost(Duration.ofSeconds(120)).until(() -> watcher.results.size() >= ids.size());
      assertThat(watcher.results)
          .extracting(GoalResult::goalId)
          .containsExactlyInAnyOrderElementsOf(ids);
      assertThat(watcher.results)
          .allSatisfy(
              r -> {
                assertThat(r.status()).isEqualTo(GoalStatus.SUCCEEDED);
                assertThat(r.answer()).isEqualTo(ANSWER);
              });
      assertThat(watcher.news).hasSize(ids.size());
      java.util.function.Function<String, Double> rerouted =
          topic ->
              observability
                  .registry()
                  .get("llmstreams.records.rerouted")
                  .tags("pattern", "controller", "topic", topic)
                  .counter()
                  .count();
      assertThat(rerouted.apply(goalsTopic))
          .isEqualTo(
              (double) ids.stream().filter(id -> partitionOf(id, 2) != partitionOf(id, 6)).count());
      // The watcher's approvals all land on partition 0 of 1; the goal log of each is on
      // partitionOf(id, 6).
      assertThat(rerouted.apply(approvalsTopic))
          .isEqualTo((double) ids.stream().filter(id -> partitionOf(id, 6) != 0).count());
      HttpResponse<String> view =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + app.httpPort() + "/goals/f1"))
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(view.statusCode()).isEqualTo(200);
      assertThat(Json.tree(view.body()).path("status").asText()).isEqualTo("succeeded");
    }
  }

  private static int partitionOf(String key, int partitions) {
    return dev.llmstreams.topics.KeyedInput.partitionOf(key, partitions);
  }

  /**
   * Reads the outputs a user would see (read_committed) into lists, and approves each held call
   * once, as a person watching goal-events would.
   */
  private final class Watcher implements AutoCloseable {
    final List<GoalEvent> events = new CopyOnWriteArrayList<>();
    final List<GoalResult> results = new CopyOnWriteArrayList<>();
    final List<ToolResult> toolResults = new CopyOnWriteArrayList<>();
    final List<String> news = new CopyOnWriteArrayList<>();
    final List<String> deadLetters = new CopyOnWriteArrayList<>();
    private final Set<String> approved = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> producer;

    Watcher() {
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("watch")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      producer =
          new KafkaProducer<>(
              kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer());
      consumer.subscribe(
          List.of(
              name(TopicRole.GOAL_EVENTS),
              name(TopicRole.GOAL_RESULTS),
              name(TopicRole.TOOL_RESULTS),
              name(TopicRole.DEAD_LETTERS),
              newsTopic));
      thread = new Thread(this::loop, "controller-it-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private String name(TopicRole role) {
      return catalog.spec(role).name();
    }

    /** The committed tool_result events: one per call answered. */
    List<GoalEvent> answered() {
      return events.stream().filter(e -> e.type() == GoalEventType.TOOL_RESULT).toList();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          String topic = r.topic();
          if (topic.equals(name(TopicRole.GOAL_EVENTS))) {
            GoalEvent e = EVENTS.deserializer().deserialize(topic, r.value());
            events.add(e);
            if (e.type() == GoalEventType.APPROVAL_REQUESTED && approved.add(e.causationId())) {
              String approvals = name(TopicRole.APPROVALS);
              producer.send(
                  new ProducerRecord<>(
                      approvals,
                      e.goalId().getBytes(StandardCharsets.UTF_8),
                      APPROVALS
                          .serializer()
                          .serialize(
                              approvals,
                              new Approval(
                                  e.goalId(),
                                  e.causationId(),
                                  Approval.Decision.APPROVE,
                                  "the numbers are right",
                                  "it-approver",
                                  null))));
            }
          } else if (topic.equals(name(TopicRole.GOAL_RESULTS))) {
            results.add(RESULTS.deserializer().deserialize(topic, r.value()));
          } else if (topic.equals(name(TopicRole.TOOL_RESULTS))) {
            toolResults.add(TOOL_RESULTS.deserializer().deserialize(topic, r.value()));
          } else if (topic.equals(newsTopic)) {
            news.add(
                new String(r.key(), StandardCharsets.UTF_8)
                    + "="
                    + new String(r.value(), StandardCharsets.UTF_8));
          } else {
            var h = r.headers().lastHeader(DeadLetters.EXCEPTION_MESSAGE);
            var source = r.headers().lastHeader(DeadLetters.SOURCE_TOPIC);
            deadLetters.add(
                (source == null ? "?" : new String(source.value(), StandardCharsets.UTF_8))
                    + ": "
                    + (h == null ? "?" : new String(h.value(), StandardCharsets.UTF_8)));
          }
        }
        producer.flush();
      }
    }

    @Override
    public void close() {
      try {
        running.set(false);
        thread.join(5_000);
        consumer.close(
            org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
        producer.close(Duration.ofSeconds(2));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
      }
    }
  }
}
