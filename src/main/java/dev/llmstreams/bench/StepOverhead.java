package dev.llmstreams.bench;

import dev.llmstreams.events.GoalEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the controller's loop adds to each LLM step of one goal, computed from the goal's events
 * alone (their {@code at}, the controller's wall clock when it handled the record that caused
 * them).
 *
 * <p>A step starts at its {@code llm_requested} event (for step 1 the goal's arrival; later the
 * handling of the previous step's last {@code tool_result}, which asks the LLM in the same
 * transaction) and ends where the next step starts, or at {@code finished} for the last one. Its
 * overhead is that span minus the LLM's latency as the gateway measured it ({@code llm_replied}
 * data.latencyMs, the provider call and its retries) minus the tool's own time ({@code tool_result}
 * data.durationMs, the longest of the step's calls, since they run in parallel). What is left is
 * the loop itself: commits under exactly-once (each hop's output is visible only after its commit),
 * polls, queueing for a free LLM slot at the gateway, and processing.
 *
 * <p>The two legs split it: {@code llmLeg} is from the step's start to the controller handling the
 * reply, minus the LLM latency (request commit, gateway poll and queue, reply commit, controller
 * poll); {@code toolLeg} is from the reply to the last tool result, minus the tool time (tool-call
 * commit, worker poll, result commit, controller poll), 0 for a step without tools.
 */
final class StepOverhead {
  /** One measured step. */
  record Step(
      int step,
      long spanMs,
      long llmLatencyMs,
      long toolMs,
      long overheadMs,
      long llmLegMs,
      long toolLegMs) {}

  private StepOverhead() {}

  /**
   * Every complete step of one goal (requested, replied and ended); events in the order of their
   * partition.
   */
  static List<Step> of(List<GoalEvent> events) {
    Map<Integer, Times> steps = new TreeMap<>();
    for (GoalEvent e : events) {
      long at = e.at().toEpochMilli();
      switch (e.type()) {
        case LLM_REQUESTED -> {
          Times previous = steps.get(e.step() - 1);
          if (previous != null && previous.endMs < 0) {
            previous.endMs = at;
          }
          steps.computeIfAbsent(e.step(), s -> new Times()).startMs = at;
        }
        case LLM_REPLIED -> {
          Times t = steps.computeIfAbsent(e.step(), s -> new Times());
          t.repliedMs = at;
          t.latencyMs = e.data() == null ? 0 : e.data().path("latencyMs").asLong(0);
        }
        case TOOL_RESULT -> {
          Times t = steps.computeIfAbsent(e.step(), s -> new Times());
          t.lastResultMs = Math.max(t.lastResultMs, at);
          t.toolMs =
              Math.max(t.toolMs, e.data() == null ? 0 : e.data().path("durationMs").asLong(0));
        }
        case FINISHED -> {
          Times t = steps.get(e.step());
          if (t != null && t.endMs < 0) {
            t.endMs = at;
          }
        }
        default -> {
          // goal_received, tool_called, guards and approvals: not a boundary of a step
        }
      }
    }
    List<Step> out = new ArrayList<>();
    steps.forEach(
        (n, t) -> {
          if (t.startMs < 0 || t.repliedMs < 0 || t.endMs < 0) {
            return;
          }
          long span = t.endMs - t.startMs;
          long llmLeg = t.repliedMs - t.startMs - t.latencyMs;
          long toolLeg = t.lastResultMs < 0 ? 0 : t.lastResultMs - t.repliedMs - t.toolMs;
          out.add(
              new Step(
                  n, span, t.latencyMs, t.toolMs, span - t.latencyMs - t.toolMs, llmLeg, toolLeg));
        });
    return out;
  }

  private static final class Times {
    long startMs = -1;
    long repliedMs = -1;
    long endMs = -1;
    long lastResultMs = -1;
    long latencyMs;
    long toolMs;
  }
}
