package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * A person's decision on a tool call that requires approval (topic role APPROVALS, keyed by
 * goalId).
 *
 * @param by who decided (user name or id), for the audit trail
 * @param at when they decided; optional
 */
public record Approval(
    String goalId, String callId, Decision decision, String reason, String by, Instant at) {

  public enum Decision {
    @JsonProperty("approve")
    APPROVE,
    @JsonProperty("reject")
    REJECT
  }

  public Approval {
    Require.text(goalId, "goalId");
    Require.text(callId, "callId");
    Require.present(decision, "decision");
    Require.optionalText(reason, "reason");
    Require.text(by, "by");
  }
}
