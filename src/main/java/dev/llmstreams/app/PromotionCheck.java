package dev.llmstreams.app;

import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.PromotionGate;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The promotion gate of {@code train --publish}: before a model trained from a file may replace the
 * one in service, both are scored on the labelled events of {@code labels} that arrived after the
 * model in service was built and are not in the candidate's training file (so neither has trained
 * on them), and {@link PromotionGate} decides. Reads committed data only, with no consumer group.
 */
final class PromotionCheck {
  static final String DECIDED_BY = "train --publish";

  private PromotionCheck() {}

  /**
   * The gate's decision about {@code candidate}.
   *
   * @param trainingTexts the texts the candidate trained on: never scored on
   */
  static ModelPromotion decide(
      AppConfig config,
      TopicCatalog catalog,
      SpecialistModel record,
      TextClassifier candidate,
      Set<String> trainingTexts,
      Progress progress,
      Clock clock) {
    PromotionGate gate =
        new PromotionGate(
            config.getDouble(AppConfig.SPECIALIST_PROMOTION_TOLERANCE),
            config.getInt(AppConfig.SPECIALIST_PROMOTION_MIN_EXAMPLES));
    Double configured = config.getDouble(AppConfig.SPECIALIST_THRESHOLD);
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-train-")) {
      SpecialistModel serving = latestModel(consumer, catalog, record.name());
      if (serving == null) {
        progress.say("no model %s in service: the candidate goes in", record.name());
        return gate.decide(null, null, null, 0, clock.instant(), DECIDED_BY);
      }
      TextClassifier incumbent;
      try {
        incumbent = SpecialistModels.load(serving);
      } catch (RuntimeException e) {
        return new ModelPromotion(
            ModelPromotion.Decision.REJECTED,
            "the model in service ("
                + serving.version()
                + ") cannot be loaded here to compare with: "
                + e.getMessage()
                + " (train --publish --force skips the gate)",
            clock.instant(),
            0,
            null,
            null,
            serving.version(),
            DECIDED_BY);
      }
      List<LabeledText> recent =
          recentLabels(
              consumer, catalog, serving.createdAt(), trainingTexts, judgedBy(config), progress);
      progress.say(
          "scoring the candidate and %s on %d labelled events newer than it and not in the training file",
          serving.version(), recent.size());
      // Events of the candidate's out-of-scope label are judged as such for both models.
      String outOfScope = TrainingOptions.outOfScopeLabelOf(record.config());
      ModelPromotion.Scores c =
          recent.isEmpty()
              ? null
              : PromotionGate.score(
                  candidate,
                  recent,
                  configured != null ? configured : candidate.recommendedThreshold(),
                  outOfScope);
      ModelPromotion.Scores i =
          recent.isEmpty()
              ? null
              : PromotionGate.score(
                  incumbent,
                  recent,
                  configured != null ? configured : incumbent.recommendedThreshold(),
                  outOfScope);
      return gate.decide(c, i, serving.version(), recent.size(), clock.instant(), DECIDED_BY);
    }
  }

  /**
   * The latest committed record under {@code key} on specialist-models (a model's name, or {@code
   * <name>/rejected}), or null when there is none or it was deleted (a tombstone).
   */
  static SpecialistModel latestModel(
      KafkaConsumer<byte[], byte[]> consumer, TopicCatalog catalog, String name) {
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    byte[] key = name.getBytes(StandardCharsets.UTF_8);
    SpecialistModel[] latest = new SpecialistModel[1];
    TopicReads.all(
        consumer,
        models.name(),
        r -> {
          if (java.util.Arrays.equals(key, r.key())) {
            latest[0] =
                r.value() == null
                    ? null
                    : models.valueSerde().deserializer().deserialize(models.name(), r.value());
          }
        });
    return latest[0];
  }

  /**
   * The labelled events after {@code since} that are not among {@code exclude}, from the sources of
   * {@code judgedBy}: one per event (or per text, for a label with no event), a person's label
   * winning over an LLM's, an LLM's over the offline engine's, else the latest.
   */
  private static List<LabeledText> recentLabels(
      KafkaConsumer<byte[], byte[]> consumer,
      TopicCatalog catalog,
      Instant since,
      Set<String> exclude,
      Set<LabelEvent.Source> judgedBy,
      Progress progress) {
    Topic<LabelEvent> labels = catalog.topic(Topics.LABELS);
    Map<String, LabelEvent> byEvent = new LinkedHashMap<>();
    long[] read = {0, 0, 0};
    // Labels are stamped when given; the record's time is no earlier, so nothing newer is skipped.
    TopicReads.since(
        consumer,
        labels.name(),
        since.plusMillis(1),
        r -> {
          read[0]++;
          LabelEvent label;
          try {
            label = labels.valueSerde().deserializer().deserialize(labels.name(), r.value());
            label = label == null ? null : label.atRecordTime(r.timestamp());
          } catch (RuntimeException e) {
            read[1]++;
            return; // the specialist dead-letters it; it is no evidence here
          }
          if (label == null || !label.at().isAfter(since) || exclude.contains(label.text())) {
            return;
          }
          if (!judgedBy.contains(label.source())) {
            read[2]++;
            return; // specialist.learn.from leaves this source out: the in-app trainer does too
          }
          String k = label.eventId() != null ? "event:" + label.eventId() : "text:" + label.text();
          LabelEvent known = byEvent.get(k);
          if (known == null || !known.source().outranks(label.source())) {
            byEvent.put(k, label);
          }
        });
    progress.say(
        "read %,d labelled events from %s (%,d unreadable, %,d from sources specialist.learn.from"
            + " leaves out), %,d of them newer than the model in service and unseen by the candidate",
        read[0], labels.name(), read[1], read[2], byEvent.size());
    List<LabeledText> out = new ArrayList<>(byEvent.size());
    byEvent.values().forEach(l -> out.add(new LabeledText(l.text(), l.label())));
    return out;
  }

  /** The label sources the gate judges by: those of specialist.learn.from, as the trainer's. */
  static Set<LabelEvent.Source> judgedBy(AppConfig config) {
    return LabelEvent.Source.of(config.getList(AppConfig.SPECIALIST_LEARN_FROM));
  }

  /** The decision of a model put in service without the gate. */
  static ModelPromotion forced(String decidedBy, Clock clock) {
    return new ModelPromotion(
        ModelPromotion.Decision.FORCED,
        "put in service without the promotion gate (" + decidedBy + ")",
        clock.instant(),
        0,
        null,
        null,
        null,
        decidedBy);
  }

  static Set<String> texts(List<LabeledText> examples) {
    Set<String> out = new java.util.HashSet<>();
    examples.forEach(e -> out.add(e.text()));
    return out;
  }
}
