package dev.llmstreams.topics;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.Map;
import java.util.Objects;

/** One entry of the topic catalog, exactly as written in {@code topics/<name>.json}. */
@JsonIgnoreProperties(ignoreUnknown = false)
public record TopicSpec(
    String name,
    TopicRole role,
    String tool,
    int partitions,
    Short replicationFactor,
    Map<String, String> configs,
    String key,
    String keyField,
    String valueSchema,
    String valueType,
    String description) {

  public TopicSpec {
    Objects.requireNonNull(name, "name is required");
    Objects.requireNonNull(role, "role is required");
    if (partitions < 1) {
      throw new IllegalArgumentException("topic " + name + ": partitions must be at least 1");
    }
    if (role == TopicRole.TOOL_CALLS && (tool == null || tool.isBlank())) {
      throw new IllegalArgumentException("topic " + name + ": a TOOL_CALLS topic names its tool");
    }
    if (role != TopicRole.DEAD_LETTERS && (valueSchema == null || valueType == null)) {
      throw new IllegalArgumentException(
          "topic " + name + ": valueSchema and valueType are required");
    }
    configs = configs == null ? Map.of() : Map.copyOf(configs);
  }

  public TopicSpec withName(String newName) {
    return new TopicSpec(
        newName,
        role,
        tool,
        partitions,
        replicationFactor,
        configs,
        key,
        keyField,
        valueSchema,
        valueType,
        description);
  }

  public TopicSpec withPartitions(int newPartitions) {
    return new TopicSpec(
        name,
        role,
        tool,
        newPartitions,
        replicationFactor,
        configs,
        key,
        keyField,
        valueSchema,
        valueType,
        description);
  }

  public boolean compacted() {
    return configs.getOrDefault("cleanup.policy", "delete").contains("compact");
  }
}
