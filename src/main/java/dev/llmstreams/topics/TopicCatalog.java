package dev.llmstreams.topics;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The topic catalog: every topic the app reads or writes, loaded from {@code topics/*.json}
 * (shipped inside the jar). Code asks for topics by {@link TopicRef}; a missing or inconsistent
 * entry fails at load, before anything touches Kafka.
 */
public final class TopicCatalog {
  /** Topics joined by goalId in one processor: they must have the same number of partitions. */
  public static final List<TopicRole> CONTROLLER_CO_PARTITIONED =
      List.of(
          TopicRole.GOALS,
          TopicRole.TOOL_RESULTS,
          TopicRole.CONTROLLER_LLM_REPLIES,
          TopicRole.APPROVALS,
          TopicRole.GOAL_CANCELLATIONS,
          TopicRole.HUMAN_ANSWERS);

  /**
   * Topics the specialist meets by eventId in one processor (an event, its escalation's reply, its
   * labels).
   */
  public static final List<TopicRole> SPECIALIST_CO_PARTITIONED =
      List.of(
          TopicRole.CLASSIFICATION_REQUESTS, TopicRole.SPECIALIST_LLM_REPLIES, TopicRole.LABELS);

  /**
   * Topics the summarizer meets by synthesis key in one processor (documents and their summaries).
   */
  public static final List<TopicRole> SUMMARIZER_CO_PARTITIONED =
      List.of(TopicRole.DOCUMENTS, TopicRole.SUMMARIZER_LLM_REPLIES);

  private final Map<String, TopicSpec> byName;
  private final Map<TopicRole, TopicSpec> byRole;
  private final Map<String, TopicSpec> toolTopics;
  private final Map<String, JsonNode> schemas;

  private TopicCatalog(List<TopicSpec> specs, Map<String, JsonNode> schemas) {
    Map<String, TopicSpec> names = new TreeMap<>();
    Map<TopicRole, TopicSpec> roles = new EnumMap<>(TopicRole.class);
    Map<String, TopicSpec> tools = new TreeMap<>();
    for (TopicSpec spec : specs) {
      if (names.put(spec.name(), spec) != null) {
        throw new IllegalStateException(
            "topic catalog: topic " + spec.name() + " is declared twice");
      }
      if (spec.role() == TopicRole.TOOL_CALLS) {
        if (tools.put(spec.tool(), spec) != null) {
          throw new IllegalStateException("topic catalog: tool " + spec.tool() + " has two topics");
        }
      } else if (roles.put(spec.role(), spec) != null) {
        throw new IllegalStateException(
            "topic catalog: role " + spec.role() + " is declared twice");
      }
    }
    for (TopicRole role : TopicRole.values()) {
      if (role != TopicRole.TOOL_CALLS && !roles.containsKey(role)) {
        throw new IllegalStateException("topic catalog: no topic has role " + role);
      }
    }
    this.byName = Collections.unmodifiableMap(names);
    this.byRole = Collections.unmodifiableMap(roles);
    this.toolTopics = Collections.unmodifiableMap(tools);
    this.schemas = Map.copyOf(schemas);
  }

  /** The catalog shipped with the app (on the classpath under {@code topics/}). */
  public static TopicCatalog load() {
    return load(ClasspathFolder.open("topics", "topic catalog"));
  }

  /** A catalog read from a folder laid out like {@code topics/}. */
  public static TopicCatalog load(Path dir) {
    List<TopicSpec> specs = new ArrayList<>();
    Map<String, JsonNode> schemas = new LinkedHashMap<>();
    for (TopicSpec spec :
        JsonFolder.read(dir, TopicSpec.class, TopicSpec::name, "topic catalog", "declares topic")) {
      if (spec.valueSchema() != null) {
        Path schema = dir.resolve(spec.valueSchema());
        if (!Files.exists(schema)) {
          throw new IllegalStateException(
              "topic catalog: " + spec.name() + " names missing schema " + spec.valueSchema());
        }
        try {
          schemas.put(spec.name(), JsonFolder.STRICT.readTree(Files.readAllBytes(schema)));
        } catch (IOException e) {
          throw new UncheckedIOException("topic catalog: cannot read " + schema, e);
        }
      }
      specs.add(spec);
    }
    TopicCatalog catalog = new TopicCatalog(specs, schemas);
    // As shipped, topics met by key are declared alike, so that no record needs re-routing (see
    // KeyedInput).
    for (List<TopicRole> joined :
        List.of(CONTROLLER_CO_PARTITIONED, SPECIALIST_CO_PARTITIONED, SUMMARIZER_CO_PARTITIONED)) {
      if (joined.stream().map(r -> catalog.spec(r).partitions()).distinct().count() != 1) {
        throw new IllegalStateException(
            "topic catalog: "
                + joined
                + " are met by key in one processor and must be declared with the same number of partitions");
      }
    }
    return catalog;
  }

  /**
   * The same catalog with the partition counts a cluster has ({@code actual}, by topic name; topics
   * not in it keep the declared count): the topologies place keyed records by the counts they will
   * really meet.
   */
  public TopicCatalog withPartitions(Map<String, Integer> actual) {
    List<TopicSpec> specs = new ArrayList<>();
    for (TopicSpec s : byName.values()) {
      Integer n = actual.get(s.name());
      specs.add(n == null || n == s.partitions() ? s : s.withPartitions(n));
    }
    return new TopicCatalog(specs, schemas);
  }

  /**
   * How many partitions a pattern keeps the state of these keyed inputs in: the largest count among
   * them, which is also how many tasks Kafka Streams makes. Records of a topic with fewer
   * partitions are re-routed ({@link KeyedInput}).
   */
  public int keyPartitions(java.util.Collection<TopicSpec> inputs) {
    return inputs.stream()
        .mapToInt(TopicSpec::partitions)
        .max()
        .orElseThrow(() -> new IllegalArgumentException("no keyed inputs"));
  }

  /** {@link #keyPartitions(java.util.Collection)} of the topics with these roles. */
  public int keyPartitions(List<TopicRole> roles) {
    return keyPartitions(roles.stream().map(this::spec).toList());
  }

  /**
   * The same catalog with every topic name prefixed (config {@code topics.prefix}); empty prefix:
   * this catalog.
   */
  public TopicCatalog withPrefix(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      return this;
    }
    List<TopicSpec> renamed = new ArrayList<>();
    Map<String, JsonNode> renamedSchemas = new LinkedHashMap<>();
    for (TopicSpec s : byName.values()) {
      renamed.add(s.withName(prefix + s.name()));
      if (schemas.containsKey(s.name())) {
        renamedSchemas.put(prefix + s.name(), schemas.get(s.name()));
      }
    }
    return new TopicCatalog(renamed, renamedSchemas);
  }

  /**
   * The same catalog with a {@code tool-calls.<tool>} topic for every named tool that has none
   * (tools defined in {@code tools.dir}); each new topic is shaped like the shipped ones: as many
   * partitions as goals, same configs.
   */
  public TopicCatalog withToolTopics(java.util.Collection<String> toolNames, String prefix) {
    List<String> missing =
        toolNames.stream().filter(t -> !toolTopics.containsKey(t)).sorted().toList();
    if (missing.isEmpty()) {
      return this;
    }
    TopicSpec model = toolTopics.values().iterator().next();
    List<TopicSpec> specs = new ArrayList<>(byName.values());
    Map<String, JsonNode> all = new LinkedHashMap<>(schemas);
    for (String tool : missing) {
      String name = (prefix == null ? "" : prefix) + "tool-calls." + tool;
      specs.add(
          new TopicSpec(
              name,
              TopicRole.TOOL_CALLS,
              tool,
              byRole.get(TopicRole.GOALS).partitions(),
              model.replicationFactor(),
              model.configs(),
              model.key(),
              model.keyField(),
              model.valueSchema(),
              model.valueType(),
              "Calls of the "
                  + tool
                  + " tool (defined in tools.dir). Written by the controller,"
                  + " consumed by that tool's workers, which answer on tool-results and must be idempotent on callId."));
      all.put(name, schemas.get(model.name()));
    }
    return new TopicCatalog(specs, all);
  }

  /**
   * The catalog with a command topic {@code tool-calls.mcp.<server>} for each MCP server that has
   * none yet. One topic carries the calls of all of a server's tools ({@code <server>__<tool>}),
   * since a server may list new tools while the app runs.
   */
  public TopicCatalog withMcpTopics(java.util.Collection<String> servers, String prefix) {
    List<String> missing =
        servers.stream().filter(s -> !toolTopics.containsKey(mcpTopicKey(s))).sorted().toList();
    if (missing.isEmpty()) {
      return this;
    }
    TopicSpec model = toolTopics.values().iterator().next();
    List<TopicSpec> specs = new ArrayList<>(byName.values());
    Map<String, JsonNode> all = new LinkedHashMap<>(schemas);
    for (String server : missing) {
      String name = (prefix == null ? "" : prefix) + "tool-calls.mcp." + server;
      specs.add(
          new TopicSpec(
              name,
              TopicRole.TOOL_CALLS,
              mcpTopicKey(server),
              byRole.get(TopicRole.GOALS).partitions(),
              model.replicationFactor(),
              model.configs(),
              model.key(),
              model.keyField(),
              model.valueSchema(),
              model.valueType(),
              "Calls of the tools of MCP server "
                  + server
                  + " (declared in mcp.dir), named "
                  + server
                  + MCP_TOOL_SEPARATOR
                  + "<tool>. Written by the controller, consumed by the tools pattern's MCP bridge,"
                  + " which answers on tool-results once per callId."));
      all.put(name, schemas.get(model.name()));
    }
    return new TopicCatalog(specs, all);
  }

  /** Separates an MCP server's name from its tool's in the names the controller offers. */
  public static final String MCP_TOOL_SEPARATOR = "__";

  /** The key of an MCP server's command topic among the tool topics: {@code mcp.<server>}. */
  public static String mcpTopicKey(String server) {
    return "mcp." + server;
  }

  /**
   * The key of the command topic that carries calls of {@code tool}: the tool itself, or {@code
   * mcp.<server>} for an MCP tool {@code <server>__<name>}; null when there is none.
   */
  public String toolKey(String tool) {
    if (toolTopics.containsKey(tool)) {
      return tool;
    }
    int i = tool == null ? -1 : tool.indexOf(MCP_TOOL_SEPARATOR);
    if (i > 0 && toolTopics.containsKey(mcpTopicKey(tool.substring(0, i)))) {
      return mcpTopicKey(tool.substring(0, i));
    }
    return null;
  }

  public <V> Topic<V> topic(TopicRef<V> ref) {
    return typed(spec(ref.role()), ref.valueType());
  }

  /** The command topic of one tool ({@code tool-calls.<tool>}). */
  public <V> Topic<V> toolCalls(String tool, Class<V> valueType) {
    String key = toolKey(tool);
    TopicSpec spec = key == null ? null : toolTopics.get(key);
    if (spec == null) {
      throw new IllegalArgumentException(
          "no tool-calls topic for tool '" + tool + "'; known: " + toolTopics.keySet());
    }
    return typed(spec, valueType);
  }

  private static <V> Topic<V> typed(TopicSpec spec, Class<V> valueType) {
    if (spec.valueType() != null && !spec.valueType().equals(valueType.getName())) {
      throw new IllegalArgumentException(
          "topic " + spec.name() + " carries " + spec.valueType() + ", not " + valueType.getName());
    }
    return Topic.of(spec, valueType);
  }

  public TopicSpec spec(TopicRole role) {
    TopicSpec spec = byRole.get(role);
    if (spec == null) {
      throw new IllegalArgumentException(
          "role " + role + " has one topic per tool; use toolCalls(tool)");
    }
    return spec;
  }

  public Optional<TopicSpec> byName(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  public List<TopicSpec> all() {
    return List.copyOf(byName.values());
  }

  public Set<String> names() {
    return byName.keySet();
  }

  public Set<String> tools() {
    return toolTopics.keySet();
  }

  /** The value JSON Schema of a topic, or empty for topics whose values are raw bytes. */
  public Optional<JsonNode> valueSchema(String topicName) {
    return Optional.ofNullable(schemas.get(topicName));
  }
}
