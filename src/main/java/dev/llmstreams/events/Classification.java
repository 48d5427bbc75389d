package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.util.List;

/**
 * The label of one event (topic role CLASSIFICATIONS, keyed by eventId), from the specialist model
 * or, when it was not confident enough, from an LLM (or the offline engine, which is not one).
 *
 * @param confidence the calibrated confidence of label, in [0, 1]
 * @param top the best labels, best first (including label); may be empty
 * @param modelVersion the specialist model version, or the LLM model, that gave the label
 * @param latencyMicros time to label the event inside the application (for llm: including the LLM
 *     round trip)
 * @param escalationReason why the event went to an LLM (e.g. "confidence 0.41 < 0.70"); only when
 *     it was escalated
 * @param usage tokens of the LLM call; only when it was escalated
 * @param prompt the prompt (id and version) the event was escalated with; only when it was
 *     escalated (also when the LLM's answer was not used), absent in classifications written before
 *     it existed
 * @param llmModel the LLM the escalation went to, as {@code provider/model}; only when it was
 *     escalated and the gateway's reply names it
 * @param payload the request's {@code payload}, passed through untouched, so that a consumer of
 *     classifications has the event without joining it back; only when the request had one
 */
public record Classification(
    String eventId,
    String label,
    @JsonProperty(required = true) double confidence,
    List<ScoredLabel> top,
    String modelVersion,
    Source source,
    @JsonProperty(required = true) long latencyMicros,
    String escalationReason,
    Usage usage,
    PromptRef prompt,
    String llmModel,
    @JsonDeserialize(using = Json.ExactTree.class) JsonNode payload) {

  /**
   * Who gave the label: the specialist model; an LLM the event was escalated to; or the offline
   * engine, which is not an LLM (it picks the label whose words are nearest the text), when the
   * escalation's route ended there.
   */
  public enum Source {
    @JsonProperty("specialist")
    SPECIALIST,
    @JsonProperty("llm")
    LLM,
    @JsonProperty("offline-engine")
    OFFLINE_ENGINE;

    /** Whether the event was escalated: an LLM or the offline engine answered it. */
    public boolean escalated() {
      return this != SPECIALIST;
    }

    /**
     * The source as it is written in records, meters and spans: specialist, llm, offline-engine.
     */
    public String id() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /** A classification of an event that was not escalated, or that names no prompt. */
  public Classification(
      String eventId,
      String label,
      double confidence,
      List<ScoredLabel> top,
      String modelVersion,
      Source source,
      long latencyMicros,
      String escalationReason,
      Usage usage) {
    this(
        eventId,
        label,
        confidence,
        top,
        modelVersion,
        source,
        latencyMicros,
        escalationReason,
        usage,
        null,
        null,
        null);
  }

  public Classification {
    Require.text(eventId, "eventId");
    Require.text(label, "label");
    Require.between(confidence, 0.0, 1.0, "confidence");
    top = Require.list(top, "top");
    Require.text(modelVersion, "modelVersion");
    Require.present(source, "source");
    Require.atLeast(latencyMicros, 0, "latencyMicros");
    Require.optionalText(escalationReason, "escalationReason");
    Require.optionalText(llmModel, "llmModel");
    if (payload != null && payload.isNull()) {
      payload = null; // "payload": null in a request is no payload
    }
  }
}
