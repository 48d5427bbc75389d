package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.SpecialistClassifier;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The specialist serving a real cascade (trained here on eight neighbouring Banking77 labels): each
 * event is decided by the stage the model says, counted per stage, shown on {@code /specialist}; an
 * event the hashed stage is sure of is kept even above the operator's threshold only when that
 * stage settled it.
 */
class SpecialistCascadeTopologyTest {
  private static final Instant START = Instant.parse("2026-12-05T08:00:00Z");
  private static SpecialistModel record;
  private static SpecialistClassifier model;
  private static List<LabeledText> test;

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private SpecialistTopology topology;
  private TestInputTopic<String, ClassificationRequest> requests;
  private TestInputTopic<String, SpecialistModel> models;
  private TestOutputTopic<String, Classification> classifications;
  private TestOutputTopic<String, LlmRequest> llmRequests;

  @BeforeAll
  static void train() {
    Set<String> labels =
        // Neighbours, so that the hashed stage is unsure of some.
        Set.of(
            "card_arrival",
            "card_delivery_estimate",
            "pending_transfer",
            "transfer_timing",
            "transfer_not_received_by_recipient",
            "pending_top_up",
            "top_up_failed",
            "top_up_reverted");
    List<LabeledText> train =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> labels.contains(e.label()))
            .toList();
    test =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> labels.contains(e.label()))
            .collect(Collectors.toList());
    record = ModelTrainer.train("banking77", train, TrainingOptions.defaults(), m -> {}).record();
    model = SpecialistModels.load(record);
  }

  private void start(Map<String, String> overrides) {
    Map<String, String> settings = new HashMap<>(overrides);
    AppConfig config = AppConfig.of(settings);
    SpecialistTopology.Settings s = SpecialistTopology.Settings.from(config, catalog, Map.of());
    CurrentModel current =
        new CurrentModel(s.modelName(), SpecialistModels::load, ModelTrust.off(), registry);
    driver =
        TestDrivers.create(
            (topology =
                    new SpecialistTopology(
                        catalog, s, current, ModelRetrainer.none(), Runnable::run, registry))
                .build(),
            StreamsSettings.forPattern(config, catalog, "specialist", registry),
            START);
    requests = DriverTopics.input(driver, catalog.topic(Topics.CLASSIFICATION_REQUESTS));
    models = DriverTopics.input(driver, catalog.topic(Topics.SPECIALIST_MODELS));
    classifications = DriverTopics.output(driver, catalog.topic(Topics.CLASSIFICATIONS));
    llmRequests = DriverTopics.output(driver, catalog.topic(Topics.LLM_REQUESTS));
    models.pipeInput(record.name(), record);
  }

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
  }

  private double decided(String stage) {
    var c = registry.find("llmstreams.specialist.stage.decisions").tags("stage", stage).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void shouldLabelEachEventWithTheStageThatDecidedItAndCountTheStages() {
    start(Map.of(AppConfig.SPECIALIST_THRESHOLD, "0"));
    for (int i = 0; i < test.size(); i++) {
      requests.pipeInput("e" + i, new ClassificationRequest("e" + i, test.get(i).text(), null));
    }

    List<Classification> out = classifications.readValuesToList();
    assertThat(out).hasSize(test.size());
    assertThat(out).allMatch(c -> c.source() == Classification.Source.SPECIALIST);
    assertThat(llmRequests.isEmpty()).isTrue();
    long settled =
        test.stream().map(e -> model.predict(e.text())).filter(Prediction::settled).count();
    assertThat(settled).isPositive().isLessThan(test.size());
    assertThat(decided("hashed")).isEqualTo(settled);
    assertThat(decided("ensemble")).isEqualTo(test.size() - settled);
    // Each classification is the model's own answer for its text.
    for (int i = 0; i < test.size(); i++) {
      assertThat(out.get(i).label()).isEqualTo(model.predict(test.get(i).text()).label());
    }
    Map<String, Object> status = topology.status();
    assertThat(status).containsEntry("kind", "cascade");
    assertThat(status).containsEntry("stageThreshold", model.stageThreshold());
    assertThat(status).containsEntry("threshold", 0.0);
    // Eight labels: each group of the out-of-scope calibration leaves some out.
    assertThat(status.get("outOfScope")).isEqualTo(record.metrics().get("outOfScope"));
    assertThat(record.metrics().get("outOfScope").get("groups").asInt()).isEqualTo(5);
    @SuppressWarnings("unchecked")
    Map<String, Double> stages = (Map<String, Double>) status.get("stages");
    assertThat(stages.get("hashed")).isCloseTo(settled / (double) test.size(), within(1e-9));
  }

  @Test
  void shouldKeepWhatTheHashedStageSettledAndEscalateTheEnsemblesUnsureAnswers() {
    // Above every ensemble answer but not a bar for the hashed stage: only what it settled is kept.
    start(Map.of(AppConfig.SPECIALIST_THRESHOLD, "1"));
    List<LabeledText> some = test.subList(0, 60);
    for (int i = 0; i < some.size(); i++) {
      requests.pipeInput("e" + i, new ClassificationRequest("e" + i, some.get(i).text(), null));
    }

    long settled = some.stream().filter(e -> model.predict(e.text()).settled()).count();
    assertThat(classifications.readValuesToList()).hasSize((int) settled);
    assertThat(llmRequests.readValuesToList()).hasSize(some.size() - (int) settled);
  }
}
