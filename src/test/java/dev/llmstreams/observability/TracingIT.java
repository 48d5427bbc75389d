package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.tracing.SpanExport;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.TracingSettings;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.RecordLog;
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
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
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
    // For a moment more, no late extra span arrives, nor a span of the goal in a second trace.
    await()
        .alias("no seventh span, no second trace of " + goalId)
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                distinct(receiver.trace(traceId)).size() == 6
                    && spansOfGoal(receiver, goalId).stream()
                        .allMatch(s -> s.traceId().equals(traceId)));

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
              .with(tracedApp(llm))
              .with(Map.of(AppConfig.CONTROLLER_TICK_MS, "100"))
              .settings();
      config = AppConfig.of(settings);
      observability = new Observability();
      app = new LlmStreamsApp(config, catalog, observability);
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      watcher = new Watcher(kafka, catalog);
      export = startExport(config, catalog, receiver);
      await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
    }

    @AfterAll
    void stopApp() throws Exception {
      closeAll(export, watcher, app, observability, receiver, llm);
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
   * The gateway and the summarizer in this JVM, recording spans, with small chunks (32 tokens) and
   * merges of two, so five documents make a tree of a few levels; the span export ships the spans
   * to the receiver. Documents are in one window (the default windows are on), so a key has a
   * window synthesis and an all-time one over it.
   *
   * <p>A five-document synthesis is traced across both applications: each chunk's {@code
   * summarize_chunk} span in its document's context with the gateway's {@code chat} span under it;
   * the merges and syntheses in the trace of the document that opened the tree's round of work,
   * linked to what they combine, so the links from the latest synthesis reach every chunk of the
   * five documents; the synthesis record read read_committed carries its {@code synthesize} span.
   */
  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class Summarizing {
    private static final JsonSerde<Document> DOCUMENTS = JsonSerde.of(Document.class);
    private static final JsonSerde<Synthesis> SYNTHESES = JsonSerde.of(Synthesis.class);

    /** Every document in one window of the default (a day). */
    private static final Instant WRITTEN_AT = Instant.parse("2026-11-02T09:00:00Z");

    private static final String WINDOW_START = "2026-11-02T00:00:00Z";
    private static final String WINDOW_END = "2026-11-03T00:00:00Z";
    private KafkaCluster kafka;
    private TopicCatalog catalog;
    private AppConfig config;
    private ScriptedLlmServer llm;
    private OtlpReceiver receiver;
    private Observability observability;
    private LlmStreamsApp app;
    private SpanExport export;
    private RecordLog log;

    @BeforeAll
    void startApp(KafkaCluster kafka, @TempDir Path dir) throws Exception {
      this.kafka = kafka;
      llm = ScriptedLlmServer.start();
      // A summary names what it summarizes (a hash of the prompt): no two texts alike.
      llm.setDefault(
          request ->
              ScriptedLlmServer.Reply.json(
                  ScriptedLlmServer.openAiText(
                      "Summary "
                          + Integer.toHexString(
                              request.json().path("messages").toString().hashCode())
                          + ": the team agreed to ship in March.")));
      receiver = OtlpReceiver.start();
      TestDeployment deployment = TestDeployment.create(kafka, "trace-sum", dir);
      catalog = deployment.catalog();
      Map<String, String> settings =
          deployment
              .with(tracedApp(llm))
              .with(
                  Map.of(
                      AppConfig.SUMMARIZER_CHUNK_TOKENS,
                      "32",
                      AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS,
                      "0",
                      AppConfig.SUMMARIZER_MERGE_FAN_IN,
                      "2",
                      AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
                      "0"))
              .settings();
      config = AppConfig.of(settings);
      observability = new Observability();
      app = new LlmStreamsApp(config, catalog, observability);
      app.start(List.of(new GatewayModule(), new SummarizerModule()));
      log =
          new RecordLog(
              kafka,
              List.of(
                  catalog.spec(TopicRole.LLM_REQUESTS).name(),
                  catalog.spec(TopicRole.SYNTHESES).name()));
      export = startExport(config, catalog, receiver);
      await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
    }

    @AfterAll
    void stopApp() throws Exception {
      closeAll(export, log, app, observability, receiver, llm);
    }

    @Test
    void aFiveDocumentSynthesisIsTracedFromEachDocumentsChunksToItsLatestSynthesis()
        throws Exception {
      String key = "notes-own";
      List<String> docIds = produceDocuments(key, null);

      Traced traced = awaitTraced(key, docIds);
      // Each document sent without trace context is a trace of its own, its chunks its top spans.
      Map<String, String> traceOfDocument = new LinkedHashMap<>();
      traced.chunksByDocument.forEach(
          (doc, chunks) -> {
            assertThat(chunks)
                .extracting(ReceivedSpan::traceId)
                .as("the traces of %s's chunks", doc)
                .containsOnly(chunks.get(0).traceId());
            assertThat(chunks)
                .allSatisfy(c -> assertThat(c.parentSpanId()).as("a top span").isNull());
            traceOfDocument.put(doc, chunks.get(0).traceId());
          });
      assertThat(Set.copyOf(traceOfDocument.values())).as("a trace per document").hasSize(5);
      // Merges and syntheses are in the trace of the document that opened their round, at its
      // top (the round's context is the document's: no parent).
      assertThat(traced.work())
          .allSatisfy(
              s -> {
                assertThat(traceOfDocument.values()).as(s.toString()).contains(s.traceId());
                assertThat(s.parentSpanId()).as(s.toString()).isNull();
              });
      String finalTrace = traced.synthesisTrace;
      assertThat(traceOfDocument.values()).contains(finalTrace);
      System.out.printf(
          "tracing synthesis it (own traces): %d chunks, %d merges, %d syntheses, %d chat spans;"
              + " merges in %d trace(s); the latest synthesis in the trace of %s%n",
          traced.chunks().size(),
          traced.merges().size(),
          traced.syntheses().size(),
          traced.chats.size(),
          traced.merges().stream().map(ReceivedSpan::traceId).distinct().count(),
          traceOfDocument.entrySet().stream()
              .filter(e -> e.getValue().equals(finalTrace))
              .map(Map.Entry::getKey)
              .findFirst()
              .orElseThrow());
    }

    @Test
    void aFiveDocumentSynthesisUnderOneProducerSpanIsAllInThatTrace() throws Exception {
      String key = "notes-one";
      String traceparent = newTraceparent();
      List<String> docIds = produceDocuments(key, traceparent);

      Traced traced = awaitTraced(key, docIds);
      assertThat(traced.synthesisTrace).isEqualTo(traceIdOf(traceparent));
      assertThat(traced.spans)
          .as("every span of the key")
          .allSatisfy(s -> assertThat(s.traceId()).isEqualTo(traceIdOf(traceparent)));
      // Chunks, merges and syntheses under the producer's span; chat spans under them.
      List<ReceivedSpan> summarizer = new ArrayList<>(traced.chunks());
      summarizer.addAll(traced.work());
      assertThat(summarizer)
          .allSatisfy(
              s -> assertThat(s.parentSpanId()).as(s.toString()).isEqualTo(spanIdOf(traceparent)));
      assertThat(receiver.trace(traceIdOf(traceparent)))
          .as("nothing else in the trace")
          .allSatisfy(s -> assertThat(s.text("gen_ai.conversation.id")).isEqualTo(key));
    }

    /** Five documents of {@code key}, each of a few chunks; their ids. */
    private List<String> produceDocuments(String key, String traceparent) throws Exception {
      String topic = catalog.spec(TopicRole.DOCUMENTS).name();
      List<String> ids = new ArrayList<>();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
        for (int d = 1; d <= 5; d++) {
          String docId = key + "-d" + d;
          ids.add(docId);
          StringBuilder text = new StringBuilder();
          // Three sentences of about 20 tokens: three chunks of at most 32.
          for (int part = 1; part <= 3; part++) {
            text.append("Notes of ")
                .append(docId)
                .append(", part ")
                .append(part)
                .append(": ship release ")
                .append(d * 10 + part)
                .append(" in March, budget reviewed weekly. ");
          }
          RecordHeaders headers = new RecordHeaders();
          if (traceparent != null) {
            headers.add(TraceHeaders.TRACEPARENT, traceparent.getBytes(StandardCharsets.UTF_8));
          }
          producer.send(
              new ProducerRecord<>(
                  topic,
                  null,
                  key.getBytes(StandardCharsets.UTF_8),
                  DOCUMENTS
                      .serializer()
                      .serialize(
                          topic,
                          new Document(docId, text.toString().strip(), WRITTEN_AT, Map.of())),
                  headers));
        }
        producer.flush();
      }
      return ids;
    }

    /**
     * What the receiver got of a key's synthesis once it is done, checked for what holds in any
     * trace layout: the span tree of each LLM request across the two applications, names, kinds,
     * attributes, links, and the latest synthesis records' spans.
     *
     * @param spans the distinct spans naming the key as their conversation
     * @param chunksByDocument the {@code summarize_chunk} spans of each document, by chunk index
     * @param chats the gateway's {@code chat} spans
     * @param synthesisTrace the trace of the latest synthesis records (all-time and window)
     */
    private record Traced(
        List<ReceivedSpan> spans,
        Map<String, List<ReceivedSpan>> chunksByDocument,
        List<ReceivedSpan> chats,
        String synthesisTrace) {
      List<ReceivedSpan> named(String name) {
        return spans.stream().filter(s -> s.name().equals(name)).toList();
      }

      List<ReceivedSpan> chunks() {
        return named("summarize_chunk");
      }

      List<ReceivedSpan> merges() {
        return named("merge_summaries");
      }

      List<ReceivedSpan> syntheses() {
        return named("synthesize");
      }

      /** The merges and syntheses. */
      List<ReceivedSpan> work() {
        List<ReceivedSpan> out = new ArrayList<>(merges());
        out.addAll(syntheses());
        return out;
      }
    }

    /** The request ids of the key's LLM requests committed so far, with their traceparent. */
    private Map<String, String> requestsOf(String key) {
      Map<String, String> out = new LinkedHashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : log.of(catalog.spec(TopicRole.LLM_REQUESTS).name())) {
        if (key.equals(RecordLog.key(r))) {
          out.put(
              Json.tree(RecordLog.value(r)).path("requestId").asText(),
              RecordLog.header(r, TraceHeaders.TRACEPARENT));
        }
      }
      return out;
    }

    /** The latest synthesis record of each record key of {@code key} (all-time and window). */
    private Map<String, ConsumerRecord<byte[], byte[]>> latestSyntheses(String key) {
      Map<String, ConsumerRecord<byte[], byte[]>> out = new LinkedHashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : log.of(catalog.spec(TopicRole.SYNTHESES).name())) {
        String k = RecordLog.key(r);
        if (k.equals(key) || k.startsWith(key + "@")) {
          out.put(k, r);
        }
      }
      return out;
    }

    private Synthesis synthesis(ConsumerRecord<byte[], byte[]> r) {
      return SYNTHESES.deserializer().deserialize(r.topic(), r.value());
    }

    /**
     * Done: the all-time synthesis covers the five documents, every LLM request committed has its
     * summarizer span and its chat span, the latest syntheses' spans are in; and all that still the
     * same a few seconds later (a merge in flight would have changed it). Null until then, else
     * what was counted.
     */
    private List<Integer> doneState(String key) {
      Map<String, ConsumerRecord<byte[], byte[]>> latest = latestSyntheses(key);
      ConsumerRecord<byte[], byte[]> allTime = latest.get(key);
      if (allTime == null || synthesis(allTime).documents() < 5 || latest.size() < 2) {
        return null;
      }
      List<ReceivedSpan> spans = spansOfGoal(receiver, key);
      Map<String, Set<String>> namesByRequest =
          spans.stream()
              .filter(s -> s.attr("llmstreams.llm.request.id") != null)
              .collect(
                  Collectors.groupingBy(
                      s -> s.text("llmstreams.llm.request.id"),
                      Collectors.mapping(
                          s -> s.name().startsWith("chat ") ? "chat" : "summarizer",
                          Collectors.toSet())));
      Map<String, String> requests = requestsOf(key);
      boolean answered =
          requests.keySet().stream()
              .allMatch(id -> namesByRequest.getOrDefault(id, Set.of()).size() == 2);
      Set<String> spanIds = spans.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
      boolean synthesesIn =
          latest.values().stream()
              .allMatch(
                  r -> spanIds.contains(spanIdOf(RecordLog.header(r, TraceHeaders.TRACEPARENT))));
      return answered && synthesesIn
          ? List.of(requests.size(), log.all().size(), spans.size())
          : null;
    }

    private Traced awaitTraced(String key, List<String> docIds) {
      AtomicReference<List<Integer>> seen = new AtomicReference<>();
      AtomicLong since = new AtomicLong();
      await()
          .alias("the synthesis of " + key + ", done and traced")
          .atMost(Duration.ofSeconds(240))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                List<Integer> now = doneState(key);
                if (now == null || !now.equals(seen.get())) {
                  seen.set(now);
                  since.set(System.nanoTime());
                  return false;
                }
                return System.nanoTime() - since.get() >= Duration.ofSeconds(3).toNanos();
              });

      // No span id twice with different content; every span of the key counted once.
      List<ReceivedSpan> spans = distinct(spansOfGoal(receiver, key));
      Map<String, ReceivedSpan> byId = new LinkedHashMap<>();
      spans.forEach(s -> byId.put(s.spanId(), s));
      String summarizerService = StreamsSettings.applicationId(config, "summarizer");
      String gatewayService = StreamsSettings.applicationId(config, "gateway");
      assertThat(spans)
          .extracting(ReceivedSpan::name)
          .allMatch(
              n ->
                  Set.of("summarize_chunk", "merge_summaries", "synthesize").contains(n)
                      || n.startsWith("chat "),
              "a summarizer or chat span");
      assertThat(spans)
          .allSatisfy(
              s -> {
                assertThat(s.service())
                    .as(s.toString())
                    .isEqualTo(s.name().startsWith("chat ") ? gatewayService : summarizerService);
                // A chat span's status is left unset on success, as the conventions ask of
                // clients; the summarizer's spans end OK.
                assertThat(s.status())
                    .as(s.toString())
                    .isEqualTo(s.name().startsWith("chat ") ? "UNSET" : "OK");
                assertThat(s.attributes())
                    .as(s.toString())
                    .containsEntry("gen_ai.conversation.id", key);
                assertThat(s.endEpochNanos()).isGreaterThanOrEqualTo(s.startEpochNanos());
                s.links()
                    .forEach(
                        l -> {
                          assertThat(byId).as("the span %s links to", s).containsKey(l.spanId());
                          assertThat(byId.get(l.spanId()).traceId()).isEqualTo(l.traceId());
                        });
              });
      // The spans by name, before the rest is known.
      Traced ofKey = new Traced(spans, Map.of(), List.of(), null);

      // Every LLM request went out under the summarizer's span for it, and the gateway's chat span
      // answering it is that span's child: one of each per request.
      Map<String, String> requests = requestsOf(key);
      List<ReceivedSpan> chats = spans.stream().filter(s -> s.name().startsWith("chat ")).toList();
      Map<String, ReceivedSpan> summarizerSpanOf = new LinkedHashMap<>();
      spans.stream()
          .filter(s -> !s.name().startsWith("chat ") && s.attr("llmstreams.llm.request.id") != null)
          .forEach(
              s ->
                  assertThat(summarizerSpanOf.put(s.text("llmstreams.llm.request.id"), s))
                      .as("one span for request %s", s.text("llmstreams.llm.request.id"))
                      .isNull());
      assertThat(summarizerSpanOf.keySet()).containsExactlyInAnyOrderElementsOf(requests.keySet());
      assertThat(chats)
          .extracting(c -> c.text("llmstreams.llm.request.id"))
          .containsExactlyInAnyOrderElementsOf(requests.keySet());
      requests.forEach(
          (id, traceparent) -> {
            ReceivedSpan span = summarizerSpanOf.get(id);
            assertThat(traceparent).as("the traceparent of request " + id).isNotNull();
            assertThat(traceIdOf(traceparent)).isEqualTo(span.traceId());
            assertThat(spanIdOf(traceparent)).isEqualTo(span.spanId());
          });
      for (ReceivedSpan c : chats) {
        ReceivedSpan parent = summarizerSpanOf.get(c.text("llmstreams.llm.request.id"));
        assertThat(c.parentSpanId()).as(c.toString()).isEqualTo(parent.spanId());
        assertThat(c.traceId()).as(c.toString()).isEqualTo(parent.traceId());
        assertThat(c.kind()).isEqualTo("CLIENT");
        assertThat(c.name()).isEqualTo("chat " + c.text("gen_ai.request.model"));
        assertThat(c.attributes())
            .containsEntry("gen_ai.operation.name", "chat")
            .containsEntry("gen_ai.provider.name", "openai")
            .containsEntry("gen_ai.response.model", ScriptedLlmServer.MODEL)
            .containsEntry("gen_ai.usage.input_tokens", (long) ScriptedLlmServer.INPUT_TOKENS)
            .containsEntry("gen_ai.usage.output_tokens", (long) ScriptedLlmServer.OUTPUT_TOKENS)
            .containsEntry("gen_ai.response.finish_reasons", List.of("stop"))
            .containsEntry("llmstreams.llm.cache_hit", false)
            .containsEntry("llmstreams.llm.purpose", purposeOf(parent.name()));
      }

      // Chunks: every chunk of every document, once, in its document's context.
      Map<String, List<ReceivedSpan>> chunksByDocument = new TreeMap<>();
      for (ReceivedSpan c : ofKey.chunks()) {
        assertThat(c.kind()).isEqualTo("INTERNAL");
        assertThat(c.links()).isEmpty();
        assertThat(c.attributes())
            .containsEntry("llmstreams.summarizer.level", 0L)
            .containsEntry("llmstreams.summarizer.inputs", 1L)
            .containsEntry(
                "llmstreams.summarizer.output_tokens", (long) ScriptedLlmServer.OUTPUT_TOKENS)
            .containsKeys("llmstreams.summarizer.chunk.tokens", "llmstreams.summarizer.chunks");
        assertWindow(c);
        String doc = c.text("llmstreams.summarizer.document.id");
        assertThat(c.text("llmstreams.llm.request.id"))
            .isEqualTo(
                key
                    + "@"
                    + Instant.parse(WINDOW_START).toEpochMilli()
                    + "/"
                    + doc
                    + "/"
                    + c.attr("llmstreams.summarizer.chunk.index"));
        chunksByDocument.computeIfAbsent(doc, d -> new ArrayList<>()).add(c);
      }
      assertThat(chunksByDocument.keySet()).containsExactlyElementsOf(docIds);
      long chunks = 0;
      for (Map.Entry<String, List<ReceivedSpan>> e : chunksByDocument.entrySet()) {
        List<ReceivedSpan> mine = e.getValue();
        mine.sort(
            Comparator.comparingLong(s -> (Long) s.attr("llmstreams.summarizer.chunk.index")));
        long n = (Long) mine.get(0).attr("llmstreams.summarizer.chunks");
        assertThat(n).as("chunks of %s", e.getKey()).isGreaterThan(1);
        assertThat(mine)
            .extracting(s -> s.attr("llmstreams.summarizer.chunk.index"))
            .as("chunk indexes of %s", e.getKey())
            .containsExactlyElementsOf(LongStream.range(0, n).boxed().toList());
        assertThat(mine)
            .allSatisfy(s -> assertThat(s.attr("llmstreams.summarizer.chunks")).isEqualTo(n));
        chunks += n;
      }

      // Merges: of two summaries, linked to them.
      assertThat(ofKey.merges()).isNotEmpty();
      for (ReceivedSpan m : ofKey.merges()) {
        assertThat(m.kind()).isEqualTo("INTERNAL");
        assertThat(m.attributes())
            .containsEntry("llmstreams.summarizer.inputs", 2L)
            .containsEntry("llmstreams.llm.request.id", m.text("llmstreams.summarizer.merge.id"))
            .containsEntry(
                "llmstreams.summarizer.output_tokens", (long) ScriptedLlmServer.OUTPUT_TOKENS)
            .containsKeys(
                "llmstreams.summarizer.level",
                "llmstreams.summarizer.input_tokens",
                "llmstreams.summarizer.chunks");
        assertWindow(m);
        assertThat(m.links()).as("links of %s", m).hasSize(2);
        assertThat(m.links())
            .allSatisfy(
                l ->
                    assertThat(byId.get(l.spanId()).name())
                        .isIn("summarize_chunk", "merge_summaries"));
        assertThat(m.attr("llmstreams.summarizer.chunks"))
            .as("the chunks under %s", m)
            .isEqualTo(chunksUnder(m, byId));
      }
      assertThat(ofKey.syntheses())
          .allSatisfy(
              s -> {
                assertThat(s.kind()).isEqualTo("INTERNAL");
                assertThat(s.attributes())
                    .containsKeys(
                        "llmstreams.summarizer.synthesis.id",
                        "llmstreams.summarizer.synthesis.key",
                        "llmstreams.summarizer.tree.id",
                        "llmstreams.summarizer.level",
                        "llmstreams.summarizer.inputs",
                        "llmstreams.summarizer.documents",
                        "llmstreams.summarizer.chunks",
                        "llmstreams.summarizer.depth");
                assertThat(s.links())
                    .hasSize(((Long) s.attr("llmstreams.summarizer.inputs")).intValue());
              });

      // The latest synthesis records, read read_committed, carry the spans that wrote them, in one
      // trace: the window's (an LLM call over the window tree's top) and the all-time one over it.
      Map<String, ConsumerRecord<byte[], byte[]>> latest = latestSyntheses(key);
      String windowKey = key + "@" + WINDOW_START + "/" + WINDOW_END;
      assertThat(latest.keySet()).containsExactlyInAnyOrder(key, windowKey);
      ReceivedSpan windowSpan = null;
      ReceivedSpan allTimeSpan = null;
      for (ConsumerRecord<byte[], byte[]> r : latest.values()) {
        String traceparent = RecordLog.header(r, TraceHeaders.TRACEPARENT);
        assertThat(traceparent).as("the traceparent of synthesis " + RecordLog.key(r)).isNotNull();
        assertThat(traceparent).endsWith("-01");
        ReceivedSpan s = byId.get(spanIdOf(traceparent));
        assertThat(s).as("the span of synthesis " + RecordLog.key(r)).isNotNull();
        assertThat(s.traceId()).isEqualTo(traceIdOf(traceparent));
        assertThat(s.name()).isEqualTo("synthesize");
        Synthesis synthesis = synthesis(r);
        assertThat(synthesis.documents()).isEqualTo(5);
        assertThat(synthesis.chunks()).isEqualTo(chunks);
        assertThat(synthesis.sourceDocIds()).containsExactlyInAnyOrderElementsOf(docIds);
        assertThat(s.attributes())
            .containsEntry("llmstreams.summarizer.synthesis.key", RecordLog.key(r))
            .containsEntry("llmstreams.summarizer.documents", 5L)
            .containsEntry("llmstreams.summarizer.chunks", chunks)
            .containsEntry("llmstreams.summarizer.level", (long) synthesis.level())
            .containsEntry("llmstreams.summarizer.llm_input_tokens", synthesis.llmInputTokens());
        if (RecordLog.key(r).equals(key)) {
          allTimeSpan = s;
        } else {
          windowSpan = s;
        }
      }
      assertWindow(windowSpan);
      assertThat(windowSpan.attributes())
          .containsEntry(
              "llmstreams.summarizer.tree.id",
              key + "@" + Instant.parse(WINDOW_START).toEpochMilli())
          .containsEntry("llmstreams.summarizer.model", "openai/" + ScriptedLlmServer.MODEL)
          .containsEntry(
              "llmstreams.llm.request.id", windowSpan.text("llmstreams.summarizer.synthesis.id"));
      assertThat(allTimeSpan.attributes())
          .containsEntry("llmstreams.summarizer.tree", "all-time")
          .containsEntry("llmstreams.summarizer.tree.id", key)
          .containsEntry("llmstreams.summarizer.inputs", 1L)
          .doesNotContainKey("llmstreams.llm.request.id");
      assertThat(allTimeSpan.links())
          .as("the all-time synthesis is the window's latest")
          .extracting(ReceivedSpan.Link::spanId)
          .containsExactly(windowSpan.spanId());
      String synthesisTrace = windowSpan.traceId();
      assertThat(allTimeSpan.traceId()).as("both in one trace").isEqualTo(synthesisTrace);
      // That trace holds the round's merges: the window synthesis links to the latest of them.
      assertThat(windowSpan.links())
          .extracting(l -> byId.get(l.spanId()))
          .filteredOn(s -> s.name().equals("merge_summaries"))
          .extracting(ReceivedSpan::traceId)
          .as("merges the latest synthesis links to")
          .contains(synthesisTrace);

      // From the latest synthesis, links reach every chunk of the five documents.
      Set<String> reached = new HashSet<>();
      ArrayDeque<String> todo = new ArrayDeque<>(List.of(allTimeSpan.spanId()));
      while (!todo.isEmpty()) {
        String id = todo.pop();
        if (reached.add(id)) {
          byId.get(id).links().forEach(l -> todo.add(l.spanId()));
        }
      }
      assertThat(reached)
          .as("spans reached by links from the latest synthesis")
          .containsAll(ofKey.chunks().stream().map(ReceivedSpan::spanId).toList());
      assertThat(
              ofKey.chunks().stream()
                  .filter(c -> reached.contains(c.spanId()))
                  .map(ReceivedSpan::traceId)
                  .distinct()
                  .count())
          .as("traces of the chunks reached")
          .isEqualTo(ofKey.chunks().stream().map(ReceivedSpan::traceId).distinct().count());
      return new Traced(spans, chunksByDocument, chats, synthesisTrace);
    }

    private static String purposeOf(String spanName) {
      return switch (spanName) {
        case "summarize_chunk" -> "summarizer.chunk";
        case "merge_summaries" -> "summarizer.merge";
        default -> "summarizer.synthesis";
      };
    }

    /** The chunks a merge covers, counted down its links. */
    private static long chunksUnder(ReceivedSpan span, Map<String, ReceivedSpan> byId) {
      if (span.name().equals("summarize_chunk")) {
        return 1;
      }
      return span.links().stream().mapToLong(l -> chunksUnder(byId.get(l.spanId()), byId)).sum();
    }

    private static void assertWindow(ReceivedSpan s) {
      assertThat(s.attributes())
          .as(s.toString())
          .containsEntry("llmstreams.summarizer.tree", "window")
          .containsEntry("llmstreams.summarizer.window.start", WINDOW_START)
          .containsEntry("llmstreams.summarizer.window.end", WINDOW_END);
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
      // The calculator through tool-calls and its own worker's JVM (the trace this test follows),
      // not answered inline by the controller.
      for (String key :
          List.of(
              AppConfig.KAFKA_BOOTSTRAP,
              AppConfig.TOPICS_PREFIX,
              AppConfig.APPLICATION_ID,
              AppConfig.CONTROLLER_INLINE_TOOLS)) {
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
      Map<String, String> env = receiver.exporterEnv();
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

  /**
   * An app in this JVM asking the scripted LLM, with tracing on and no span export of its own (the
   * test runs it, pointed at its receiver: {@link #startExport}).
   */
  static Map<String, String> tracedApp(ScriptedLlmServer llm) {
    return Map.of(
        AppConfig.LLM_ROUTE_DEFAULT,
        "openai",
        AppConfig.provider("openai", "base.url"),
        llm.openAiBaseUrl().toString(),
        AppConfig.provider("openai", "api.key"),
        "sk-test-not-a-secret",
        AppConfig.TRACING_ENABLED,
        "true",
        AppConfig.TRACING_EXPORT,
        "false");
  }

  /** Ships the app's spans to the test's receiver (the app itself runs no span export). */
  static SpanExport startExport(AppConfig config, TopicCatalog catalog, OtlpReceiver receiver) {
    SpanExport export =
        new SpanExport(
            config.clientProperties(),
            KafkaCluster.uniqueName("span-export"),
            catalog.topic(Topics.SPANS).name(),
            TracingSettings.otel(receiver.exporterEnv(), new Properties()),
            new SimpleMeterRegistry());
    export.start();
    return export;
  }

  static void closeAll(AutoCloseable... closeables) throws Exception {
    for (AutoCloseable c : closeables) {
      if (c != null) {
        c.close();
      }
    }
  }
}
