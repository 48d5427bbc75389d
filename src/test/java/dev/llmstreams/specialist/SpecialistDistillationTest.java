package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.Usage;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Distillation with the real models: the LLM's answers to escalations become labels, the real
 * retrainer ({@link SpecialistModule#modelTrainer}) learns from them, and the specialist escalates
 * less and less.
 */
class SpecialistDistillationTest {
  // Retrained models are stamped with the real clock, labels with the driver's: starting after any
  // real now keeps
  // every LLM label newer than every model in service, as one clock does in production.
  private static final Instant START = Instant.parse("2100-01-01T00:00:00Z");
  private static final Duration TICK = Duration.ofMillis(100);
  private static final long SEED = 77;
  private static final List<String> LABELS =
      List.of(
          "card_arrival",
          "exchange_rate",
          "lost_or_stolen_card",
          "top_up_failed",
          "pin_blocked",
          "change_pin",
          "request_refund",
          "cash_withdrawal_charge",
          "transfer_not_received_by_recipient",
          "activate_my_card");
  private static final int SEED_PER_LABEL = 4;
  private static final int BATCHES = 16;
  private static final int BATCH = 50;

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
  }

  @Test
  void shouldEscalateLessAsTheLlmsAnswersBecomeTrainingDataForTheRealModel() {
    Map<String, List<LabeledText>> byLabel =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> LABELS.contains(e.label()))
            .collect(Collectors.groupingBy(LabeledText::label));
    Random random = new Random(SEED);
    List<LabeledText> seed = new ArrayList<>();
    List<LabeledText> stream = new ArrayList<>();
    for (String label : LABELS) {
      List<LabeledText> examples = new ArrayList<>(byLabel.get(label));
      Collections.shuffle(examples, random);
      seed.addAll(examples.subList(0, SEED_PER_LABEL));
      stream.addAll(examples.subList(SEED_PER_LABEL, examples.size()));
    }
    Collections.shuffle(stream, random);
    assertThat(stream).hasSizeGreaterThanOrEqualTo(BATCHES * BATCH);

    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.SPECIALIST_TICK_MS,
                Long.toString(TICK.toMillis()),
                AppConfig.SPECIALIST_THRESHOLD,
                "0.99",
                AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS,
                "40",
                // Each retraining holds out a few of the 40: the gate decides on as few as 5.
                AppConfig.SPECIALIST_PROMOTION_MIN_EXAMPLES,
                "5"));
    SpecialistTopology.Settings settings =
        SpecialistTopology.Settings.from(config, catalog, Map.of());
    CurrentModel current = new CurrentModel(settings.modelName(), SpecialistModels::load, registry);
    driver =
        TestDrivers.create(
            new SpecialistTopology(
                    catalog,
                    settings,
                    current,
                    SpecialistModule.modelTrainer(settings.modelName()),
                    Runnable::run,
                    registry)
                .build(),
            StreamsSettings.forPattern(config, catalog, "specialist", registry),
            START);
    TestInputTopic<String, ClassificationRequest> requests =
        DriverTopics.input(driver, catalog.topic(Topics.CLASSIFICATION_REQUESTS));
    TestInputTopic<String, LlmReply> replies =
        DriverTopics.input(driver, catalog.topic(Topics.SPECIALIST_LLM_REPLIES));
    TestInputTopic<String, LabelEvent> labels =
        DriverTopics.input(driver, catalog.topic(Topics.LABELS));
    TestInputTopic<String, SpecialistModel> models =
        DriverTopics.input(driver, catalog.topic(Topics.SPECIALIST_MODELS));
    TestOutputTopic<String, LlmRequest> llmRequests =
        DriverTopics.output(driver, catalog.topic(Topics.LLM_REQUESTS));
    TestOutputTopic<String, LabelEvent> labelsOut =
        DriverTopics.output(driver, catalog.topic(Topics.LABELS));
    TestOutputTopic<String, SpecialistModel> modelsOut =
        DriverTopics.output(driver, catalog.topic(Topics.SPECIALIST_MODELS));
    TestOutputTopic<String, Classification> classifications =
        DriverTopics.output(driver, catalog.topic(Topics.CLASSIFICATIONS));

    // The initial model, as `train --publish` would build it, from a handful of examples per label;
    // its data set is
    // on `labels` too, labelled when the model was built, so the trainer trains on it but counts
    // none of it as new.
    // Half held out for calibration (the recipe retrains repeat): the default tenth is one dev
    // example a label, and
    // the temperature fitted on it made a seed model of 3 a label all but certain of everything
    // (median confidence
    // 0.9998 at 73% accuracy on the stream), so it escalated 2% of it.
    TrainingOptions recipe =
        new TrainingOptions(
            ModelKind.HASHED,
            SEED,
            0.5,
            0,
            0.97,
            TrainingOptions.HASHED_RECIPE,
            TrainingOptions.EMBEDDING_RECIPE,
            EncoderModel.MINILM);
    SpecialistModel initial =
        ModelTrainer.train(
                settings.modelName(),
                seed,
                recipe,
                step -> {},
                null,
                Clock.fixed(START, ZoneOffset.UTC))
            .record();
    models.pipeInput(initial.name(), initial);
    seed.forEach(
        e ->
            labels.pipeInput(
                null, new LabelEvent(null, e.text(), e.label(), LabelEvent.Source.HUMAN, START)));
    labelsOut.readRecordsToList();
    assertThat(current.get().version()).isEqualTo(initial.version());

    List<Double> shares = new ArrayList<>();
    Set<String> served = new LinkedHashSet<>();
    Map<String, String> truth = new HashMap<>();
    int answered = 0;
    int n = 0;
    for (int batch = 0; batch < BATCHES; batch++) {
      served.add(current.get().version());
      int escalated = 0;
      for (int i = 0; i < BATCH; i++) {
        LabeledText e = stream.get(n);
        String id = "e" + n++;
        truth.put(id, e.label());
        requests.pipeInput(id, new ClassificationRequest(id, e.text(), null));
        for (LlmRequest asked : llmRequests.readValuesToList()) {
          escalated++;
          replies.pipeInput(
              asked.correlationId(), llmStandIn(asked, truth.get(asked.correlationId())));
        }
      }
      // The driver feeds the labels the topology writes back to its own `labels` source, as the
      // broker would.
      List<LabelEvent> learned = labelsOut.readValuesToList();
      assertThat(learned)
          .hasSize(escalated)
          .allSatisfy(l -> assertThat(l.source()).isEqualTo(LabelEvent.Source.LLM));
      answered += learned.size();
      shares.add(escalated / (double) BATCH);
      driver.advanceWallClockTime(
          TICK); // the trainer's tick: retrain on the labels so far, publish if better
    }
    var trainer =
        driver
            .<String, Train.State>getKeyValueStore(SpecialistTopology.TRAINER_STORE)
            .get(Train.STATE_KEY);
    System.out.println(
        "distillation: escalation share per batch of "
            + BATCH
            + ": "
            + shares
            + "; models served "
            + served
            + "; retrains published "
            + count("published")
            + ", rejected "
            + count("rejected")
            + ", failed "
            + count("failed")
            + "; examples "
            + trainer.examples());

    assertThat(trainer.examples())
        .as("every LLM answer reached the trainer once")
        .isEqualTo(seed.size() + answered);
    assertThat(classifications.readValuesToList())
        .extracting(Classification::eventId)
        .doesNotHaveDuplicates()
        .hasSize(n);
    double first = (shares.get(0) + shares.get(1)) / 2;
    double last = (shares.get(BATCHES - 2) + shares.get(BATCHES - 1)) / 2;
    assertThat(first).as("escalation share of the first two batches").isGreaterThan(0.5);
    assertThat(last)
        .as("escalation share of the last two batches, against the first two")
        .isLessThanOrEqualTo(first / 2);
    assertThat(count("published")).isGreaterThanOrEqualTo(1);
    assertThat(modelsOut.readValuesToList())
        .isNotEmpty()
        .allSatisfy(m -> assertThat(m.version()).isNotEqualTo(initial.version()));
    assertThat(current.get().version())
        .as("a retrained model is served")
        .isNotEqualTo(initial.version());
    assertThat(served).hasSizeGreaterThan(1);
  }

  /**
   * Stands in for the LLM gateway: answers an escalation with the true label, as a good LLM would.
   */
  private static LlmReply llmStandIn(LlmRequest request, String label) {
    return new LlmReply(
        request.requestId(),
        request.correlationId(),
        request.purpose(),
        "{\"label\":\"" + label + "\",\"confidence\":0.95}",
        List.of(),
        "stop",
        new Usage(300, 12),
        0.0004,
        850,
        "openai",
        "gpt-4o-mini",
        false,
        null);
  }

  private double count(String outcome) {
    var c = registry.find("llmstreams.specialist.retrains").tags("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }
}
