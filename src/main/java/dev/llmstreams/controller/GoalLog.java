package dev.llmstreams.controller;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the controller keeps for one goal, in one value of store {@code controller-goal-log}:
 * the goal, its limits, the conversation with the LLM, the tool calls of the current step, and what
 * was spent. When the goal ends the conversation and calls are dropped and only the result stays,
 * until {@code expiresAtMs}.
 *
 * <p>Compatibility rule for stored values: every field has a default, and a field absent from an
 * older value reads as that default; unknown fields are ignored (the app's JSON reader is
 * tolerant), so a rollback reads newer values.
 */
@JsonAutoDetect(
    fieldVisibility = JsonAutoDetect.Visibility.ANY,
    getterVisibility = JsonAutoDetect.Visibility.NONE,
    isGetterVisibility = JsonAutoDetect.Visibility.NONE)
final class GoalLog {
  enum Phase {
    @JsonProperty("thinking")
    THINKING,
    @JsonProperty("acting")
    ACTING,
    @JsonProperty("finished")
    FINISHED
  }

  enum CallState {
    @JsonProperty("awaiting_approval")
    AWAITING_APPROVAL,
    @JsonProperty("dispatched")
    DISPATCHED,
    @JsonProperty("done")
    DONE
  }

  /** One tool call of the current step. */
  @JsonAutoDetect(
      fieldVisibility = JsonAutoDetect.Visibility.ANY,
      getterVisibility = JsonAutoDetect.Visibility.NONE,
      isGetterVisibility = JsonAutoDetect.Visibility.NONE)
  static final class Call {
    String callId;
    int index;
    String tool;
    JsonNode arguments;

    /** The LLM's id of the call; the tool message that answers it names this id. */
    String llmCallId;

    /** Null only while the controller decides what to do with a new call. */
    CallState state;

    int attempt;

    /** Wall-clock time the current attempt times out (its timer's key). */
    long dueAtMs;

    long dispatchedAtMs;
    boolean ok;

    /** What the LLM is shown: the result as JSON text, or the error. */
    String content;

    /** The tool's own time, as its worker reported it. */
    long toolMs;

    Call() {}

    Call(String callId, int index, String tool, JsonNode arguments, String llmCallId) {
      this.callId = callId;
      this.index = index;
      this.tool = tool;
      this.arguments = arguments;
      this.llmCallId = llmCallId;
    }
  }

  String goalId;
  Goal goal;

  /**
   * {@link dev.llmstreams.runtime.text.TextDigest} of the goal's text, kept after the goal ends
   * (when {@link #goal} is dropped) to tell a goal sent again from other text under its goalId;
   * null in logs written before it was kept.
   */
  String goalDigest;

  /** Who the goal runs for (its field, else its header); null in values written before tenants. */
  String tenant;

  Phase phase = Phase.THINKING;

  /** LLM turns taken so far (the one in flight included). */
  int step;

  /** Turns in a row whose tool calls were invalid and fed back for repair. */
  int repairs;

  List<String> tools = new ArrayList<>();
  int maxSteps;
  long maxTokens;
  double maxCostUsd;
  long startedAtMs;
  long deadlineMs;
  List<ChatMessage> messages = new ArrayList<>();

  /** The requestId of the LLM call in flight, or null. */
  String llmRequestId;

  long llmAskedAtMs;
  List<Call> calls = new ArrayList<>();
  Usage usage = Usage.ZERO;
  double costUsd;
  List<String> models = new ArrayList<>();

  /**
   * The prompt of the conversation's system message, which every LLM request of the goal names;
   * null in logs written before prompts were recorded.
   */
  dev.llmstreams.events.PromptRef prompt;

  /** The prompts of the LLM answers the goal got (for its result's provenance). */
  List<dev.llmstreams.events.PromptRef> prompts = new ArrayList<>();

  /** The goal that started this one with {@code delegate}; null for goals users submitted. */
  dev.llmstreams.events.GoalParent parent;

  /** The child goals this goal started, in call order, with what the parent knows of them. */
  List<dev.llmstreams.events.ChildGoal> children = new ArrayList<>();

  String lastCausationId;
  GoalResult result;
  long expiresAtMs;

  /**
   * The goal's span ({@code invoke_agent}): its id is given when the goal arrives, every record the
   * goal causes names it as parent, and it is recorded once, when the goal ends. Null in logs
   * written before tracing existed.
   */
  dev.llmstreams.observability.tracing.SpanRef trace;

  /** The JSON {@link GoalLogs#put} is writing for this log; null at any other time. */
  @JsonIgnore transient byte[] encoded;

  GoalLog() {}

  /** The goal's tenant; {@code default} for a goal stored before tenants were known. */
  @JsonIgnore
  String tenant() {
    return tenant == null ? Goal.DEFAULT_TENANT : tenant;
  }

  @JsonIgnore
  boolean finished() {
    return phase == Phase.FINISHED;
  }

  Call call(String callId) {
    for (Call c : calls) {
      if (c.callId.equals(callId)) {
        return c;
      }
    }
    return null;
  }

  /**
   * Tokens of the goal and of its children that ended: what its token budget is checked against.
   */
  @JsonIgnore
  Usage treeUsage() {
    Usage total = usage;
    for (dev.llmstreams.events.ChildGoal c : children) {
      total = total.plus(c.usage()); // a running child's is zero until its result arrives
    }
    return total;
  }

  /** Cost of the goal and of its children that ended. */
  @JsonIgnore
  double treeCostUsd() {
    return costUsd + children.stream().mapToDouble(c -> c.costUsd()).sum();
  }

  @JsonIgnore
  boolean stepDone() {
    return calls.stream().allMatch(c -> c.state == CallState.DONE);
  }
}
