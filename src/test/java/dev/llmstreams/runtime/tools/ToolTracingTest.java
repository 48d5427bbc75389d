package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.TracingSettings;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One {@code execute_tool {tool}} span per call run; a repeat is answered without a new span. */
class ToolTracingTest {
  private static final String TRACE = "5b8aa5a2d2c872e8321cf37308d69df2";
  private static final String GOAL_SPAN = "051581bf3cb55c13";

  @TempDir Path stateDir;
  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, ToolCall> calls;
  private TestOutputTopic<String, ToolResult> results;
  private TestOutputTopic<String, SpanRecord> spans;

  private void start(Map<String, String> overrides) {
    Map<String, String> settings = new java.util.HashMap<>(overrides);
    settings.put(AppConfig.STATE_DIR, stateDir.toString());
    settings.put(AppConfig.TRACING_ENABLED, "true");
    AppConfig config = AppConfig.of(settings);
    Tool failing =
        new Tool() {
          @Override
          public String name() {
            return "calculator";
          }

          @Override
          public Outcome execute(JsonNode arguments, Duration timeLimit) throws ToolException {
            if (arguments.path("expression").asText().contains("/0")) {
              throw new ToolException("division by zero");
            }
            return Outcome.of(Json.tree("\"4\""));
          }
        };
    driver =
        TestDrivers.create(
            new ToolWorkersTopology(
                    catalog,
                    ToolRegistry.load(""),
                    List.of(failing),
                    meters,
                    Duration.ofSeconds(10),
                    "worker-1")
                .tracing(TracingSettings.of(config, k -> null).forService("llm-streams-tools"))
                .build(),
            StreamsSettings.forPattern(config, catalog, "tools", meters));
    calls = DriverTopics.input(driver, catalog.toolCalls("calculator", ToolCall.class));
    results = DriverTopics.output(driver, catalog.topic(Topics.TOOL_RESULTS));
    spans = DriverTopics.output(driver, catalog.topic(Topics.SPANS));
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private void send(String expression) {
    ToolCall call =
        new ToolCall(
            ToolCall.callId("g1", 1, 0),
            "g1",
            1,
            0,
            "calculator",
            Json.tree("{\"expression\":\"" + expression + "\"}"),
            1,
            10_000,
            null);
    RecordHeaders headers = new RecordHeaders();
    headers.add(
        "traceparent", ("00-" + TRACE + "-" + GOAL_SPAN + "-01").getBytes(StandardCharsets.UTF_8));
    calls.pipeInput(new TestRecord<>("g1", call, headers, 0L));
  }

  @Test
  void shouldRecordAToolSpanUnderTheGoalAndSendTheResultUnderIt() {
    start(Map.of());
    send("2+2");
    TestRecord<String, ToolResult> result = results.readRecord();
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.name()).isEqualTo("execute_tool calculator");
    assertThat(span.kind()).isEqualTo("INTERNAL");
    assertThat(span.traceId()).isEqualTo(TRACE);
    assertThat(span.parentSpanId()).isEqualTo(GOAL_SPAN);
    assertThat(span.status()).isEqualTo("OK");
    assertThat(TraceHeaders.read(result.headers()).getSpanId()).isEqualTo(span.spanId());
    assertThat(span.attributes())
        .containsEntry("gen_ai.operation.name", "execute_tool")
        .containsEntry("gen_ai.tool.name", "calculator")
        .containsEntry("gen_ai.tool.call.id", "g1/1/0")
        .containsEntry("gen_ai.tool.type", "function")
        .containsEntry("llmstreams.tool.outcome", "ok")
        .containsKey("gen_ai.tool.description")
        .doesNotContainKeys("gen_ai.tool.call.arguments", "gen_ai.tool.call.result");

    send("2+2"); // the same callId again: answered from the store, not run, no second span
    TestRecord<String, ToolResult> again = results.readRecord();
    assertThat(again.value()).isEqualTo(result.value());
    assertThat(spans.isEmpty()).isTrue();
    assertThat(TraceHeaders.read(again.headers()).getSpanId()).isEqualTo(GOAL_SPAN);
  }

  @Test
  void shouldMarkAFailedCallAndCaptureArgumentsOnlyWhenAskedTo() {
    start(Map.of(AppConfig.TRACING_CAPTURE_CONTENT, "true"));
    send("1/0");
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.status()).isEqualTo("ERROR");
    assertThat(span.statusMessage()).contains("division by zero");
    assertThat(span.attributes())
        .containsEntry("error.type", "tool_error")
        .containsEntry("llmstreams.tool.outcome", "error")
        .containsEntry("gen_ai.tool.call.arguments", "{\"expression\":\"1/0\"}");
  }
}
