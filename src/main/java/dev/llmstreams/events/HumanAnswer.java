package dev.llmstreams.events;

import java.time.Instant;

/**
 * A person's answer to a question a goal asked with the {@code ask_human} tool (topic role
 * HUMAN_ANSWERS, keyed by goalId). The controller gives it to the LLM as the call's result.
 *
 * @param callId the question answered: its callId on {@code tool-calls.ask_human}
 * @param by who answered
 * @param at when; optional (informational)
 */
public record HumanAnswer(String goalId, String callId, String answer, String by, Instant at) {
  public HumanAnswer {
    Require.text(goalId, "goalId");
    Require.text(callId, "callId");
    Require.text(answer, "answer");
    Require.text(by, "by");
  }
}
