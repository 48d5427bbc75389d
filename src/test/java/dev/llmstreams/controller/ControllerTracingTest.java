package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.events.Usage;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A goal's records continue its producer's trace; its span is recorded once, at its end. */
class ControllerTracingTest {
  private static final Instant START = Instant.parse("2026-12-05T08:00:00Z");
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PRODUCER_SPAN = "00f067aa0ba902b7";

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, Goal> goals;
  private TestInputTopic<String, LlmReply> replies;
  private TestInputTopic<String, ToolResult> results;
  private TestOutputTopic<String, LlmRequest> requests;
  private TestOutputTopic<String, ToolCall> calculatorCalls;
  private TestOutputTopic<String, GoalResult> goalResults;
  private TestOutputTopic<String, GoalEvent> goalEvents;
  private TestOutputTopic<String, SpanRecord> spans;

  private void start(String tracing) {
    AppConfig config =
        AppConfig.of(
            Map.of(
                "controller.tick.ms",
                "100",
                "tracing.enabled",
                tracing,
                // the calls' trace context on tool-calls is what is tested
                AppConfig.CONTROLLER_INLINE_TOOLS,
                ""));
    driver =
        TestDrivers.create(
            new ControllerModule().topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "controller", registry),
            START);
    goals = DriverTopics.input(driver, catalog.topic(Topics.GOALS));
    replies = DriverTopics.input(driver, catalog.topic(Topics.CONTROLLER_LLM_REPLIES));
    results = DriverTopics.input(driver, catalog.topic(Topics.TOOL_RESULTS));
    requests = DriverTopics.output(driver, catalog.topic(Topics.CONTROLLER_LLM_REQUESTS));
    calculatorCalls = DriverTopics.output(driver, catalog.toolCalls("calculator", ToolCall.class));
    goalResults = DriverTopics.output(driver, catalog.topic(Topics.GOAL_RESULTS));
    goalEvents = DriverTopics.output(driver, catalog.topic(Topics.GOAL_EVENTS));
    spans = DriverTopics.output(driver, catalog.topic(Topics.SPANS));
  }

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
  }

  private static Headers traceparent(String value) {
    RecordHeaders h = new RecordHeaders();
    h.add("traceparent", value.getBytes(StandardCharsets.UTF_8));
    h.add("tracestate", "vendor=abc".getBytes(StandardCharsets.UTF_8));
    return h;
  }

  private static String header(TestRecord<?, ?> r, String key) {
    var h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static Goal goal(String id) {
    return new Goal(id, "What is 2+3?", List.of("calculator"), null, null, null, Map.of(), null);
  }

  private static LlmReply reply(LlmRequest request, String content, ToolCallRequest... calls) {
    return new LlmReply(
        request.requestId(),
        request.correlationId(),
        request.purpose(),
        content,
        List.of(calls),
        calls.length == 0 ? "stop" : "tool_calls",
        new Usage(100, 20),
        0.001,
        200,
        "openai",
        "gpt-test",
        false,
        null);
  }

  /** Runs g1 through one tool call to its answer; returns every record it wrote, in order. */
  private void runGoal(TestRecord<String, Goal> goal) {
    goals.pipeInput(goal);
    TestRecord<String, LlmRequest> first = requests.readRecord();
    replies.pipeInput(
        "g1",
        reply(
            first.value(),
            null,
            new ToolCallRequest("a", "calculator", Json.tree("{\"expression\":\"2+3\"}"))));
    TestRecord<String, ToolCall> call = calculatorCalls.readRecord();
    assertThat(TraceHeaders.traceId(call.headers()))
        .isEqualTo(TraceHeaders.traceId(first.headers()));
    ToolCall c = call.value();
    results.pipeInput(
        "g1", new ToolResult(c.callId(), "g1", "calculator", true, Json.tree("5"), null, 3, "w"));
    TestRecord<String, LlmRequest> second = requests.readRecord();
    assertThat(header(second, "traceparent")).isEqualTo(header(first, "traceparent"));
    replies.pipeInput("g1", reply(second.value(), "5"));
  }

  @Test
  void shouldContinueTheProducersTraceAndRecordOneGoalSpan() {
    start("true");
    runGoal(
        new TestRecord<>(
            "g1", goal("g1"), traceparent("00-" + TRACE + "-" + PRODUCER_SPAN + "-01"), START));

    TestRecord<String, GoalResult> result = goalResults.readRecord();
    String parent = header(result, "traceparent");
    assertThat(parent).startsWith("00-" + TRACE + "-").endsWith("-01");
    String goalSpanId = parent.substring(36, 52);
    assertThat(goalSpanId).isNotEqualTo(PRODUCER_SPAN);
    assertThat(header(result, "tracestate")).isEqualTo("vendor=abc");
    assertThat(goalEvents.readRecordsToList())
        .isNotEmpty()
        .allSatisfy(e -> assertThat(header(e, "traceparent")).isEqualTo(parent));

    List<SpanRecord> recorded = spans.readValuesToList();
    assertThat(recorded).hasSize(1);
    SpanRecord span = recorded.get(0);
    assertThat(span.name()).isEqualTo("invoke_agent controller");
    assertThat(span.kind()).isEqualTo("INTERNAL");
    assertThat(span.traceId()).isEqualTo(TRACE);
    assertThat(span.spanId()).isEqualTo(goalSpanId);
    assertThat(span.parentSpanId()).isEqualTo(PRODUCER_SPAN);
    assertThat(span.traceState()).isEqualTo("vendor=abc");
    assertThat(span.status()).isEqualTo("OK");
    assertThat(span.service()).isEqualTo("llm-streams-controller");
    assertThat(span.attributes())
        .containsEntry("gen_ai.operation.name", "invoke_agent")
        .containsEntry("gen_ai.agent.name", "controller")
        .containsEntry("gen_ai.conversation.id", "g1")
        .containsEntry("llmstreams.goal.status", "succeeded")
        .containsEntry("llmstreams.goal.steps", 2L)
        .containsEntry("gen_ai.usage.input_tokens", 200L)
        .containsEntry("gen_ai.usage.output_tokens", 40L)
        .containsEntry("gen_ai.request.model", "gpt-test")
        .containsEntry("gen_ai.provider.name", "openai")
        .doesNotContainKey("gen_ai.input.messages"); // content capture is off by default
    assertThat(span.endEpochNanos()).isGreaterThanOrEqualTo(span.startEpochNanos());
  }

  @Test
  void shouldStartATraceForAGoalWithoutOneOrWithAMalformedOne() {
    start("true");
    runGoal(new TestRecord<>("g1", goal("g1"), traceparent("00-not-a-trace-01"), START));
    TestRecord<String, GoalResult> result = goalResults.readRecord();
    String trace = TraceHeaders.traceId(result.headers());
    assertThat(trace).isNotNull().isNotEqualTo(TRACE);
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.traceId()).isEqualTo(trace);
    assertThat(span.parentSpanId()).as("a root span").isNull();
  }

  @Test
  void shouldRecordNoSpanButStillPropagateContextWhenTracingIsOff() {
    start("false");
    runGoal(
        new TestRecord<>(
            "g1", goal("g1"), traceparent("00-" + TRACE + "-" + PRODUCER_SPAN + "-01"), START));
    assertThat(TraceHeaders.traceId(goalResults.readRecord().headers())).isEqualTo(TRACE);
    assertThat(spans.isEmpty()).isTrue();
  }

  @Test
  void shouldRecordNothingForATraceTheProducerDidNotSample() {
    start("true");
    runGoal(
        new TestRecord<>(
            "g1", goal("g1"), traceparent("00-" + TRACE + "-" + PRODUCER_SPAN + "-00"), START));
    assertThat(header(goalResults.readRecord(), "traceparent")).endsWith("-00");
    assertThat(spans.isEmpty()).as("parent-based sampling keeps the producer's decision").isTrue();
  }
}
