package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ScoredLabel;
import java.util.List;

/**
 * A model's answer for one text.
 *
 * @param label the best label
 * @param confidence its calibrated probability, in [0, 1]
 * @param top the best labels, best first (label included), at most three
 */
public record Prediction(String label, double confidence, List<ScoredLabel> top) {
  public Prediction {
    top = List.copyOf(top);
  }
}
