package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A label and its calibrated confidence in [0, 1]. */
public record ScoredLabel(String label, @JsonProperty(required = true) double confidence) {
  public ScoredLabel {
    Require.text(label, "label");
    Require.between(confidence, 0.0, 1.0, "confidence");
  }
}
