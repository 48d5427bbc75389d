package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classify tool, served by the specialist pattern's own topology beside its model (a real
 * hashed model).
 */
class ClassifyToolTest {
  @TempDir Path stateDir;

  @Test
  void shouldLabelATextForAGoalWithTheModelInServiceAndSayWhenThereIsNone() {
    TopicCatalog catalog = TopicCatalog.load();
    AppConfig config = AppConfig.of(Map.of(AppConfig.STATE_DIR, stateDir.toString()));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    SpecialistModule module = new SpecialistModule();
    Properties props = StreamsSettings.forPattern(config, catalog, "specialist", registry);
    props.putAll(module.streamsOverrides(config));
    try (TopologyTestDriver driver =
        TestDrivers.create(module.topology(catalog, config, registry), props)) {
      Topic<ToolCall> callsTopic = catalog.toolCalls("classify", ToolCall.class);
      TestInputTopic<String, ToolCall> calls =
          driver.createInputTopic(
              callsTopic.name(),
              callsTopic.keySerde().serializer(),
              callsTopic.valueSerde().serializer());
      Topic<ToolResult> resultsTopic = catalog.topic(Topics.TOOL_RESULTS);
      TestOutputTopic<String, ToolResult> results =
          driver.createOutputTopic(
              resultsTopic.name(),
              resultsTopic.keySerde().deserializer(),
              resultsTopic.valueSerde().deserializer());

      calls.pipeInput("g1", call("g1", 0, "{\"text\":\"my new card has not arrived yet\"}"));
      ToolResult none = results.readValue();
      assertThat(none.ok()).isFalse();
      assertThat(none.error()).contains("no specialist model 'banking77' is in service yet");

      List<LabeledText> data =
          LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
              .filter(e -> e.label().startsWith("card_"))
              .toList();
      SpecialistModel model =
          ModelTrainer.train(
                  "banking77",
                  data,
                  TrainingOptions.defaults().withKind(ModelKind.HASHED),
                  step -> {})
              .record();
      Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
      driver
          .createInputTopic(
              models.name(), models.keySerde().serializer(), models.valueSerde().serializer())
          .pipeInput("banking77", model);

      calls.pipeInput("g1", call("g1", 1, "{\"text\":\"my new card has not arrived yet\"}"));
      ToolResult labelled = results.readValue();
      assertThat(labelled.ok()).as(String.valueOf(labelled.error())).isTrue();
      assertThat(labelled.callId()).isEqualTo("g1/1/0");
      assertThat(labelled.result().path("label").asText()).isEqualTo("card_arrival");
      assertThat(labelled.result().path("confidence").asDouble()).isBetween(0.0, 1.0);
      assertThat(labelled.result().path("top").size()).isBetween(1, 3);
      assertThat(labelled.result().path("modelVersion").asText()).isEqualTo(model.version());
      assertThat(labelled.result().path("source").asText()).isEqualTo("specialist");

      calls.pipeInput("g1", call("g1", 2, "{\"label\":\"card_arrival\"}"));
      ToolResult invalid = results.readValue();
      assertThat(invalid.ok()).as("arguments are checked against the tool's schema").isFalse();
      assertThat(invalid.error()).contains("text");
    } finally {
      module.afterClose();
    }
  }

  private static ToolCall call(String goal, int step, String arguments) {
    return new ToolCall(
        ToolCall.callId(goal, step, 0),
        goal,
        step,
        0,
        "classify",
        Json.tree(arguments),
        1,
        10_000,
        null);
  }
}
