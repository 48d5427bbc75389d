package dev.llmstreams.observability;

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
import dev.llmstreams.observability.tracing.SpanExport;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.TracingSettings;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.otlp.OtlpReceiver;
import dev.llmstreams.testkit.otlp.OtlpReceiver.ReceivedSpan;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traces across every Kafka hop (issue #18), end to end on a real broker with the gateway, the
 * controller and the tool workers, a scripted OpenAI-compatible server and a real OTLP receiver.
 *
 * <p>A goal is three LLM turns: two calculator calls, one a turn, then the answer. Its trace is one
 * {@code invoke_agent controller} span (the child of whatever span produced the goal, or a root)
 * with three {@code chat} spans (gateway) and two {@code execute_tool calculator} spans (tool
 * workers) under it, each recorded by its own application; the goal's result carries the goal's
 * span as its {@code traceparent}.
 */
@WithKafka
class TracingIT {
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<ToolResult> TOOL_RESULTS = JsonSerde.of(ToolResult.class);
  private static final String ANSWER = "12*7 = 84 and 100/8 = 12.5.";
  private static final Duration TRACE_WAIT = Duration.ofSeconds(120);

  /**
   * The scripted LLM: turn 1 asks calculator for 12*7, turn 2 for 100/8, turn 3 answers; the call
   * ids name the goal, so every call id is the goal's own.
   */
  static JsonNode script(JsonNode request) {
    String goalId = ScriptedLlmServer.goalIdOf(request);
    return switch (ScriptedLlmServer.assistantTurns(request)) {
      case 0 ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  callId(goalId, 1),
                  "calculator",
                  JsonNodeFactory.instance.objectNode().put("expression", "12*7")));
      case 1 ->
          ScriptedLlmServer.openAiToolCalls(
              new ToolCallRequest(
                  callId(goalId, 2),
                  "calculator",
                  JsonNodeFactory.instance.objectNode().put("expression", "100/8")));
      default -> ScriptedLlmServer.openAiText(ANSWER);
    };
  }

  static String callId(String goalId, int n) {
    return "call_" + goalId + "_" + n;
  }

  static String goalJson(String goalId) {
    ObjectNode goal = JsonNodeFactory.instance.objectNode();
    goal.put("goalId", goalId).put("goal", "Goal " + goalId + ": compute 12*7, then 100/8.");
    goal.putArray("tools").add("calculator");
    return goal.toString();
  }

  /** Produces a goal with the Java client, with a {@code traceparent} header or none. */
  static void produceGoal(KafkaCluster kafka, TopicCatalog catalog, String goalId, String parent)
      throws Exception {
    String topic = catalog.spec(TopicRole.GOALS).name();
    RecordHeaders headers = new RecordHeaders();
    if (parent != null) {
      headers.add(TraceHeaders.TRACEPARENT, parent.getBytes(StandardCharsets.UTF_8));
    }
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  topic,
                  null,
                  goalId.getBytes(StandardCharsets.UTF_8),
                  goalJson(goalId).getBytes(StandardCharsets.UTF_8),
                  headers))
          .get();
    }
  }

  /** A W3C traceparent of a sampled span with fresh random ids. */
  static String newTraceparent() {
    String trace = java.util.UUID.randomUUID().toString().replace("-", "");
    String span = java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    return "00-" + trace + "-" + span + "-01";
  }

  static String traceIdOf(String traceparent) {
    return traceparent.split("-")[1];
  }

  static String spanIdOf(String traceparent) {
    return traceparent.split("-")[2];
  }

  /**
   * The distinct spans of a trace: a span received more than once (an exporter that crashed after
   * sending, before committing) must be the same span each time, and counts once.
   */
  static List<ReceivedSpan> distinct(List<ReceivedSpan> spans) {
    Map<String, List<ReceivedSpan>> byId =
        spans.stream()
            .collect(
                Collectors.groupingBy(
                    ReceivedSpan::spanId, LinkedHashMap::new, Collectors.toList()));
    List<ReceivedSpan> out = new ArrayList<>();
    byId.forEach(
        (id, copies) -> {
          assertThat(copies)
              .as("copies of span " + id + " (sent again after an exporter crash)")
              .allSatisfy(c -> assertThat(c).isEqualTo(copies.get(0)));
          out.add(copies.get(0));
        });
    return out;
  }

  /** The spans of a goal: those naming it as their conversation, in any trace. */
  static List<ReceivedSpan> spansOfGoal(OtlpReceiver receiver, String goalId) {
    return receiver.spans().stream()
        .filter(s -> goalId.equals(s.text("gen_ai.conversation.id")))
        .toList();
  }

  static boolean traceComplete(OtlpReceiver receiver, String traceId) {
    List<ReceivedSpan> spans = receiver.trace(traceId);
    Set<String> ids = spans.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
    return ids.size() >= 6
        && spans.stream().anyMatch(s -> s.name().equals("invoke_agent controller"));
  }

  /**
   * Waits for the goal's trace to be complete (six spans), and a moment more (a seventh would
   * show), then checks it is one trace of the expected shape; returns the goal's span.
   *
   * @param producerSpanId the span that produced the goal, or null when the goal had no parent
   */
  static ReceivedSpan assertOneCompleteTrace(
      OtlpReceiver receiver,
      String traceId,
      String goalId,
      String producerSpanId,
      AppConfig config) {
    await()
        .alias("the trace of " + goalId)
        .atMost(TRACE_WAIT)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> traceComplete(receiver, traceId));
    // A moment more, so that a late extra span (or a second trace's span) would be seen.
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> true);

    // Everything about the goal is in this one trace.
    assertThat(spansOfGoal(receiver, goalId))
        .as("spans naming goal " + goalId)
        .allSatisfy(s -> assertThat(s.traceId()).isEqualTo(traceId));
    List<ReceivedSpan> spans = distinct(receiver.trace(traceId));
    assertThat(spans).hasSize(6);

    List<ReceivedSpan> goals =
        spans.stream().filter(s -> s.name().equals("invoke_agent controller")).toList();
    assertThat(goals).as("invoke_agent spans").hasSize(1);
    ReceivedSpan goal = goals.get(0);
    List<ReceivedSpan> chats = spans.stream().filter(s -> s.name().startsWith("chat ")).toList();
    List<ReceivedSpan> tools =
        spans.stream().filter(s -> s.name().equals("execute_tool calculator")).toList();
    assertThat(chats).as("chat spans").hasSize(3);
    assertThat(tools).as("execute_tool spans").hasSize(2);

    // The tree: the goal under the producer's span (or a root), every call under the goal.
    assertThat(goal.parentSpanId()).isEqualTo(producerSpanId);
    assertThat(chats)
        .allSatisfy(c -> assertThat(c.parentSpanId()).as(c.name()).isEqualTo(goal.spanId()));
    assertThat(tools)
        .allSatisfy(t -> assertThat(t.parentSpanId()).as(t.name()).isEqualTo(goal.spanId()));
    assertThat(spans)
        .allSatisfy(s -> assertThat(s.endEpochNanos()).isGreaterThanOrEqualTo(s.startEpochNanos()));

    // Each recorded by its own application, named after its Streams application id.
    assertThat(goal.service()).isEqualTo(StreamsSettings.applicationId(config, "controller"));
    assertThat(chats)
        .allSatisfy(
            c ->
                assertThat(c.service())
                    .isEqualTo(StreamsSettings.applicationId(config, "gateway")));
    assertThat(tools)
        .allSatisfy(
            t -> assertThat(t.service()).isEqualTo(StreamsSettings.applicationId(config, "tools")));

    // GenAI semantic conventions.
    assertThat(goal.kind()).isEqualTo("INTERNAL");
    assertThat(goal.status()).isEqualTo("OK");
    assertThat(goal.attributes())
        .containsEntry("gen_ai.operation.name", "invoke_agent")
        .containsEntry("gen_ai.conversation.id", goalId)
        .containsEntry("llmstreams.goal.id", goalId)
        .containsEntry("llmstreams.goal.status", "succeeded")
        .containsEntry("llmstreams.goal.steps", 3L)
        .containsEntry("gen_ai.usage.input_tokens", 3L * ScriptedLlmServer.INPUT_TOKENS)
        .containsEntry("gen_ai.usage.output_tokens", 3L * ScriptedLlmServer.OUTPUT_TOKENS)
        .containsKey("llmstreams.goal.cost_usd");
    assertThat(chats)
        .allSatisfy(
            c -> {
              assertThat(c.kind()).isEqualTo("CLIENT");
              assertThat(c.attributes())
                  .containsEntry("gen_ai.operation.name", "chat")
                  .containsEntry("gen_ai.conversation.id", goalId)
                  .containsEntry("gen_ai.provider.name", "openai")
                  .containsEntry("gen_ai.response.model", ScriptedLlmServer.MODEL)
                  .containsEntry("gen_ai.usage.input_tokens", (long) ScriptedLlmServer.INPUT_TOKENS)
                  .containsEntry(
                      "gen_ai.usage.output_tokens", (long) ScriptedLlmServer.OUTPUT_TOKENS)
                  .containsEntry("llmstreams.llm.cache_hit", false)
                  .containsKey("gen_ai.request.model");
              assertThat(c.name()).isEqualTo("chat " + c.text("gen_ai.request.model"));
            });
    // One chat span per LLM request of the goal, one execute_tool span per call.
    assertThat(chats)
        .extracting(c -> c.text("llmstreams.llm.request.id"))
        .containsExactlyInAnyOrder(goalId + "/1/llm", goalId + "/2/llm", goalId + "/3/llm");
    assertThat(chats)
        .extracting(c -> c.attr("gen_ai.response.finish_reasons"))
        .containsExactlyInAnyOrder(List.of("tool_calls"), List.of("tool_calls"), List.of("stop"));
    assertThat(tools)
        .allSatisfy(
            t -> {
              assertThat(t.status()).isEqualTo("OK");
              assertThat(t.attributes())
                  .containsEntry("gen_ai.operation.name", "execute_tool")
                  .containsEntry("gen_ai.tool.name", "calculator")
                  .containsEntry("gen_ai.tool.type", "function")
                  .containsEntry("gen_ai.conversation.id", goalId)
                  .containsEntry("llmstreams.tool.outcome", "ok");
            });
    assertThat(tools)
        .extracting(t -> t.text("gen_ai.tool.call.id"))
        .as("the controller's call ids (goal/step/index), which the LLM's ids map to")
        .containsExactlyInAnyOrder(goalId + "/1/0", goalId + "/2/0");
    return goal;
  }

  private static long distinctIds(List<ReceivedSpan> spans) {
    return spans.stream().map(ReceivedSpan::spanId).distinct().count();
  }

  /**
   * The gateway, the controller and the tool workers in this JVM, recording spans; the span export
   * ships them to the receiver (run here by the test, with the receiver as its OTLP endpoint).
   */
  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class InOneApp {
    private KafkaCluster kafka;
    private TopicCatalog catalog;
    private AppConfig config;
    private ScriptedLlmServer llm;
    private OtlpReceiver receiver;
    private Observability observability;
    private LlmStreamsApp app;
    private SpanExport export;
    private Watcher watcher;

    @BeforeAll
    void startApp(KafkaCluster kafka, @TempDir Path dir) throws Exception {
      this.kafka = kafka;
      llm = ScriptedLlmServer.start();
      llm.setDefault(request -> ScriptedLlmServer.Reply.json(script(request.json())));
      receiver = OtlpReceiver.start();
      TestDeployment deployment = TestDeployment.create(kafka, "trace", dir);
      catalog = deployment.catalog();
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
                      AppConfig.CONTROLLER_TICK_MS,
                      "100",
                      AppConfig.TRACING_ENABLED,
                      "true",
                      // The test runs the span export, pointed at its receiver.
                      AppConfig.TRACING_EXPORT,
                      "false"))
              .settings();
      config = AppConfig.of(settings);
      observability = new Observability();
      app = new LlmStreamsApp(config, catalog, observability);
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      watcher = new Watcher(kafka, catalog);
      export =
          new SpanExport(
              config.clientProperties(),
              KafkaCluster.uniqueName("span-export"),
              catalog.topic(Topics.SPANS).name(),
              TracingSettings.otel(
                  Map.of(
                      "OTEL_EXPORTER_OTLP_ENDPOINT",
                      receiver.endpoint(),
                      "OTEL_EXPORTER_OTLP_PROTOCOL",
                      "http/protobuf"),
                  new Properties()),
              new SimpleMeterRegistry());
      export.start();
      await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
    }

    @AfterAll
    void stopApp() throws Exception {
      for (AutoCloseable c : new AutoCloseable[] {export, watcher, app, observability}) {
        if (c != null) {
          c.close();
        }
      }
      if (receiver != null) {
        receiver.close();
      }
      if (llm != null) {
        llm.close();
      }
    }

    @Test
    void aGoalProducedWithKcatUnderASpanIsOneTraceUnderThatSpan() throws Exception {
      System.out.println("tracing it: " + Kcat.requireInstalled());
      String goalId = "kc1";
      String traceparent = newTraceparent();
      Kcat.produce(
          kafka.bootstrapServers(),
          catalog.spec(TopicRole.GOALS).name(),
          List.of(Map.entry(goalId, goalJson(goalId))),
          Map.of(TraceHeaders.TRACEPARENT, traceparent));

      Watcher.Result result = watcher.awaitOnlyResult(goalId);
      assertThat(result.result().status())
          .as(result.result().reason())
          .isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(result.result().answer()).isEqualTo(ANSWER);
      assertThat(result.result().steps()).isEqualTo(3);
      assertThat(result.traceparent()).as("the result's traceparent").isNotNull();
      assertThat(traceIdOf(result.traceparent())).isEqualTo(traceIdOf(traceparent));

      ReceivedSpan goal =
          assertOneCompleteTrace(
              receiver, traceIdOf(traceparent), goalId, spanIdOf(traceparent), config);
      // The result continues the goal's span.
      assertThat(spanIdOf(result.traceparent())).isEqualTo(goal.spanId());
      assertThat(result.traceparent()).endsWith("-01");
    }

    @Test
    void aGoalProducedWithoutTraceContextStartsATraceOfItsOwn() throws Exception {
      String goalId = "jv1";
      produceGoal(kafka, catalog, goalId, null);

      Watcher.Result result = watcher.awaitOnlyResult(goalId);
      assertThat(result.result().status())
          .as(result.result().reason())
          .isEqualTo(GoalStatus.SUCCEEDED);
      assertThat(result.traceparent()).as("the result's traceparent").isNotNull();
      String traceId = traceIdOf(result.traceparent());
      assertThat(traceId).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));

      ReceivedSpan goal = assertOneCompleteTrace(receiver, traceId, goalId, null, config);
      assertThat(spanIdOf(result.traceparent())).isEqualTo(goal.spanId());
      // A trace of its own: no other goal's span is in it.
      assertThat(receiver.trace(traceId))
          .allSatisfy(s -> assertThat(s.text("gen_ai.conversation.id")).isEqualTo(goalId));
    }
  }

  /**
   * The gateway, the controller and the tool workers each in its own JVM, tracing on by {@code
   * OTEL_EXPORTER_OTLP_*} alone, each exporting spans; the controller's JVM is SIGKILLed mid-goal
   * (while the LLM holds its answer to the goal's second turn) and started again on its state.
   *
   * <p>The goal ends once, and its trace is one complete trace: one {@code invoke_agent} span, one
   * span per LLM request and per tool call. A span sent again by an exporter that died before it
   * committed has the same span id and is the same span.
   */
  @Test
  void aControllerKilledMidGoalLeavesOneCompleteTrace(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    String goalId = "kill1";
    try (ScriptedLlmServer llm = ScriptedLlmServer.start();
        OtlpReceiver receiver = OtlpReceiver.start()) {
      llm.setDefault(
          request -> {
            if (ScriptedLlmServer.assistantTurns(request.json()) == 1) {
              try {
                // Holds the second turn's answer until the controller is back.
                release.await(240, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return ScriptedLlmServer.Reply.json(script(request.json()));
          });
      TestDeployment deployment = TestDeployment.create(kafka, "trace-kill", dir);
      TopicCatalog catalog = deployment.catalog();
      Map<String, String> common = new LinkedHashMap<>();
      for (String key :
          List.of(AppConfig.KAFKA_BOOTSTRAP, AppConfig.TOPICS_PREFIX, AppConfig.APPLICATION_ID)) {
        common.put(key, deployment.settings().get(key));
      }
      common.put(AppConfig.LLM_ROUTE_DEFAULT, "openai");
      common.put(AppConfig.provider("openai", "base.url"), llm.openAiBaseUrl().toString());
      common.put(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret");
      // Longer than the hold: the gateway waits for the answer instead of calling again.
      common.put(AppConfig.provider("openai", "timeout.ms"), "300000");
      common.put(AppConfig.CONTROLLER_TICK_MS, "100");
      // A killed member's partitions move within seconds, not 45 s (Streams and span export).
      common.put(AppConfig.CLIENT_PREFIX + "session.timeout.ms", "6000");
      common.put(AppConfig.CLIENT_PREFIX + "heartbeat.interval.ms", "1500");
      Map<String, String> env =
          Map.of(
              "OTEL_EXPORTER_OTLP_ENDPOINT",
              receiver.endpoint(),
              "OTEL_EXPORTER_OTLP_PROTOCOL",
              "http/protobuf");
      AppConfig config = AppConfig.of(deployment.settings());

      try (Child gateway = new Child(dir, "gateway", common, env);
          Child tools = new Child(dir, "tools", common, env);
          Child controller = new Child(dir, "controller", common, env);
          Watcher watcher = new Watcher(kafka, catalog)) {
        long t0 = System.nanoTime();
        gateway.start();
        tools.start();
        controller.start();
        for (Child c : List.of(gateway, tools, controller)) {
          c.awaitReady();
        }
        long ready = System.nanoTime();

        String traceparent = newTraceparent();
        produceGoal(kafka, catalog, goalId, traceparent);

        // Mid-goal: the first tool result is committed; the second turn's answer is held.
        await()
            .atMost(Duration.ofSeconds(120))
            .until(() -> watcher.toolResults.stream().anyMatch(r -> r.goalId().equals(goalId)));
        long killed = System.nanoTime();
        controller.kill();
        assertThat(watcher.results).as("results at the kill").isEmpty();
        controller.start();
        controller.awaitReady();
        long restarted = System.nanoTime();
        release.countDown();

        Watcher.Result result = watcher.awaitOnlyResult(goalId);
        long finished = System.nanoTime();
        assertThat(result.result().status())
            .as(result.result().reason())
            .isEqualTo(GoalStatus.SUCCEEDED);
        assertThat(result.result().answer()).isEqualTo(ANSWER);
        assertThat(traceIdOf(result.traceparent())).isEqualTo(traceIdOf(traceparent));

        ReceivedSpan goal =
            assertOneCompleteTrace(
                receiver, traceIdOf(traceparent), goalId, spanIdOf(traceparent), config);
        long traced = System.nanoTime();
        assertThat(spanIdOf(result.traceparent())).isEqualTo(goal.spanId());
        // One span per LLM request and per tool call, however often a copy was sent.
        List<ReceivedSpan> all = receiver.trace(traceIdOf(traceparent));
        for (String key : List.of("llmstreams.llm.request.id", "gen_ai.tool.call.id")) {
          Map<String, Set<String>> spanIds =
              all.stream()
                  .filter(s -> s.attr(key) != null)
                  .collect(
                      Collectors.groupingBy(
                          s -> s.text(key),
                          Collectors.mapping(ReceivedSpan::spanId, Collectors.toSet())));
          assertThat(spanIds)
              .as("span ids by " + key)
              .allSatisfy((k, ids) -> assertThat(ids).as(k).hasSize(1));
        }
        // Exactly one result, still a moment later.
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(10))
            .until(() -> watcher.results.size() == 1);
        System.out.printf(
            "tracing kill it: %d spans received for the goal's trace (%d distinct), %d OTLP"
                + " requests in all; %d LLM calls; three JVMs ready in %.1f s, goal to kill %.1f s,"
                + " kill to ready again %.1f s, release to result %.1f s, result to complete"
                + " trace %.1f s%n",
            all.size(),
            distinctIds(all),
            receiver.requestCount(),
            llm.callCount(),
            (ready - t0) / 1e9,
            (killed - ready) / 1e9,
            (restarted - killed) / 1e9,
            (finished - restarted) / 1e9,
            (traced - finished) / 1e9);
      } finally {
        release.countDown();
      }
    }
  }

  /** One pattern of the app in its own JVM, started again on the same state after a kill. */
  private static final class Child implements AutoCloseable {
    private static final HttpClient HTTP =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Path dir;
    private final String pattern;
    private final Map<String, String> env;
    private final Path config;
    private final int port;
    private Process process;
    private int starts;

    Child(Path root, String pattern, Map<String, String> common, Map<String, String> env)
        throws IOException {
      this.dir = Files.createDirectories(root.resolve(pattern));
      this.pattern = pattern;
      this.env = env;
      this.port = freePort();
      Map<String, String> settings = new LinkedHashMap<>(common);
      settings.put(AppConfig.STATE_DIR, dir.resolve("state").toString());
      settings.put(AppConfig.HTTP_PORT, Integer.toString(port));
      this.config = ChildJvm.writeConfig(dir.resolve("app.properties"), settings);
    }

    void start() throws IOException {
      starts++;
      process =
          ChildJvm.start(
              dir,
              pattern + "-" + starts,
              env,
              "dev.llmstreams.app.Main",
              "run",
              "--patterns",
              pattern,
              "--config",
              config.toString());
    }

    void awaitReady() {
      try {
        await()
            .atMost(Duration.ofSeconds(120))
            .pollInterval(Duration.ofMillis(200))
            .until(
                () -> {
                  if (!process.isAlive()) {
                    throw new AssertionError(pattern + " exited:\n" + logTail());
                  }
                  return ready();
                });
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(pattern + " did not get ready:\n" + logTail(), e);
      }
    }

    private boolean ready() {
      try {
        HttpResponse<Void> r =
            HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready"))
                    .timeout(Duration.ofSeconds(5))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        return r.statusCode() == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    /** SIGKILL: no shutdown hook, no commit. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }

    String logTail() {
      try {
        List<String> lines = Files.readAllLines(dir.resolve(pattern + "-" + starts + ".log"));
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
      } catch (IOException e) {
        return "(no log: " + e.getMessage() + ")";
      }
    }

    @Override
    public void close() {
      try {
        if (process != null && process.isAlive()) {
          process.destroy();
          if (!process.waitFor(40, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
          }
        }
      } catch (InterruptedException e) {
        process.destroyForcibly(); // no time left for a graceful stop: never leave one behind
        Thread.currentThread().interrupt();
      }
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      }
    }
  }

  /**
   * Reads goal results (with their traceparent) and tool results as a user would: read_committed.
   */
  static final class Watcher implements AutoCloseable {
    record Result(GoalResult result, String traceparent) {}

    final List<Result> results = new CopyOnWriteArrayList<>();
    final List<ToolResult> toolResults = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String resultsTopic;
    private final Thread thread;

    Watcher(KafkaCluster kafka, TopicCatalog catalog) {
      resultsTopic = catalog.spec(TopicRole.GOAL_RESULTS).name();
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("trace-watch")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      consumer.subscribe(List.of(resultsTopic, catalog.spec(TopicRole.TOOL_RESULTS).name()));
      thread = new Thread(this::loop, "tracing-it-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.topic().equals(resultsTopic)) {
            var h = r.headers().lastHeader(TraceHeaders.TRACEPARENT);
            results.add(
                new Result(
                    RESULTS.deserializer().deserialize(r.topic(), r.value()),
                    h == null ? null : new String(h.value(), StandardCharsets.UTF_8)));
          } else {
            toolResults.add(TOOL_RESULTS.deserializer().deserialize(r.topic(), r.value()));
          }
        }
      }
    }

    /** Waits for the goal's result; fails if there is more than one. */
    Result awaitOnlyResult(String goalId) {
      await()
          .alias("the result of " + goalId)
          .atMost(Duration.ofSeconds(180))
          .until(() -> results.stream().anyMatch(r -> r.result().goalId().equals(goalId)));
      List<Result> mine = results.stream().filter(r -> r.result().goalId().equals(goalId)).toList();
      assertThat(mine).as("results of " + goalId).hasSize(1);
      return mine.get(0);
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
