package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.controller.GoalReplay;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.runtime.tools.RecordedResults;
import dev.llmstreams.tools.ReplayToolsModule;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code replay goals}: the recorded goals of a slice run again under a candidate route, model,
 * prompts or settings, in a separate in-process Streams application (gateway, controller and the
 * replay's tool workers) whose topics are all under {@code <topics.prefix>replay.<run>.}. A tool
 * call the original run made is answered from its recorded result; any other runs only when its
 * tool is read-only, else it is answered as not executed. Each goal's replay is compared with its
 * recorded result.
 */
@Command(
    name = "goals",
    mixinStandardHelpOptions = true,
    description = {
      "Run the recorded goals of a slice again under a candidate route, model, prompts or "
          + "settings, in a separate Streams application (<application.id>-replay-<run>) whose topics "
          + "are all under <topics.prefix>replay.<run>.",
      "A tool call the original run made (same goal, tool and arguments) is answered from its "
          + "recorded result; a new call runs only when its tool is read-only (calculator, synthesis "
          + "with tools.synthesis.url, read-only MCP tools); publish, http_get and other tools with "
          + "effects are never executed (the call is answered \"not executed in replay\"). Reports, "
          + "per goal and in total, status and answer against the original, steps, tokens, cost, "
          + "latency and how the tool calls were answered. The same replay again costs no provider "
          + "call (the reply cache <topics.prefix>replay.reply-cache)."
    })
final class ReplayGoals implements Callable<Integer> {
  /** Exit status when some goal had no result within --timeout. */
  static final int INCOMPLETE = 4;

  @ParentCommand ReplayCommand replay;

  @Option(
      names = "--ids",
      split = ",",
      paramLabel = "GOAL_ID",
      description = "Only these goals (the goals' keys).")
  List<String> ids;

  @picocli.CommandLine.Mixin ReplayCommand.Range range;

  @picocli.CommandLine.Mixin ReplayCommand.Run candidateRun;

  @Option(
      names = "--limit",
      defaultValue = "1000",
      description = "At most this many goals, the oldest first (default ${DEFAULT-VALUE}).")
  int limit;

  @Option(
      names = "--timeout",
      defaultValue = "PT10M",
      paramLabel = "DURATION",
      description = "How long to wait for every goal's result (default ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the report (totals and every goal) here.")
  Path json;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description =
          "Write the totals and the first --rows goals whose replay differs as Markdown tables here.")
  Path markdown;

  @Option(
      names = "--rows",
      defaultValue = "20",
      description = "Differing goals in the Markdown table (default ${DEFAULT-VALUE}).")
  int rows;

  /** One recorded goal of the slice. */
  private record Recorded(ConsumerRecord<byte[], byte[]> record, Goal goal) {}

  /** The run's temporary state folder (null until made), deleted however the run ends. */
  private Path state;

  @Override
  public Integer call() throws Exception {
    return ReplayCommand.deletingState(this::replay, () -> state);
  }

  private Integer replay() throws Exception {
    AppConfig config = replay.main.config();
    TopicCatalog catalog = replay.main.catalog();
    Progress progress = new Progress(System.err, "replay");
    Instant now = Instant.now();
    Instant fromTime = range.from(now);
    Instant toTime = range.to(now);
    String runId = ReplayCommand.runId(candidateRun.run, now);
    Map<String, String> candidate = new LinkedHashMap<>();
    state = Files.createTempDirectory("llm-streams-replay-" + runId);
    AppConfig runConfig = candidateRun.config(config, runId, state, "controller", candidate);
    TopicCatalog runCatalog = Main.catalog(runConfig);

    List<Recorded> slice = slice(config, catalog, fromTime, toTime, progress);
    if (slice.isEmpty()) {
      throw new Main.UserError("no goals to replay in the slice");
    }
    Set<String> goalIds = new HashSet<>();
    slice.forEach(r -> goalIds.add(r.goal().goalId()));
    Map<String, GoalResult> original = new HashMap<>();
    RecordedResults recorded = new RecordedResults();
    Set<String> existing;
    try (Admin admin = Clients.admin(config)) {
      existing = admin.listTopics().names().get();
    }
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      ReplayCommand.eachSince(
          consumer,
          catalog.topic(Topics.GOAL_RESULTS),
          fromTime,
          r -> {
            if (goalIds.contains(r.goalId())) {
              original.putIfAbsent(r.goalId(), r);
            }
          });
      record(consumer, catalog, existing, fromTime, goalIds, recorded);
    }
    progress.say(
        "%,d goals (%,d with a recorded result), %,d recorded tool calls; candidate %s",
        slice.size(), original.size(), recorded.size(), candidate);

    String runGoals = runCatalog.spec(TopicRole.GOALS).name();
    String runResults = runCatalog.spec(TopicRole.GOAL_RESULTS).name();
    try (Admin admin = Clients.admin(config)) {
      List<TopicSpec> topics = new ArrayList<>(runCatalog.all());
      topics.add(ReplayCommand.replyCacheSpec(config, catalog));
      new TopicAdmin(admin, config.getShort(AppConfig.TOPICS_REPLICATION_FACTOR))
          .apply(topics, false);
    }
    ReplayCommand.refuseWritten(config, runId, runGoals);

    Map<String, GoalResult> replayed;
    long wallMs;
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(runConfig, runCatalog, observability)) {
      app.start(
          List.of(
              new GatewayModule(), ControllerModule.forReplay(), new ReplayToolsModule(recorded)));
      if (!app.awaitReady(timeout)) {
        throw new Main.UserError("the replay's application did not start within " + timeout);
      }
      long started = System.nanoTime();
      copy(config, runId, runGoals, slice);
      progress.say("%,d goals copied to %s; waiting for their results", slice.size(), runGoals);
      replayed = awaitResults(config, catalog, runResults, goalIds, started, progress);
      wallMs = (System.nanoTime() - started) / 1_000_000;
    }
    Folders.deleteQuietly(state);

    Map<String, List<ToolResult>> tools = new HashMap<>();
    Map<String, List<LlmReply>> replies = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      ReplayCommand.eachSince(
          consumer,
          runCatalog.topic(Topics.TOOL_RESULTS),
          null,
          r -> tools.computeIfAbsent(r.goalId(), k -> new ArrayList<>()).add(r));
      ReplayCommand.eachSince(
          consumer,
          runCatalog.topic(Topics.CONTROLLER_LLM_REPLIES),
          null,
          r -> {
            if (r.correlationId() != null) {
              replies.computeIfAbsent(r.correlationId(), k -> new ArrayList<>()).add(r);
            }
          });
    }
    List<GoalReplay.Item> items = new ArrayList<>();
    for (Recorded r : slice) {
      String id = r.goal().goalId();
      GoalResult a = original.get(id);
      GoalResult b = replayed.get(id);
      items.add(
          new GoalReplay.Item(
              id,
              a == null ? null : GoalReplay.Outcome.of(a),
              b == null ? null : GoalReplay.Outcome.of(b),
              GoalReplay.Tools.of(tools.getOrDefault(id, List.of())),
              GoalReplay.Llm.of(replies.getOrDefault(id, List.of()))));
    }
    GoalReplay.Report report = new GoalReplay.Report(candidate, wallMs, items);
    ObjectNode out = report.toJson();
    out.put("run", runId);
    out.put("topic", runResults);
    out.put("application_id", runConfig.getString(AppConfig.APPLICATION_ID));
    if (markdown != null) {
      Files.writeString(markdown, report.toMarkdown(rows));
      progress.say("Markdown report written to %s", markdown);
    }
    if (json == null) {
      out.remove("items"); // the console shows the totals; --json keeps every goal
    }
    BenchCommand.report(out, json);
    long unfinished = items.stream().filter(i -> !i.finished()).count();
    if (unfinished > 0) {
      progress.say(
          "%,d goals had no result within %s (see finished in the report)", unfinished, timeout);
      return INCOMPLETE;
    }
    return 0;
  }

  /**
   * The goals of the slice that users submitted (child goals are left to their parents), the oldest
   * first, the first record of each goalId, at most --limit.
   */
  private List<Recorded> slice(
      AppConfig config, TopicCatalog catalog, Instant fromTime, Instant toTime, Progress progress) {
    Topic<Goal> goals = catalog.topic(Topics.GOALS);
    Set<String> only = ids == null ? null : new HashSet<>(ids);
    List<ConsumerRecord<byte[], byte[]>> records =
        ReplayCommand.sliceRecords(
            config, goals.name(), fromTime, toTime, only == null ? null : only::contains);
    List<Recorded> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    int unreadable = 0;
    for (var r : records) {
      if (out.size() >= limit) {
        break;
      }
      Goal g;
      try {
        g = goals.valueSerde().deserializer().deserialize(goals.name(), r.value());
      } catch (RuntimeException e) {
        unreadable++; // the controller dead-lettered it: nothing to replay
        continue;
      }
      // A child goal (delegate) is not copied: its replayed parent starts it again, if it does.
      if (g != null
          && g.parent() == null
          && g.goalId().equals(new String(r.key(), StandardCharsets.UTF_8))
          && seen.add(g.goalId())) {
        out.add(new Recorded(r, g));
      }
    }
    if (unreadable > 0) {
      progress.say("%,d records of the slice could not be read as goals; skipped", unreadable);
    }
    return out;
  }

  /**
   * The original run's tool calls of the slice's goals and their results: every {@code
   * tool-calls.*} topic of the catalog that exists, and {@code tool-results}, since {@code
   * fromTime}.
   */
  private static void record(
      KafkaConsumer<byte[], byte[]> consumer,
      TopicCatalog catalog,
      Set<String> existing,
      Instant fromTime,
      Set<String> goalIds,
      RecordedResults recorded) {
    Map<String, ToolCall> calls = new HashMap<>();
    for (TopicSpec spec : catalog.all()) {
      if (spec.role() != TopicRole.TOOL_CALLS || !existing.contains(spec.name())) {
        continue;
      }
      ReplayCommand.eachSince(
          consumer,
          catalog.toolCalls(spec.tool(), ToolCall.class),
          fromTime,
          c -> {
            if (goalIds.contains(c.goalId())) {
              calls.putIfAbsent(c.callId(), c);
            }
          });
    }
    ReplayCommand.eachSince(
        consumer,
        catalog.topic(Topics.TOOL_RESULTS),
        fromTime,
        r -> {
          ToolCall c = calls.get(r.callId());
          if (c != null && c.tool().equals(r.tool())) {
            recorded.add(c.goalId(), c.tool(), c.arguments(), r);
          }
        });
  }

  /**
   * Copies the slice to the run's goals topic in one transaction: key, value, headers, time. A goal
   * with a deadline gets the same time to run as it had: its deadline moves by the time since it
   * was recorded (a replay of yesterday's goals would otherwise time out on arrival).
   */
  private static void copy(AppConfig config, String runId, String topic, List<Recorded> slice) {
    long now = System.currentTimeMillis();
    try (KafkaProducer<byte[], byte[]> producer =
        Clients.transactionalProducer(
            config, config.getString(AppConfig.APPLICATION_ID) + "-replay-" + runId + "-goals")) {
      producer.initTransactions();
      producer.beginTransaction();
      for (Recorded r : slice) {
        ConsumerRecord<byte[], byte[]> c = r.record();
        byte[] value = c.value();
        if (r.goal().deadline() != null) {
          long left = r.goal().deadline().toEpochMilli() - c.timestamp();
          JsonNode tree = Json.tree(new String(value, StandardCharsets.UTF_8));
          ((ObjectNode) tree).put("deadline", Instant.ofEpochMilli(now + left).toString());
          value = tree.toString().getBytes(StandardCharsets.UTF_8);
        }
        producer.send(
            new ProducerRecord<>(topic, null, c.timestamp(), c.key(), value, c.headers()));
      }
      producer.commitTransaction();
    }
  }

  /**
   * Reads the run's goal results (read committed) until every goal of the slice has one, or
   * --timeout passes.
   */
  private Map<String, GoalResult> awaitResults(
      AppConfig config,
      TopicCatalog catalog,
      String topic,
      Set<String> goalIds,
      long started,
      Progress progress) {
    Topic<GoalResult> results = catalog.topic(Topics.GOAL_RESULTS);
    Map<String, GoalResult> out = new HashMap<>();
    long deadline = started + timeout.toNanos();
    long nextSay = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      consumer.seekToBeginning(TopicReads.assign(consumer, topic));
      while (out.size() < goalIds.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          GoalResult g;
          try {
            g = results.valueSerde().deserializer().deserialize(topic, r.value());
          } catch (RuntimeException e) {
            continue;
          }
          if (g != null && goalIds.contains(g.goalId())) {
            out.putIfAbsent(g.goalId(), g);
          }
        }
        if (System.nanoTime() > nextSay) {
          progress.say("%,d of %,d goals finished", out.size(), goalIds.size());
          nextSay = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        }
      }
    }
    progress.say("%,d of %,d goals finished", out.size(), goalIds.size());
    return out;
  }
}
