package dev.llmstreams.llm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.events.ToolCallRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** A shadow candidate's reply set beside the primary's reply to the same request. */
final class ShadowComparison {
  private ShadowComparison() {}

  /**
   * The candidate's answer with the primary's request ids, the comparison and the primary's side.
   */
  static ShadowReply compare(LlmReply primary, LlmReply shadow) {
    boolean compared = !primary.failed() && !shadow.failed();
    Boolean sameContent = compared ? sameContent(primary.content(), shadow.content()) : null;
    Boolean sameToolCalls =
        compared ? sameToolCalls(primary.toolCalls(), shadow.toolCalls()) : null;
    return new ShadowReply(
        primary.requestId(),
        primary.correlationId(),
        primary.purpose(),
        shadow.provider(),
        shadow.model(),
        shadow.content(),
        shadow.toolCalls(),
        shadow.finishReason(),
        shadow.usage(),
        shadow.costUsd(),
        shadow.latencyMs(),
        shadow.error(),
        shadow.attempts(),
        ShadowReply.Agreement.of(
            primary.failed(), shadow.failed(), compared && sameContent && sameToolCalls),
        sameContent,
        sameToolCalls,
        primary.provider(),
        primary.model(),
        primary.usage(),
        primary.costUsd(),
        primary.latencyMs(),
        primary.error(),
        primary.prompt());
  }

  /**
   * The same text once runs of whitespace are one space and the ends trimmed; or, for JSON objects
   * and arrays (structured output), the same JSON whatever the order of keys and the spacing.
   */
  static boolean sameContent(String a, String b) {
    if (a == null || b == null) {
      return a == b;
    }
    String x = normalize(a);
    String y = normalize(b);
    if (x.equals(y)) {
      return true;
    }
    JsonNode jx = json(x);
    return jx != null && jx.equals(json(y));
  }

  /**
   * The same calls, by name and arguments, in any order; the providers' call ids differ by nature.
   */
  static boolean sameToolCalls(List<ToolCallRequest> a, List<ToolCallRequest> b) {
    if (a.size() != b.size()) {
      return false;
    }
    List<ToolCallRequest> left = new ArrayList<>(b);
    for (ToolCallRequest call : a) {
      if (!left.removeIf(new FirstMatch(call)::test)) {
        return false;
      }
    }
    return true;
  }

  /** Matches the first call with the same name and arguments, once. */
  private static final class FirstMatch {
    private final ToolCallRequest call;
    private boolean found;

    FirstMatch(ToolCallRequest call) {
      this.call = call;
    }

    boolean test(ToolCallRequest other) {
      if (found
          || !call.name().equals(other.name())
          || !Objects.equals(call.arguments(), other.arguments())) {
        return false;
      }
      found = true;
      return true;
    }
  }

  private static String normalize(String text) {
    return text.strip().replaceAll("\\s+", " ");
  }

  private static JsonNode json(String text) {
    if (!(text.startsWith("{") || text.startsWith("["))) {
      return null;
    }
    try {
      return Json.tree(text);
    } catch (RuntimeException e) {
      return null; // not JSON: compared as text only
    }
  }
}
