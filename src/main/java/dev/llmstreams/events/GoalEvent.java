package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One entry of a goal's audit trail (topic role GOAL_EVENTS, keyed by goalId).
 *
 * @param summary one sentence a person reads, e.g. "called calculator with 2+2"
 * @param data details for machines (arguments, result, guard values); optional
 * @param causationId the id of the record that caused this event (requestId, callId); optional
 * @param at the stream time of the event
 */
public record GoalEvent(
    String goalId,
    @JsonProperty(required = true) int step,
    GoalEventType type,
    String summary,
    JsonNode data,
    String causationId,
    Instant at) {

  public GoalEvent {
    Require.text(goalId, "goalId");
    Require.atLeast(step, 0, "step");
    Require.present(type, "type");
    Require.text(summary, "summary");
    Require.optionalText(causationId, "causationId");
    Require.present(at, "at");
  }
}
