package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ScoredLabel;
import java.util.List;

/**
 * A model's answer for one text.
 *
 * @param label the best label
 * @param confidence its calibrated probability, in [0, 1]
 * @param top the best labels, best first (label included), at most three
 * @param stage which part of the model decided: its kind ({@code hashed}, {@code embedding}, {@code
 *     ensemble}), or in a cascade the stage ({@code hashed} when the cheap first stage was sure,
 *     else {@code ensemble})
 * @param settled true when a cascade's first stage was sure (its confidence reached the stage's own
 *     threshold, fitted at training), so no further threshold applies; false when the confidence is
 *     to be compared with the model's threshold (or the operator's)
 */
public record Prediction(
    String label, double confidence, List<ScoredLabel> top, String stage, boolean settled) {
  public Prediction {
    top = List.copyOf(top);
  }

  /** A prediction of a one-stage model. */
  public Prediction(String label, double confidence, List<ScoredLabel> top) {
    this(label, confidence, top, null, false);
  }

  /** Whether the event is kept (not escalated) at this threshold. */
  public boolean keptAt(double threshold) {
    return settled || confidence >= threshold;
  }
}
