package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.Provenance;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.events.Usage;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GoalReplayTest {
  private static ToolResult result(String callId, boolean ok, String error, String worker) {
    return new ToolResult(
        callId,
        "g",
        "calculator",
        ok,
        ok ? Json.tree("{\"value\":\"1\"}") : null,
        error,
        1,
        worker);
  }

  private static LlmReply reply(String id, boolean cached, Integer attempts, LlmError error) {
    return new LlmReply(
        id,
        "g",
        "controller",
        error == null ? "done" : null,
        null,
        error == null ? "stop" : null,
        new Usage(cached ? 0 : 10, cached ? 0 : 5),
        0,
        7,
        "openai",
        "m",
        cached,
        error,
        attempts,
        null);
  }

  private static GoalResult goal(String id, GoalStatus status, String answer, int steps) {
    return new GoalResult(
        id,
        status,
        answer,
        steps,
        new Usage(100L * steps, 10),
        0.001 * steps,
        1000L * steps,
        status == GoalStatus.SUCCEEDED ? null : "the step limit",
        new Provenance(id, List.of("openai/m"), null),
        Instant.parse("2026-12-06T00:00:00Z"));
  }

  @Test
  void shouldTellHowEachToolCallWasAnsweredCountingARepeatedCallIdOnce() {
    GoalReplay.Tools t =
        GoalReplay.Tools.of(
            List.of(
                result("g/1/0", true, null, "recorded:tools@prod/1"),
                result("g/1/0", true, null, "recorded:tools@prod/1"),
                result("g/2/0", true, null, "replay-worker"),
                result("g/3/0", false, "calculator failed: bad", "replay-worker"),
                result("g/3/1", false, "not executed in replay: publish is not read-only", "w")));
    assertThat(t).isEqualTo(new GoalReplay.Tools(1, 2, 1));
  }

  @Test
  void shouldCountProviderCallsWithRetriesAndNoneForCachedReplies() {
    GoalReplay.Llm l =
        GoalReplay.Llm.of(
            List.of(
                reply("r1", false, 1, null),
                reply("r1", false, 1, null), // the same reply read twice
                reply("r2", false, 3, null),
                reply("r3", true, null, null),
                reply("r4", false, null, new LlmError(LlmError.Code.TIMEOUT, "gave up", true, 2))));
    assertThat(l).isEqualTo(new GoalReplay.Llm(4, 6, 1, 1));
  }

  @Test
  void shouldCompareEachGoalWithItsOriginalAndListOnlyTheDifferingOnes() {
    var same =
        new GoalReplay.Item(
            "same",
            GoalReplay.Outcome.of(goal("same", GoalStatus.SUCCEEDED, "42", 2)),
            GoalReplay.Outcome.of(goal("same", GoalStatus.SUCCEEDED, "42", 3)),
            new GoalReplay.Tools(1, 1, 0),
            new GoalReplay.Llm(3, 3, 0, 0));
    var changed =
        new GoalReplay.Item(
            "changed",
            GoalReplay.Outcome.of(goal("changed", GoalStatus.SUCCEEDED, "42", 2)),
            GoalReplay.Outcome.of(goal("changed", GoalStatus.FAILED, null, 2)),
            new GoalReplay.Tools(1, 0, 1),
            new GoalReplay.Llm(2, 2, 0, 0));
    var unfinished =
        new GoalReplay.Item(
            "late",
            GoalReplay.Outcome.of(goal("late", GoalStatus.SUCCEEDED, "7", 2)),
            null,
            GoalReplay.Tools.NONE,
            new GoalReplay.Llm(1, 1, 0, 0));
    var report =
        new GoalReplay.Report(Map.of("model", "openai/b"), 900, List.of(same, changed, unfinished));
    JsonNode totals = report.totals();
    assertThat(totals.path("goals").asInt()).isEqualTo(3);
    assertThat(totals.path("finished").asInt()).isEqualTo(2);
    assertThat(totals.path("compared").asInt()).isEqualTo(2);
    assertThat(totals.path("same_status").asInt()).isEqualTo(1);
    assertThat(totals.path("same_answer").asInt()).isEqualTo(1);
    assertThat(totals.path("status_changes").path("succeeded -> failed").asInt()).isEqualTo(1);
    assertThat(totals.path("original").path("steps").asInt()).isEqualTo(4);
    assertThat(totals.path("replay").path("steps").asInt()).isEqualTo(5);
    assertThat(totals.path("replay").path("tokens").asLong()).isEqualTo(310 + 210);
    assertThat(totals.path("tool_calls").path("not_executed").asInt()).isEqualTo(1);
    assertThat(totals.path("llm").path("provider_calls").asInt()).isEqualTo(6);

    JsonNode items = report.toJson().path("items");
    assertThat(items.get(0).path("same_status").asBoolean()).isTrue();
    assertThat(items.get(1).path("same_answer").asBoolean()).isFalse();
    assertThat(items.get(1).path("replay").has("answer")).isFalse();
    assertThat(items.get(2).path("finished").asBoolean()).isFalse();
    assertThat(items.get(2).has("same_status")).isFalse();

    String md = report.toMarkdown(10);
    assertThat(md)
        .contains("| same_status | 1 |")
        .contains("| changed | succeeded → failed | no |")
        .contains("| late | succeeded → not finished | - |")
        .doesNotContain("| same |");
    assertThat(report.toMarkdown(1)).contains("(1 of 2)").doesNotContain("| late |");
  }
}
