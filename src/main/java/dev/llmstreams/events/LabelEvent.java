package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * A labelled example for training the specialist (topic role LABELS).
 *
 * @param eventId the classified event this label is for; null for examples with no event (an
 *     imported dataset)
 * @param source who labelled it: a person, or an LLM (an escalation's answer)
 * @param at when the label was given
 */
public record LabelEvent(String eventId, String text, String label, Source source, Instant at) {

  public enum Source {
    @JsonProperty("human")
    HUMAN,
    @JsonProperty("llm")
    LLM
  }

  public LabelEvent {
    Require.optionalText(eventId, "eventId");
    Require.present(text, "text");
    Require.text(label, "label");
    Require.present(source, "source");
    Require.present(at, "at");
  }
}
