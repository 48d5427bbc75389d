package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.specialist.model.LabeledText;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The LLM request of an escalation and the reading of its answer. The label set is the response
 * format's enum and the answer is checked against it, so no text can add a label or change the
 * format; the event text is fenced on one line with its angle brackets escaped, so it cannot close
 * the fence or pose as a label line.
 */
final class EscalationPrompt {
  static final String PURPOSE = "specialist.escalate";
  static final int MAX_OUTPUT_TOKENS = 100;

  /**
   * What an LLM answered, once checked: one of the labels, and its own (uncalibrated) confidence
   * when it gave one.
   */
  record Answer(String label, Double confidence) {}

  private EscalationPrompt() {}

  /**
   * The request id of an event's escalation: the same on a replay, so the gateway answers it from
   * its cache.
   */
  static String requestId(String eventId) {
    return eventId + "/specialist.escalate";
  }

  /**
   * The escalation of an event: {@code prompt} (template {@code specialist.escalate}) with its
   * {@code {{labels}}} and {@code {{examples}}} filled, as the system message; the event's text,
   * fenced, as the user message.
   */
  static LlmRequest request(
      String eventId,
      String text,
      List<String> labels,
      Map<String, String> descriptions,
      List<LabeledText> examples,
      String replyTo,
      Instant deadline,
      String modelVersion,
      Prompt prompt) {
    List<String> labelLines = new ArrayList<>();
    for (String label : labels) {
      String d = descriptions.get(label);
      labelLines.add(label + ": " + oneLine(d == null || d.isBlank() ? words(label) : d));
    }
    List<String> exampleLines = new ArrayList<>();
    for (LabeledText e : examples) {
      if (labels.contains(e.label())) {
        exampleLines.add("example (" + e.label() + "): " + fenceSafe(e.text()));
      }
    }
    String system =
        prompt.render(
            Map.of(
                "labels",
                String.join("\n", labelLines),
                "examples",
                exampleLines.isEmpty()
                    ? ""
                    : "Labelled examples:\n" + String.join("\n", exampleLines)));
    return new LlmRequest(
        requestId(eventId),
        replyTo,
        PURPOSE,
        eventId,
        eventId,
        null,
        List.of(ChatMessage.system(system.strip()), ChatMessage.user(fence(text))),
        List.of(),
        responseFormat(labels),
        MAX_OUTPUT_TOKENS,
        0.0,
        deadline,
        Map.of("modelVersion", modelVersion),
        prompt.ref());
  }

  /**
   * The event text as data: one line, angle brackets escaped, between {@code <text>} and {@code
   * </text>}.
   */
  static String fence(String text) {
    return "<text>" + fenceSafe(text) + "</text>";
  }

  private static String fenceSafe(String text) {
    return oneLine(text).replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String oneLine(String s) {
    return s.replaceAll("\\s+", " ").strip();
  }

  /**
   * A label's name in words, for labels with no description: {@code card_arrival} reads "card
   * arrival".
   */
  static String words(String label) {
    return label
        .replaceAll("[_\\-.]+", " ")
        .replaceAll("([a-z])([A-Z])", "$1 $2")
        .toLowerCase(Locale.ROOT)
        .strip();
  }

  static JsonNode responseFormat(List<String> labels) {
    ObjectNode schema = JsonNodeFactory.instance.objectNode().put("type", "object");
    ObjectNode props = schema.putObject("properties");
    ArrayNode values = props.putObject("label").put("type", "string").putArray("enum");
    labels.forEach(values::add);
    props.putObject("confidence").put("type", "number").put("minimum", 0).put("maximum", 1);
    schema.putArray("required").add("label").add("confidence");
    schema.put("additionalProperties", false);
    return schema;
  }

  /**
   * The label an LLM answered, if it is one of {@code labels} (JSON as asked, in a code fence or
   * not, or the bare label); empty for anything else.
   */
  static Optional<Answer> parse(String content, List<String> labels) {
    if (content == null) {
      return Optional.empty();
    }
    String s = content.strip();
    int open = s.indexOf('{');
    int close = s.lastIndexOf('}');
    if (open >= 0 && close > open) {
      JsonNode json;
      try {
        json = Json.tree(s.substring(open, close + 1));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      JsonNode label = json.path("label");
      JsonNode confidence = json.path("confidence");
      Double c =
          confidence.isNumber() && confidence.asDouble() >= 0 && confidence.asDouble() <= 1
              ? confidence.asDouble()
              : null;
      return label.isTextual()
          ? known(label.asText(), labels).map(l -> new Answer(l, c))
          : Optional.empty();
    }
    return known(s.replaceAll("^[\"'`]+|[\"'`.]+$", ""), labels).map(l -> new Answer(l, null));
  }

  private static Optional<String> known(String answer, List<String> labels) {
    String a = answer.strip();
    return labels.stream()
        .filter(l -> l.equals(a))
        .findFirst()
        .or(() -> labels.stream().filter(l -> l.equalsIgnoreCase(a)).findFirst());
  }
}
