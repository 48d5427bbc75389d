package dev.llmstreams.bench;

import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The tool calls of a bench's goals, each counted once by its callId, from the two places a call
 * shows: the goals' committed {@code goal-events} (a {@code tool_called} event per dispatch, a
 * {@code tool_result} event per result the controller took), which every call has, whether the
 * controller answered it inline or through a worker; and the {@code tool-calls.*} and {@code
 * tool-results} topics, which only calls sent to a worker have. Where both saw a call, the larger
 * of their counts is taken, so a call is never counted twice.
 */
final class ToolCallTally {
  /** What was counted: calls and results by callId; see the bench report's definitions. */
  record Counts(
      long calls,
      long onTopics,
      long inline,
      long retries,
      long results,
      long failed,
      long duplicates) {}

  private final Map<String, Integer> calledEvents = new HashMap<>();
  private final Set<String> inline = new HashSet<>();
  private final Map<String, Integer> resultEvents = new HashMap<>();
  private final Map<String, Integer> failedEvents = new HashMap<>();
  private final Map<String, Integer> callRecords = new HashMap<>();
  private final Map<String, Integer> retryRecords = new HashMap<>();
  private final Map<String, Integer> firstAttemptRecords = new HashMap<>();
  private final Map<String, Integer> resultRecords = new HashMap<>();
  private final Map<String, Integer> failedRecords = new HashMap<>();

  /** A committed event of a goal; only {@code tool_called} and {@code tool_result} count. */
  void event(GoalEvent e) {
    if (e.type() != GoalEventType.TOOL_CALLED && e.type() != GoalEventType.TOOL_RESULT) {
      return;
    }
    String callId =
        e.causationId() != null
            ? e.causationId()
            : e.data() == null ? null : e.data().path("callId").asText(null);
    if (callId == null) {
      return;
    }
    if (e.type() == GoalEventType.TOOL_CALLED) {
      calledEvents.merge(callId, 1, Integer::sum);
      if (e.data() != null && e.data().path("inline").asBoolean(false)) {
        inline.add(callId);
      }
    } else {
      resultEvents.merge(callId, 1, Integer::sum);
      if (e.data() != null && !e.data().path("ok").asBoolean(true)) {
        failedEvents.merge(callId, 1, Integer::sum);
      }
    }
  }

  /**
   * A committed record of a tool-calls topic.
   *
   * @param checkDuplicates whether a second first attempt of the same callId counts as a duplicate
   *     (the bench checks its own tool's topic)
   */
  void call(ToolCall c, boolean checkDuplicates) {
    callRecords.merge(c.callId(), 1, Integer::sum);
    if (c.attempt() > 1) {
      retryRecords.merge(c.callId(), 1, Integer::sum);
    } else if (checkDuplicates) {
      firstAttemptRecords.merge(c.callId(), 1, Integer::sum);
    }
  }

  /** A committed record of tool-results. */
  void result(ToolResult r) {
    resultRecords.merge(r.callId(), 1, Integer::sum);
    if (!r.ok()) {
      failedRecords.merge(r.callId(), 1, Integer::sum);
    }
  }

  /**
   * calls: callIds seen in either place; onTopics: those with a record on a tool-calls topic;
   * inline: those whose tool_called event says the controller answered it ({@code inline: true});
   * retries: dispatches after a call's first (tool_called events beyond the first, or records of
   * attempt 2 and later); results and failed: per callId the larger of the two places' counts;
   * duplicates: callIds with more than one committed tool_result event, more than one record on
   * tool-results, or more than one first attempt on the checked tool's topic.
   */
  Counts counts() {
    Set<String> calls = new HashSet<>(calledEvents.keySet());
    calls.addAll(callRecords.keySet());
    long retries = 0;
    long results = 0;
    long failed = 0;
    long duplicates = 0;
    Set<String> all = new HashSet<>(calls);
    all.addAll(resultEvents.keySet());
    all.addAll(resultRecords.keySet());
    for (String id : all) {
      retries +=
          Math.max(
              Math.max(0, calledEvents.getOrDefault(id, 0) - 1), retryRecords.getOrDefault(id, 0));
      results += Math.max(resultEvents.getOrDefault(id, 0), resultRecords.getOrDefault(id, 0));
      failed += Math.max(failedEvents.getOrDefault(id, 0), failedRecords.getOrDefault(id, 0));
      duplicates +=
          resultEvents.getOrDefault(id, 0) > 1
                  || resultRecords.getOrDefault(id, 0) > 1
                  || firstAttemptRecords.getOrDefault(id, 0) > 1
              ? 1
              : 0;
    }
    return new Counts(
        calls.size(), callRecords.size(), inline.size(), retries, results, failed, duplicates);
  }
}
