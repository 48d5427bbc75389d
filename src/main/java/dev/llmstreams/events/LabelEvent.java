package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * A labelled example for training the specialist (topic role LABELS).
 *
 * @param eventId the classified event this label is for; null for examples with no event (an
 *     imported dataset)
 * @param source who labelled it: a person, an LLM (an escalation's answer), or the offline engine
 *     (not an LLM: an escalation's answer when the route ended there); absent: a person, since the
 *     app writes its own labels with their source, so a label without one came from outside
 * @param at when the label was given; absent: the Kafka record's timestamp ({@link #atRecordTime}),
 *     as a document without its own time takes it
 */
public record LabelEvent(String eventId, String text, String label, Source source, Instant at) {

  /**
   * Who labelled, most trusted first: a person; an LLM (an escalation's answer); the offline
   * engine, which is not an LLM (an escalation's answer when the route ended there).
   */
  public enum Source {
    @JsonProperty("human")
    HUMAN,
    @JsonProperty("llm")
    LLM,
    @JsonProperty("offline-engine")
    OFFLINE_ENGINE;

    /**
     * Whether a label from this source stands against a different one from {@code other} for the
     * same event: a person's against an LLM's, an LLM's against the offline engine's.
     */
    public boolean outranks(Source other) {
      return ordinal() < other.ordinal();
    }

    /** The source as it is written in records and in {@code specialist.learn.from}. */
    public String id() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The sources written {@code ids} (e.g. specialist.learn.from's list). */
    public static java.util.Set<Source> of(java.util.Collection<String> ids) {
      java.util.Set<Source> out = java.util.EnumSet.noneOf(Source.class);
      ids.forEach(id -> out.add(of(id)));
      return out;
    }

    /** The source written {@code id}: human, llm or offline-engine. */
    public static Source of(String id) {
      for (Source s : values()) {
        if (s.id().equals(id.strip())) {
          return s;
        }
      }
      throw new IllegalArgumentException(
          "unknown label source '" + id + "': human, llm or offline-engine");
    }
  }

  public LabelEvent {
    Require.optionalText(eventId, "eventId");
    Require.present(text, "text");
    Require.text(label, "label");
    if (source == null) {
      source = Source.HUMAN;
    }
  }

  /** This label, given at {@code recordMs} (its Kafka record's timestamp) unless it says when. */
  public LabelEvent atRecordTime(long recordMs) {
    return at != null
        ? this
        : new LabelEvent(eventId, text, label, source, Instant.ofEpochMilli(recordMs));
  }
}
