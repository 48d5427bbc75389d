package dev.llmstreams.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class TracingOverheadTest {
  @Test
  void roundsAlternateOffOnThenOnOff() {
    assertEquals(List.of(false, true), TracingOverhead.order(0));
    assertEquals(List.of(true, false), TracingOverhead.order(1));
    assertEquals(List.of(false, true), TracingOverhead.order(2));
  }

  @Test
  void theRatioIsOnOverOffOfTheSameRoundAndItsMedianOverRounds() {
    JsonNode r =
        TracingOverhead.report(
            List.of(
                new TracingOverhead.Round(100.0, 95.0, TracingOverhead.order(0)),
                new TracingOverhead.Round(80.0, 80.0, TracingOverhead.order(1)),
                new TracingOverhead.Round(50.0, 45.0, TracingOverhead.order(2))),
            "goals_per_s");
    assertTrue(r.path("complete").asBoolean());
    assertEquals(3, r.path("rounds_count").asInt());
    // round ratios 0.95, 1.0, 0.9: the median is 0.95 (not on-median / off-median = 80/80)
    assertEquals(0.95, r.path("tracing_overhead_ratio").asDouble(), 1e-9);
    assertEquals(0.9, r.path("tracing_overhead_ratio_min").asDouble(), 1e-9);
    assertEquals(1.0, r.path("tracing_overhead_ratio_max").asDouble(), 1e-9);
    assertEquals(80.0, r.path("off_goals_per_s").asDouble(), 1e-9);
    assertEquals(80.0, r.path("on_goals_per_s").asDouble(), 1e-9);
    JsonNode second = r.path("rounds").get(1);
    assertEquals("on", second.path("order").get(0).asText());
    assertEquals("off", second.path("order").get(1).asText());
    assertEquals(1.0, second.path("tracing_overhead_ratio").asDouble(), 1e-9);
    assertEquals(0.95, r.path("rounds").get(0).path("tracing_overhead_ratio").asDouble(), 1e-9);
  }

  @Test
  void anEvenNumberOfRoundsTakesTheMeanOfTheMiddleRatios() {
    JsonNode r =
        TracingOverhead.report(
            List.of(
                new TracingOverhead.Round(100.0, 90.0, TracingOverhead.order(0)),
                new TracingOverhead.Round(100.0, 96.0, TracingOverhead.order(1))),
            "requests_per_s");
    assertEquals(0.93, r.path("tracing_overhead_ratio").asDouble(), 1e-9);
    assertEquals(93.0, r.path("on_requests_per_s").asDouble(), 1e-9);
  }

  @Test
  void anIncompleteRoundLeavesNoRatio() {
    JsonNode r =
        TracingOverhead.report(
            List.of(
                new TracingOverhead.Round(100.0, 95.0, TracingOverhead.order(0)),
                new TracingOverhead.Round(100.0, null, TracingOverhead.order(1))),
            "goals_per_s");
    assertFalse(r.path("complete").asBoolean());
    assertTrue(r.path("tracing_overhead_ratio").isNull());
    assertTrue(r.path("off_goals_per_s").isNull());
    assertFalse(r.has("tracing_overhead_ratio_min"));
    assertTrue(r.path("rounds").get(1).path("on_goals_per_s").isNull());
    assertTrue(r.path("rounds").get(1).path("tracing_overhead_ratio").isNull());
    assertEquals(0.95, r.path("rounds").get(0).path("tracing_overhead_ratio").asDouble(), 1e-9);
  }

  @Test
  void noRoundIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> TracingOverhead.report(List.of(), "x"));
  }

  @Test
  void spansProveExportOnlyWhenTheCounterReachedTheTopic() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    new TracingOverhead.Spans(600, 500, 500, 600, 12, 34_000).put(o);
    assertTrue(o.path("all_spans_exported").asBoolean());
    assertEquals(500, o.path("spans_of_measured_work").asLong());
    assertEquals(12, o.path("otlp_export_requests").asLong());
    ObjectNode lagging = JsonNodeFactory.instance.objectNode();
    new TracingOverhead.Spans(600, 500, 500, 512, 10, 30_000).put(lagging);
    assertFalse(lagging.path("all_spans_exported").asBoolean());
  }

  @Test
  void aGoalOfNStepsHasTwoNSpans() {
    // invoke_agent, a chat per LLM turn, an execute_tool per turn but the final answer
    assertEquals(6, ControllerBench.spansPerGoal(3));
    assertEquals(2, ControllerBench.spansPerGoal(1));
  }

  @Test
  void tracingModesParseAndListTheirRuns() {
    assertEquals(TracingMode.OFF, TracingMode.parse(null));
    assertEquals(TracingMode.COMPARE, TracingMode.parse(" Compare "));
    assertEquals(List.of(false, true), TracingMode.COMPARE.variants());
    assertEquals(List.of(true), TracingMode.ON.variants());
    assertFalse(TracingMode.OFF.exports());
    assertThrows(IllegalArgumentException.class, () -> TracingMode.parse("yes"));
  }
}
