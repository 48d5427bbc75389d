package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The results of the tool calls a recorded run of goals made, by goal, tool and canonical
 * arguments: a replay ({@code replay goals}) answers a call its goal made in the original run, with
 * the same arguments, from what the tool returned then, without running the tool again.
 *
 * <p>The answer is the recorded result under the replay's callId, with {@code worker} {@code
 * recorded:<the original worker>}: whoever reads the run's {@code tool-results} can tell it from a
 * call run in the replay. Arguments match whatever their keys' order ({@code {"a":1,"b":2}} is
 * {@code {"b":2,"a":1}}); numbers match by value as JSON wrote them ({@code 1} is not {@code 1.0}).
 */
public final class RecordedResults {
  /**
   * The start of the error of a call a replay did not execute (a tool with effects, or one without
   * a worker in the replay, that the original run never called so).
   */
  public static final String NOT_EXECUTED = "not executed in replay";

  /** The start of {@link ToolResult#worker()} of a result answered from the record. */
  public static final String WORKER_PREFIX = "recorded:";

  private final Map<String, ToolResult> byCall = new HashMap<>();

  /**
   * Records what a call of the original run returned. Of several results for the same goal, tool
   * and arguments (a retry, or the same call in two steps) the first successful one is kept, else
   * the first.
   */
  public void add(String goalId, String tool, JsonNode arguments, ToolResult result) {
    byCall.merge(
        key(goalId, tool, arguments), result, (old, now) -> !old.ok() && now.ok() ? now : old);
  }

  /**
   * The recorded result of this call, under its callId, or empty when the original never made it.
   */
  public Optional<ToolResult> answer(ToolCall call) {
    ToolResult r = byCall.get(key(call.goalId(), call.tool(), call.arguments()));
    if (r == null) {
      return Optional.empty();
    }
    return Optional.of(
        new ToolResult(
            call.callId(),
            call.goalId(),
            call.tool(),
            r.ok(),
            r.result(),
            r.error(),
            r.durationMs(),
            WORKER_PREFIX + r.worker()));
  }

  /** Whether a result was answered from the record (and not run in the replay). */
  public static boolean answeredFromRecord(ToolResult result) {
    return result.worker().startsWith(WORKER_PREFIX);
  }

  /** Whether a replay answered this call as not executed. */
  public static boolean notExecuted(ToolResult result) {
    return !result.ok() && result.error() != null && result.error().startsWith(NOT_EXECUTED);
  }

  /** Recorded calls: distinct (goal, tool, arguments). */
  public int size() {
    return byCall.size();
  }

  static String key(String goalId, String tool, JsonNode arguments) {
    return goalId + '\n' + tool + '\n' + canonical(arguments);
  }

  /** The JSON text of a value with every object's keys in order. */
  static String canonical(JsonNode node) {
    return sorted(node).toString();
  }

  private static JsonNode sorted(JsonNode node) {
    if (node == null) {
      return JsonNodeFactory.instance.nullNode();
    }
    if (node.isObject()) {
      Map<String, JsonNode> fields = new TreeMap<>();
      node.properties().forEach(e -> fields.put(e.getKey(), sorted(e.getValue())));
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      fields.forEach(out::set);
      return out;
    }
    if (node.isArray()) {
      var out = JsonNodeFactory.instance.arrayNode();
      node.forEach(n -> out.add(sorted(n)));
      return out;
    }
    return node;
  }
}
