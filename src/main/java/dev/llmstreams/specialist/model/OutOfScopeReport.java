package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import java.util.Map;

/**
 * A model on texts of labels it never trained on: each one it keeps is a confident wrong label,
 * each one it escalates is what it should do.
 *
 * @param events texts evaluated
 * @param kept how many the model kept at the threshold
 * @param keptShare kept / events
 * @param threshold the threshold applied
 * @param keptAs how many were kept under each label
 */
public record OutOfScopeReport(
    @JsonProperty("events") int events,
    @JsonProperty("kept") int kept,
    @JsonProperty("kept_share") double keptShare,
    @JsonProperty("threshold") double threshold,
    @JsonProperty("kept_as") Map<String, Integer> keptAs) {

  public ObjectNode toJson() {
    return (ObjectNode) Json.toTree(this);
  }

  public String summary() {
    return String.format(
        java.util.Locale.ROOT,
        "out of scope: %d of %d events kept (%.1f%%) at threshold %.3f, the rest escalated",
        kept,
        events,
        100 * keptShare,
        threshold);
  }
}
