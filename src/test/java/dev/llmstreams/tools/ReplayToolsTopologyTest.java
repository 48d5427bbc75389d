package dev.llmstreams.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.tools.RecordedResults;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.runtime.tools.ToolWorkersTopology;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool workers of a replay: a call the original run made is answered from its recorded result
 * (arguments matched whatever their keys' order), a new call of a read-only tool runs, and any
 * other new call is answered "not executed in replay", with nothing written but the result.
 */
class ReplayToolsTopologyTest {
  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final RecordedResults recorded = new RecordedResults();
  @TempDir Path stateDir;
  private TopologyTestDriver driver;
  private TestOutputTopic<String, ToolResult> results;

  @BeforeEach
  void setUp() {
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.STATE_DIR, stateDir.toString(),
                AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS, "alerts",
                AppConfig.TOOLS_HTTP_ALLOWED_HOSTS, "127.0.0.1"));
    // What the original run's tools returned: deliberately not what the calculator would say now,
    // so that an answer from the record cannot be mistaken for a run.
    recorded.add(
        "g1",
        "calculator",
        Json.tree("{\"expression\":\"6 * 7\"}"),
        new ToolResult(
            "g1/1/0",
            "g1",
            "calculator",
            true,
            Json.tree("{\"value\":\"recorded 42\"}"),
            null,
            3,
            "tools@prod/1"));
    recorded.add(
        "g1",
        "publish",
        Json.tree("{\"topic\":\"alerts\",\"key\":\"k\",\"record\":{\"a\":1,\"b\":[1,2]}}"),
        new ToolResult(
            "g1/2/0",
            "g1",
            "publish",
            true,
            Json.tree("{\"published\":true}"),
            null,
            5,
            "tools@prod/1"));
    ToolRegistry registry = ToolRegistry.load("");
    var topology =
        new ToolWorkersTopology(
                catalog,
                registry,
                ReplayToolsModule.tools(catalog, registry, config, Map.of()),
                meters,
                Duration.ofSeconds(10),
                "replay-worker")
            .answeredFromRecord(recorded)
            .build();
    driver =
        TestDrivers.create(topology, StreamsSettings.forPattern(config, catalog, "tools", meters));
    Topic<ToolResult> out = catalog.topic(Topics.TOOL_RESULTS);
    results =
        driver.createOutputTopic(
            out.name(), out.keySerde().deserializer(), out.valueSerde().deserializer());
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private ToolResult send(String goal, int step, String tool, String arguments) {
    ToolCall call =
        new ToolCall(
            ToolCall.callId(goal, step, 0),
            goal,
            step,
            0,
            tool,
            Json.tree(arguments),
            1,
            10_000,
            null);
    Topic<ToolCall> t = catalog.toolCalls(tool, ToolCall.class);
    driver
        .createInputTopic(t.name(), t.keySerde().serializer(), t.valueSerde().serializer())
        .pipeInput(goal, call);
    TestRecord<String, ToolResult> r = results.readRecord();
    assertThat(r.key()).isEqualTo(goal);
    assertThat(r.value().callId()).isEqualTo(call.callId());
    assertThat(results.isEmpty()).isTrue();
    return r.value();
  }

  @Test
  void shouldAnswerACallTheOriginalMadeFromItsRecordedResult() {
    ToolResult r = send("g1", 3, "calculator", "{\"expression\":\"6 * 7\"}");
    assertThat(r.ok()).isTrue();
    assertThat(r.result().path("value").asText()).isEqualTo("recorded 42");
    assertThat(r.worker()).isEqualTo("recorded:tools@prod/1");
    assertThat(r.callId()).isEqualTo("g1/3/0");
    assertThat(r.durationMs()).isEqualTo(3);
    assertThat(RecordedResults.answeredFromRecord(r)).isTrue();
    assertThat(
            meters
                .get("llmstreams.tools.calls")
                .tags("tool", "calculator", "outcome", "recorded")
                .counter()
                .count())
        .isEqualTo(1.0);
  }

  @Test
  void shouldAnswerARecordedWriteFromTheRecordWhateverTheOrderOfItsArgumentsKeys() {
    ToolResult r =
        send(
            "g1",
            2,
            "publish",
            "{\"record\":{\"b\":[1,2],\"a\":1},\"key\":\"k\",\"topic\":\"alerts\"}");
    assertThat(r.ok()).isTrue();
    assertThat(r.result().path("published").asBoolean()).isTrue();
    assertThat(r.worker()).startsWith("recorded:");
  }

  @Test
  void shouldRunANewCallOfAReadOnlyTool() {
    ToolResult r = send("g1", 4, "calculator", "{\"expression\":\"6 + 1\"}");
    assertThat(r.ok()).isTrue();
    assertThat(r.result().path("value").asText()).isEqualTo("7");
    assertThat(r.worker()).isEqualTo("replay-worker");
    // The same arguments in another goal were never recorded there: run too, not borrowed.
    ToolResult other = send("g2", 1, "calculator", "{\"expression\":\"6 * 7\"}");
    assertThat(other.result().path("value").asText()).isEqualTo("42");
    assertThat(other.worker()).isEqualTo("replay-worker");
  }

  @Test
  void shouldNeverExecuteANewCallOfAToolWithEffects() {
    ToolResult publish = send("g1", 5, "publish", "{\"topic\":\"alerts\",\"record\":{\"a\":2}}");
    assertThat(publish.ok()).isFalse();
    assertThat(publish.error())
        .startsWith("not executed in replay: publish is not read-only")
        .contains("never made this call");
    assertThat(RecordedResults.notExecuted(publish)).isTrue();
    ToolResult get = send("g1", 6, "http_get", "{\"url\":\"http://127.0.0.1:1/x\"}");
    assertThat(get.error()).startsWith("not executed in replay: http_get is not read-only");
    // Nothing but results (and the store's changelog, and the input rerouting of the app's own
    // internal topics) leaves the replay's workers: no record on the publish target.
    assertThat(driver.producedTopicNames())
        .doesNotContain("alerts")
        .filteredOn(t -> !t.startsWith("llm-streams-tools-"))
        .containsExactly(catalog.topic(Topics.TOOL_RESULTS).name());
  }

  @Test
  void shouldSayWhyAReadOnlyToolWithoutAWorkerInTheReplayDidNotRun() {
    ToolResult classify = send("g1", 7, "classify", "{\"text\":\"where is my card?\"}");
    assertThat(classify.error())
        .isEqualTo(
            "not executed in replay: classify is read-only, but its worker does not run in a replay");
    ToolResult synthesis = send("g1", 8, "synthesis", "{\"key\":\"alpha\"}");
    assertThat(synthesis.error()).contains("tools.synthesis.url is not set");
  }
}
