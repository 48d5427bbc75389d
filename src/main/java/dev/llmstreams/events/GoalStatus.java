package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How a goal ended. */
public enum GoalStatus {
  @JsonProperty("succeeded")
  SUCCEEDED,
  @JsonProperty("failed")
  FAILED,
  @JsonProperty("timed_out")
  TIMED_OUT,
  @JsonProperty("budget_exhausted")
  BUDGET_EXHAUSTED,
  @JsonProperty("rejected")
  REJECTED,
  @JsonProperty("cancelled")
  CANCELLED
}
