package dev.llmstreams.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code publish} tool: one JSON record to a topic on {@code tools.publish.allowed.topics}. It
 * writes nothing itself: the worker forwards the record to its publish sink, so it is committed in
 * the same exactly-once transaction as the result (and as the call's input offset), never twice and
 * never without the result.
 */
public final class PublishTool implements Tool {
  private final Set<String> allowedTopics;

  public PublishTool(List<String> allowedTopics) {
    this.allowedTopics =
        new TreeSet<>(allowedTopics.stream().map(String::trim).filter(t -> !t.isEmpty()).toList());
  }

  public static PublishTool from(AppConfig config) {
    return new PublishTool(config.getList(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS));
  }

  @Override
  public String name() {
    return "publish";
  }

  @Override
  public boolean publishes() {
    return true;
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) {
    String topic = arguments.path("topic").asText();
    if (allowedTopics.isEmpty()) {
      throw new ToolException(
          "topic "
              + topic
              + " is not allowed: "
              + AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS
              + " is empty, so publish may write to no topic");
    }
    if (!allowedTopics.contains(topic)) {
      throw new ToolException(
          "topic "
              + topic
              + " is not in "
              + AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS
              + " "
              + allowedTopics);
    }
    JsonNode key = arguments.get("key");
    String k = key == null || key.isNull() ? null : key.asText();
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    result.put("topic", topic);
    result.put("key", k);
    return new Outcome(result, List.of(new Publication(topic, k, arguments.get("record"))));
  }
}
