package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;

/**
 * An event to classify (topic role CLASSIFICATION_REQUESTS, keyed by eventId).
 *
 * @param text the text the specialist reads
 * @param payload the rest of the event, passed through untouched; optional
 */
public record ClassificationRequest(
    String eventId, String text, @JsonDeserialize(using = Json.ExactTree.class) JsonNode payload) {
  public ClassificationRequest {
    Require.text(eventId, "eventId");
    Require.present(text, "text");
  }
}
