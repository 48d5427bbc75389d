package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import java.util.Map;

/**
 * A model on labelled held-out data.
 *
 * @param eventsPerS predictions per second, one thread, one text per call
 * @param coverageAtThreshold share of events whose confidence is at least the threshold (kept, not
 *     escalated)
 * @param accuracyAtThreshold accuracy on those kept events (0 when none is kept)
 * @param stageShares share of events each stage decided (a cascade: {@code hashed} and {@code
 *     ensemble}; other models: their kind alone)
 */
public record EvaluationReport(
    @JsonProperty("accuracy") double accuracy,
    @JsonProperty("macro_f1") double macroF1,
    @JsonProperty("per_label") Map<String, LabelScores> perLabel,
    @JsonProperty("events_per_s") double eventsPerS,
    @JsonProperty("coverage_at_threshold") double coverageAtThreshold,
    @JsonProperty("accuracy_at_threshold") double accuracyAtThreshold,
    @JsonProperty("threshold") double threshold,
    @JsonProperty("stage_shares") Map<String, Double> stageShares) {

  /** One label's scores; support is its number of true examples. */
  public record LabelScores(
      @JsonProperty("precision") double precision,
      @JsonProperty("recall") double recall,
      @JsonProperty("f1") double f1,
      @JsonProperty("support") int support) {}

  public ObjectNode toJson() {
    return (ObjectNode) Json.toTree(this);
  }

  /**
   * One line for people: accuracy, macro F1, coverage and accuracy at the threshold, speed, and
   * which stage decided how much when more than one did.
   */
  public String summary() {
    String stages =
        stageShares == null || stageShares.size() < 2
            ? ""
            : "; decided by "
                + String.join(
                    ", ",
                    stageShares.entrySet().stream()
                        .map(
                            e ->
                                String.format(
                                    java.util.Locale.ROOT,
                                    "%s %.1f%%",
                                    e.getKey(),
                                    100 * e.getValue()))
                        .toList());
    return String.format(
            java.util.Locale.ROOT,
            "accuracy %.4f, macro-F1 %.4f, at threshold %.3f: coverage %.4f, accuracy %.4f; %.0f events/s",
            accuracy,
            macroF1,
            threshold,
            coverageAtThreshold,
            accuracyAtThreshold,
            eventsPerS)
        + stages;
  }
}
