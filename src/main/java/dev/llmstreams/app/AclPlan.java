package dev.llmstreams.app;

import dev.llmstreams.app.Flows.Flow;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The least-privilege ACLs of a deployment, one principal per role, derived from what the code
 * knows: each selected pattern's topology (what it reads and writes, {@link Flows}), the topic
 * catalog with its {@code topics.prefix}, tools and MCP servers, the {@code application.id} (Kafka
 * Streams names its consumer groups, internal topics and transactional ids after it) and the
 * settings that add clients (the MCP server, the span exporter, the publish tool's topics).
 */
final class AclPlan {

  /** Who does what. Each role is one principal; one principal may hold several roles. */
  enum Role {
    APP("runs the patterns (bin/llm-streams run)"),
    PRODUCER("submits work: goals, documents, classification requests"),
    CONSUMER("reads the outputs: goal results and events, syntheses, classifications"),
    APPROVER(
        "the people in a goal's loop: approve or reject held tool calls, answer ask_human questions"
            + " (writes approvals and human-answers, reads goal-events and tool-calls.ask_human)"),
    LABELLER("labels events for the specialist (writes labels, reads classifications)"),
    TRAINER("publishes trained specialist models (train --publish)"),
    REPLAYER("re-runs recorded traffic under a candidate into run-scoped topics (replay)"),
    WORKER(
        "runs the workers of tools no pattern serves (tools.dir): reads their calls, writes results"),
    OPERATOR("creates the catalog's topics (topics apply)");

    final String does;

    Role(String does) {
      this.does = does;
    }

    String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Role parse(String id) {
      for (Role r : values()) {
        if (r.id().equals(id.trim().toLowerCase(Locale.ROOT))) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "unknown role '"
              + id
              + "'; roles: "
              + Arrays.stream(values()).map(Role::id).collect(Collectors.joining(", ")));
    }
  }

  /** One resource and what one role may do on it, with the reason. */
  record Grant(
      Role role,
      String principal,
      ResourceType type,
      PatternType patternType,
      String name,
      Set<AclOperation> operations,
      String why) {
    List<AclBinding> bindings() {
      return operations.stream()
          .map(
              op ->
                  new AclBinding(
                      new ResourcePattern(type, name, patternType),
                      new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)))
          .toList();
    }
  }

  private final List<Grant> grants;

  private AclPlan(List<Grant> grants) {
    this.grants = List.copyOf(grants);
  }

  /** Default principals: {@code User:<application.id>} and {@code User:<application.id>-<role>}. */
  static Map<Role, String> defaultPrincipals(AppConfig config) {
    String app = config.getString(AppConfig.APPLICATION_ID);
    Map<Role, String> out = new EnumMap<>(Role.class);
    for (Role r : Role.values()) {
      out.put(r, "User:" + (r == Role.APP ? app : app + "-" + r.id()));
    }
    return out;
  }

  /**
   * The plan for this configuration and catalog (the catalog as {@code run} uses it: prefixed, with
   * the tools' and MCP servers' topics).
   */
  static AclPlan of(TopicCatalog catalog, AppConfig config, Map<Role, String> principals) {
    Builder b = new Builder(principals);
    String appId = config.getString(AppConfig.APPLICATION_ID);

    // The app: what each pattern's topology reads and writes, and what Kafka Streams names after
    // the pattern's application id.
    // Topologies built without the MCP servers (building with them would start them and list their
    // tools); each declared server's tool-calls.mcp.<server> topic is added below by name.
    Map<String, String> noMcp = new java.util.HashMap<>(config.originalsStrings());
    noMcp.put(AppConfig.MCP_DIR, "");
    List<Flow> flows = Flows.of(catalog, AppConfig.of(noMcp), config.patterns());
    List<String> mcpTopics =
        dev.llmstreams.runtime.mcp.McpServerSpec.load(config.getString(AppConfig.MCP_DIR)).stream()
            .map(
                s ->
                    catalog
                        .toolCalls(
                            TopicCatalog.mcpTopicKey(s.name()),
                            dev.llmstreams.events.ToolCall.class)
                        .name())
            .toList();
    for (Flow f : flows) {
      for (String t : mcpTopics) {
        if (f.pattern().equals("controller")) {
          b.topic(
              Role.APP,
              t,
              "pattern controller writes it (an MCP server's calls)",
              AclOperation.WRITE);
        } else if (f.pattern().equals("tools")) {
          b.topic(Role.APP, t, "pattern tools reads it (an MCP server's calls)", AclOperation.READ);
        }
      }
      String pattern = f.pattern();
      String streamsId = StreamsSettings.applicationId(config, pattern);
      for (String t : f.reads()) {
        b.topic(Role.APP, t, "pattern " + pattern + " reads it", AclOperation.READ);
      }
      for (String t : f.writes()) {
        b.topic(Role.APP, t, "pattern " + pattern + " writes it", AclOperation.WRITE);
      }
      if (f.dynamicSinks().contains("tools.publish")) {
        for (String t : config.getList(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS)) {
          b.topic(
              Role.APP,
              t,
              "the publish tool may write it (" + AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS + ")",
              AclOperation.WRITE);
        }
      }
      if (f.deadLetters() != null) {
        b.topic(
            Role.APP,
            f.deadLetters(),
            "pattern " + pattern + "'s error handlers write failed records",
            AclOperation.WRITE);
      }
      b.add(
          Role.APP,
          ResourceType.TOPIC,
          PatternType.PREFIXED,
          streamsId + "-",
          "Kafka Streams creates, reads, writes and purges pattern "
              + pattern
              + "'s changelog and repartition topics",
          AclOperation.CREATE,
          AclOperation.READ,
          AclOperation.WRITE,
          AclOperation.DELETE,
          AclOperation.DESCRIBE_CONFIGS);
      // Under group.protocol=streams the app writes the group settings it was given onto the group.
      boolean streamsGroup = dev.llmstreams.runtime.StreamsGroups.enabled(config);
      Set<String> groupSettings =
          streamsGroup ? dev.llmstreams.runtime.StreamsGroups.wanted(config).keySet() : Set.of();
      b.add(
          Role.APP,
          ResourceType.GROUP,
          PatternType.LITERAL,
          streamsId,
          "pattern "
              + pattern
              + (streamsGroup ? "'s streams group" : "'s consumer group")
              + " (its application id)"
              + (groupSettings.isEmpty()
                  ? ""
                  : "; group.protocol=streams: the app reads and sets the group's "
                      + String.join(", ", groupSettings)),
          groupSettings.isEmpty()
              ? new AclOperation[] {AclOperation.READ}
              : new AclOperation[] {
                AclOperation.READ, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS
              });
      b.add(
          Role.APP,
          ResourceType.TRANSACTIONAL_ID,
          PatternType.PREFIXED,
          streamsId + "-",
          "pattern " + pattern + "'s exactly-once producers",
          AclOperation.WRITE);
    }
    if (!"false".equals(config.getString(AppConfig.TRACING_ENABLED))) {
      String spans = catalog.spec(TopicRole.SPANS).name();
      b.topic(Role.APP, spans, "the span exporter ships it over OTLP", AclOperation.READ);
      b.add(
          Role.APP,
          ResourceType.GROUP,
          PatternType.LITERAL,
          StreamsSettings.applicationId(config, "span-export"),
          "the span exporters' consumer group",
          AclOperation.READ);
    }
    if (config.getBoolean(AppConfig.MCP_SERVER_ENABLED)) {
      for (TopicRole r :
          List.of(TopicRole.GOALS, TopicRole.DOCUMENTS, TopicRole.CLASSIFICATION_REQUESTS)) {
        b.topic(
            Role.APP,
            catalog.spec(r).name(),
            "the MCP server's tools produce to it (" + AppConfig.MCP_SERVER_ENABLED + ")",
            AclOperation.WRITE);
      }
      for (TopicRole r : List.of(TopicRole.GOAL_RESULTS, TopicRole.CLASSIFICATIONS)) {
        b.topic(
            Role.APP,
            catalog.spec(r).name(),
            "the MCP server's tools wait for answers on it",
            AclOperation.READ);
      }
    }
    // run checks that every catalog topic exists and compares partition counts before it starts.
    for (String t : catalog.names()) {
      b.topic(Role.APP, t, "run checks it exists", AclOperation.DESCRIBE);
    }

    // People and their tools.
    String groups = appId + "-";
    b.topics(
        Role.PRODUCER,
        catalog,
        List.of(TopicRole.GOALS, TopicRole.DOCUMENTS, TopicRole.CLASSIFICATION_REQUESTS),
        "work to do",
        AclOperation.WRITE);
    b.topics(
        Role.PRODUCER,
        catalog,
        List.of(TopicRole.GOAL_CANCELLATIONS),
        "stops goals it no longer wants",
        AclOperation.WRITE);
    b.topics(
        Role.CONSUMER,
        catalog,
        List.of(
            TopicRole.GOAL_RESULTS,
            TopicRole.GOAL_EVENTS,
            TopicRole.SYNTHESES,
            TopicRole.CLASSIFICATIONS,
            TopicRole.TENANT_TOTALS),
        "outputs",
        AclOperation.READ);
    b.topics(
        Role.APPROVER,
        catalog,
        List.of(TopicRole.APPROVALS),
        "releases or rejects held tool calls",
        AclOperation.WRITE);
    b.topics(
        Role.APPROVER,
        catalog,
        List.of(TopicRole.GOAL_EVENTS),
        "shows which calls wait for approval",
        AclOperation.READ);
    b.topics(
        Role.APPROVER,
        catalog,
        List.of(TopicRole.HUMAN_ANSWERS),
        "answers the questions goals ask people (ask_human)",
        AclOperation.WRITE);
    catalog.all().stream()
        .filter(t -> t.role() == TopicRole.TOOL_CALLS && "ask_human".equals(t.tool()))
        .forEach(
            t ->
                b.topic(
                    Role.APPROVER, t.name(), "the questions goals ask people", AclOperation.READ));
    b.topics(
        Role.LABELLER,
        catalog,
        List.of(TopicRole.LABELS),
        "labels steer retraining",
        AclOperation.WRITE);
    b.topics(
        Role.LABELLER,
        catalog,
        List.of(TopicRole.CLASSIFICATIONS),
        "the labels to review",
        AclOperation.READ);
    for (Role reader : List.of(Role.CONSUMER, Role.APPROVER, Role.LABELLER)) {
      b.add(
          reader,
          ResourceType.GROUP,
          PatternType.PREFIXED,
          groups + reader.id() + "-",
          "consumer groups named " + groups + reader.id() + "-*",
          AclOperation.READ);
    }
    // Tools defined in tools.dir have no worker in the app: workers of the operator's own read
    // their calls and answer on tool-results (docs/tools.md).
    Set<String> served = new TreeSet<>(mcpTopics);
    flows.forEach(f -> served.addAll(f.reads()));
    List<String> external =
        catalog.all().stream()
            .filter(t -> t.role() == TopicRole.TOOL_CALLS && !served.contains(t.name()))
            // People answer ask_human's calls, on human-answers (the approver role), not workers.
            .filter(t -> !"ask_human".equals(t.tool()))
            .map(dev.llmstreams.topics.TopicSpec::name)
            .toList();
    for (String t : external) {
      b.topic(Role.WORKER, t, "calls of a tool no pattern serves", AclOperation.READ);
    }
    if (!external.isEmpty()) {
      b.topics(
          Role.WORKER,
          catalog,
          List.of(TopicRole.TOOL_RESULTS),
          "the workers' answers",
          AclOperation.WRITE);
      b.add(
          Role.WORKER,
          ResourceType.GROUP,
          PatternType.PREFIXED,
          groups + Role.WORKER.id() + "-",
          "consumer groups named " + groups + Role.WORKER.id() + "-*",
          AclOperation.READ);
    }
    b.topics(
        Role.TRAINER,
        catalog,
        List.of(TopicRole.SPECIALIST_MODELS, TopicRole.LABELS),
        "train --publish writes the model and its training examples",
        AclOperation.WRITE);
    b.topics(
        Role.TRAINER,
        catalog,
        List.of(TopicRole.SPECIALIST_MODELS, TopicRole.LABELS),
        "train --publish's promotion gate reads the model in service and the labels newer than it",
        AclOperation.READ);
    b.topics(
        Role.REPLAYER,
        catalog,
        List.of(
            TopicRole.CLASSIFICATION_REQUESTS,
            TopicRole.CLASSIFICATIONS,
            TopicRole.LABELS,
            TopicRole.SPECIALIST_MODELS,
            TopicRole.DOCUMENTS,
            TopicRole.SYNTHESES,
            TopicRole.GOALS,
            TopicRole.GOAL_RESULTS,
            TopicRole.TOOL_RESULTS),
        "replay reads the recorded slice, what it led to and the candidate",
        AclOperation.READ,
        AclOperation.DESCRIBE);
    catalog.all().stream()
        .filter(t -> t.role() == TopicRole.TOOL_CALLS)
        .forEach(
            t ->
                b.topic(
                    Role.REPLAYER,
                    t.name(),
                    "replay goals reads the original run's tool calls, to answer the same calls from"
                        + " their results",
                    AclOperation.READ,
                    AclOperation.DESCRIBE));
    String replayTopics = config.getString(AppConfig.TOPICS_PREFIX) + "replay.";
    b.add(
        Role.REPLAYER,
        ResourceType.TOPIC,
        PatternType.PREFIXED,
        replayTopics,
        "replay creates and writes its run-scoped topics "
            + replayTopics
            + "<run>.*, never others;"
            + " replay delete deletes them",
        AclOperation.CREATE,
        AclOperation.DELETE,
        AclOperation.WRITE,
        AclOperation.READ,
        AclOperation.DESCRIBE,
        AclOperation.DESCRIBE_CONFIGS);
    b.add(
        Role.REPLAYER,
        ResourceType.TRANSACTIONAL_ID,
        PatternType.PREFIXED,
        appId + "-replay-",
        "replay writes each run in one transaction; the run's application (replay documents, replay goals) its"
            + " exactly-once producers",
        AclOperation.WRITE,
        AclOperation.DESCRIBE);
    b.add(
        Role.REPLAYER,
        ResourceType.TOPIC,
        PatternType.PREFIXED,
        appId + "-replay-",
        "a replay run's application (application id "
            + appId
            + "-replay-<run>) creates, reads, writes and purges its changelog and repartition topics",
        AclOperation.CREATE,
        AclOperation.READ,
        AclOperation.WRITE,
        AclOperation.DELETE,
        AclOperation.DESCRIBE,
        AclOperation.DESCRIBE_CONFIGS);
    b.add(
        Role.REPLAYER,
        ResourceType.GROUP,
        PatternType.PREFIXED,
        appId + "-replay-",
        "a replay run's consumer groups (its patterns' application ids); replay delete deletes them",
        AclOperation.READ,
        AclOperation.DELETE);
    for (String t : catalog.names()) {
      b.topic(
          Role.OPERATOR,
          t,
          "topics apply creates it and compares its settings",
          AclOperation.CREATE,
          AclOperation.DESCRIBE,
          AclOperation.DESCRIBE_CONFIGS);
    }
    return new AclPlan(b.merged());
  }

  List<Grant> grants() {
    return grants;
  }

  List<Grant> grants(Collection<Role> roles) {
    return grants.stream().filter(g -> roles.contains(g.role())).toList();
  }

  List<AclBinding> bindings(Collection<Role> roles) {
    return grants(roles).stream().flatMap(g -> g.bindings().stream()).distinct().toList();
  }

  /** The plan as {@code kafka-acls.sh} commands, grouped by role, with why each is needed. */
  String commands(Collection<Role> roles, String bootstrap) {
    StringBuilder sb = new StringBuilder();
    for (Role role : Role.values()) {
      if (!roles.contains(role)) {
        continue;
      }
      List<Grant> mine = grants(List.of(role));
      if (mine.isEmpty()) {
        continue;
      }
      sb.append("# ")
          .append(role.id())
          .append(" (")
          .append(mine.get(0).principal())
          .append("): ")
          .append(role.does)
          .append('\n');
      for (Grant g : mine) {
        sb.append("kafka-acls.sh --bootstrap-server ")
            .append(bootstrap)
            .append(" --command-config admin.properties --add --allow-principal ")
            .append(g.principal());
        for (AclOperation op : g.operations()) {
          sb.append(" --operation ").append(operationName(op));
        }
        sb.append(
            switch (g.type()) {
              case TOPIC -> " --topic " + g.name();
              case GROUP -> " --group " + g.name();
              case TRANSACTIONAL_ID -> " --transactional-id " + g.name();
              default -> throw new IllegalStateException("unexpected resource " + g.type());
            });
        if (g.patternType() == PatternType.PREFIXED) {
          sb.append(" --resource-pattern-type prefixed");
        }
        sb.append("  # ").append(g.why()).append('\n');
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** The plan as a Markdown table. */
  String table(Collection<Role> roles) {
    StringBuilder sb =
        new StringBuilder(
            "| role | principal | resource | name | operations | why |\n|---|---|---|---|---|---|\n");
    for (Grant g : grants(roles)) {
      sb.append("| ")
          .append(g.role().id())
          .append(" | `")
          .append(g.principal())
          .append("` | ")
          .append(g.type().name().toLowerCase(Locale.ROOT).replace('_', ' '))
          .append(g.patternType() == PatternType.PREFIXED ? " (prefix)" : "")
          .append(" | `")
          .append(g.name())
          .append(g.patternType() == PatternType.PREFIXED ? "*" : "")
          .append("` | ")
          .append(
              g.operations().stream().map(AclPlan::operationName).collect(Collectors.joining(", ")))
          .append(" | ")
          .append(g.why())
          .append(" |\n");
    }
    return sb.toString();
  }

  /** As kafka-acls.sh spells operations: Read, Write, DescribeConfigs. */
  static String operationName(AclOperation op) {
    StringBuilder sb = new StringBuilder();
    for (String part : op.name().toLowerCase(Locale.ROOT).split("_")) {
      sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
    }
    return sb.toString();
  }

  /** Collects grants, merging the operations of one role on one resource. */
  private static final class Builder {
    private record Key(Role role, ResourceType type, PatternType patternType, String name) {}

    private final Map<Key, Set<AclOperation>> ops = new LinkedHashMap<>();
    private final Map<Key, Set<String>> whys = new LinkedHashMap<>();
    private static final Set<AclOperation> IMPLY_DESCRIBE =
        EnumSet.of(AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER);

    private final Map<Role, String> principals;

    Builder(Map<Role, String> principals) {
      this.principals = principals;
    }

    void add(
        Role role,
        ResourceType type,
        PatternType patternType,
        String name,
        String why,
        AclOperation... operations) {
      Key key = new Key(role, type, patternType, name);
      ops.computeIfAbsent(key, k -> EnumSet.noneOf(AclOperation.class)).addAll(List.of(operations));
      whys.computeIfAbsent(key, k -> new java.util.LinkedHashSet<>()).add(why);
    }

    void topic(Role role, String topic, String why, AclOperation... operations) {
      add(role, ResourceType.TOPIC, PatternType.LITERAL, topic, why, operations);
    }

    void topics(
        Role role,
        TopicCatalog catalog,
        List<TopicRole> topicRoles,
        String why,
        AclOperation... operations) {
      for (TopicRole r : topicRoles) {
        topic(role, catalog.spec(r).name(), why, operations);
      }
    }

    List<Grant> merged() {
      List<Grant> out = new ArrayList<>();
      ops.forEach(
          (key, operations) -> {
            Set<AclOperation> effective = EnumSet.copyOf(operations);
            // Read, write, delete and alter each imply describe (Kafka's authorizer): a describe
            // is kept only where none of them is granted.
            if (effective.stream().anyMatch(IMPLY_DESCRIBE::contains)) {
              effective.remove(AclOperation.DESCRIBE);
            }
            Set<String> why = whys.get(key);
            // "run checks it exists" adds nothing to a reason to read or write it.
            if (why.size() > 1) {
              why.remove("run checks it exists");
            }
            out.add(
                new Grant(
                    key.role(),
                    principals.get(key.role()),
                    key.type(),
                    key.patternType(),
                    key.name(),
                    java.util.Collections.unmodifiableSet(effective),
                    String.join("; ", new TreeSet<>(why))));
          });
      out.sort(
          java.util.Comparator.comparing((Grant g) -> g.role())
              .thenComparing(g -> g.type())
              .thenComparing(g -> g.patternType())
              .thenComparing(g -> g.name()));
      return out;
    }
  }
}
