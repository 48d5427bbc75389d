package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What happened in one step of a goal. */
public enum GoalEventType {
  @JsonProperty("goal_received")
  GOAL_RECEIVED,
  @JsonProperty("llm_requested")
  LLM_REQUESTED,
  @JsonProperty("llm_replied")
  LLM_REPLIED,
  @JsonProperty("tool_called")
  TOOL_CALLED,
  @JsonProperty("tool_result")
  TOOL_RESULT,
  @JsonProperty("approval_requested")
  APPROVAL_REQUESTED,
  @JsonProperty("approval_received")
  APPROVAL_RECEIVED,
  @JsonProperty("guard_tripped")
  GUARD_TRIPPED,
  @JsonProperty("repair_requested")
  REPAIR_REQUESTED,
  @JsonProperty("decision")
  DECISION,
  @JsonProperty("finished")
  FINISHED
}
