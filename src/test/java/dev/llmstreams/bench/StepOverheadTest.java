package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepOverheadTest {
  private static GoalEvent at(long ms, int step, GoalEventType type, ObjectNode data) {
    return new GoalEvent("g1", step, type, type.name(), data, null, Instant.ofEpochMilli(ms));
  }

  private static ObjectNode latency(long ms) {
    return JsonNodeFactory.instance.objectNode().put("latencyMs", ms);
  }

  private static ObjectNode duration(long ms) {
    return JsonNodeFactory.instance.objectNode().put("durationMs", ms);
  }

  @Test
  void aToolStepLosesTheLlmLatencyAndTheLongestParallelToolAndTheFinalStepOnlyTheLatency() {
    List<GoalEvent> events =
        List.of(
            at(1_000, 0, GoalEventType.GOAL_RECEIVED, null),
            at(1_000, 1, GoalEventType.LLM_REQUESTED, null),
            at(1_300, 1, GoalEventType.LLM_REPLIED, latency(200)),
            at(1_300, 1, GoalEventType.TOOL_CALLED, null),
            at(1_300, 1, GoalEventType.TOOL_CALLED, null),
            at(1_400, 1, GoalEventType.TOOL_RESULT, duration(10)),
            at(1_450, 1, GoalEventType.TOOL_RESULT, duration(30)),
            at(1_450, 2, GoalEventType.LLM_REQUESTED, null),
            at(1_720, 2, GoalEventType.LLM_REPLIED, latency(210)),
            at(1_720, 2, GoalEventType.FINISHED, null));

    List<StepOverhead.Step> steps = StepOverhead.of(events);

    assertThat(steps)
        .containsExactly(
            // 450 ms span - 200 LLM - 30 (the longer of two parallel calls); legs: 300-200, 150-30
            new StepOverhead.Step(1, 450, 200, 30, 220, 100, 120),
            new StepOverhead.Step(2, 270, 210, 0, 60, 60, 0));
  }

  @Test
  void aStepThatNeverEndedIsLeftOut() {
    List<GoalEvent> events =
        List.of(
            at(0, 1, GoalEventType.LLM_REQUESTED, null),
            at(250, 1, GoalEventType.LLM_REPLIED, latency(200)),
            at(250, 1, GoalEventType.TOOL_CALLED, null));

    assertThat(StepOverhead.of(events)).isEmpty();
  }
}
