package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ToolCallTallyTest {
  private static GoalEvent event(GoalEventType type, String callId, boolean ok) {
    return event(type, callId, ok, false);
  }

  private static GoalEvent event(
      GoalEventType type, String callId, boolean ok, boolean answeredInline) {
    return new GoalEvent(
        "g1",
        1,
        type,
        type.name(),
        JsonNodeFactory.instance
            .objectNode()
            .put("callId", callId)
            .put("ok", ok)
            .put("inline", answeredInline),
        callId,
        Instant.EPOCH);
  }

  private static ToolCall call(String callId, int attempt) {
    int index = Integer.parseInt(callId.substring(callId.lastIndexOf('/') + 1));
    return new ToolCall(
        callId,
        "g1",
        1,
        index,
        "calculator",
        JsonNodeFactory.instance.objectNode(),
        attempt,
        1000,
        Instant.EPOCH);
  }

  private static ToolResult result(String callId, boolean ok) {
    return new ToolResult(callId, "g1", "calculator", ok, null, ok ? null : "boom", 1, "w1");
  }

  /** A call and its result as the controller records them on goal-events. */
  private static void answered(ToolCallTally tally, String callId, boolean ok) {
    tally.event(event(GoalEventType.TOOL_CALLED, callId, true));
    tally.event(event(GoalEventType.TOOL_RESULT, callId, ok));
  }

  /** A call the controller answered in its own transaction, as it records it. */
  private static void answeredInline(ToolCallTally tally, String callId) {
    tally.event(event(GoalEventType.TOOL_CALLED, callId, true, true));
    tally.event(event(GoalEventType.TOOL_RESULT, callId, true, true));
  }

  @Test
  void inlineCallsAreCountedFromGoalEventsAlone() {
    ToolCallTally tally = new ToolCallTally();
    answeredInline(tally, "g1/1/0");
    answered(tally, "g1/2/0", false);
    tally.event(event(GoalEventType.LLM_REQUESTED, "r1", true));

    assertThat(tally.counts()).isEqualTo(new ToolCallTally.Counts(2, 0, 1, 0, 2, 1, 0));
  }

  @Test
  void aCallSeenOnBothTheTopicsAndTheEventsCountsOnce() {
    ToolCallTally tally = new ToolCallTally();
    tally.event(event(GoalEventType.TOOL_CALLED, "g1/1/0", true));
    tally.event(event(GoalEventType.TOOL_CALLED, "g1/1/0", true)); // a retry, same callId
    tally.event(event(GoalEventType.TOOL_RESULT, "g1/1/0", true));
    tally.call(call("g1/1/0", 1), true);
    tally.call(call("g1/1/0", 2), true);
    tally.result(result("g1/1/0", true));

    assertThat(tally.counts()).isEqualTo(new ToolCallTally.Counts(1, 1, 0, 1, 1, 0, 0));
  }

  @Test
  void aCallWithTwoCommittedResultsInEitherPlaceIsADuplicate() {
    ToolCallTally tally = new ToolCallTally();
    answered(tally, "g1/1/0", true);
    tally.event(event(GoalEventType.TOOL_RESULT, "g1/1/0", true));
    answered(tally, "g1/1/1", true);
    tally.call(call("g1/1/1", 1), true);
    tally.result(result("g1/1/1", true));
    tally.result(result("g1/1/1", true)); // the worker answered twice; the controller took one
    tally.call(call("g1/1/2", 1), true);
    tally.call(call("g1/1/2", 1), true);

    ToolCallTally.Counts counts = tally.counts();
    assertThat(counts.calls()).isEqualTo(3);
    assertThat(counts.onTopics()).isEqualTo(2);
    assertThat(counts.duplicates()).isEqualTo(3);
    assertThat(counts.results()).isEqualTo(4);
  }
}
