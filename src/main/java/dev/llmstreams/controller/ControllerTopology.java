package dev.llmstreams.controller;

import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.TenantSpend;
import dev.llmstreams.events.TenantTotal;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The controller: one processor over its goalId-keyed inputs, one goal log per goal.
 *
 * <pre>
 * goals ─────────────────┐                         ┌▶ controller.llm-requests (controller.plan, replyTo controller.llm-replies;
 *                        │                         │  with controller.llm.calls=direct and the gateway in this app, the task
 *                        │                         │  calls it in place instead, waiting calls in store controller-llm-calls)
 * controller.llm-replies ┤                         ├▶ tool-calls.&lt;tool&gt; (one sink per command topic; not
 *                        │                         │  for controller.inline.tools, answered in place)
 * tool-results ──────────┤                         ├▶ goal-events (audit trail)
 * approvals ─────────────┼▶ controller.run-goals ──┼▶ goal-results (exactly one per goal)
 * goal-cancellations ────┤   stores controller-    ├▶ goals (child goals of delegate calls)
 * human-answers ─────────┘   goal-log, -timers     ├▶ tool-results (a child's result, to its parent)
 *                                                  ├▶ goal-cancellations (a parent's running children, when it ends)
 *                                                  └▶ tenant-spend (each reply's tokens and cost, keyed by tenant)
 * tenant-spend ─▶ groupByKey.aggregate (store controller-tenant-spend) ─▶ tenant-totals (compacted)
 * tenant-totals ─▶ global table controller-tenant-totals, read by controller.run-goals before each turn
 * </pre>
 */
public final class ControllerTopology {
  public static final String LOG_STORE = "controller-goal-log";
  public static final String TIMER_STORE = "controller-timers";

  /**
   * The LLM call each goal waits for when the controller calls directly ({@code
   * controller.llm.calls=direct}), by goalId: a new owner of the task calls again.
   */
  public static final String CALL_STORE = "controller-llm-calls";

  /** Each tenant's spend in the current budget period, summed from tenant-spend (its owner's). */
  public static final String TENANT_SPEND_STORE = "controller-tenant-spend";

  /** The same totals on every instance: a global table of tenant-totals. */
  public static final String TENANT_TOTALS_STORE = "controller-tenant-totals";

  static final String PROCESSOR = "controller.run-goals";
  static final String SPANS_SINK = "controller.spans";

  private final TopicCatalog catalog;
  private final Guards guards;
  private final long retentionMs;
  private final long tickMs;
  private final int maxResultChars;
  private final MeterRegistry registry;
  private final dev.llmstreams.observability.tracing.Tracing tracing;
  private final Prompt systemPrompt;
  private final InlineTools inline;
  private final String workerId;
  private dev.llmstreams.runtime.LlmCalls llmCalls;
  private java.time.Duration pollInterval = java.time.Duration.ofMillis(5);
  private int maxQueued = 10_000;

  /**
   * @param systemPrompt the system message of every goal's conversation (prompt {@code
   *     controller.system})
   * @param inline the tools the controller answers itself, in the step's transaction
   * @param workerId this instance, as the results of inline calls name their worker
   */
  ControllerTopology(
      TopicCatalog catalog,
      Guards guards,
      long retentionMs,
      long tickMs,
      int maxResultChars,
      MeterRegistry registry,
      dev.llmstreams.observability.tracing.Tracing tracing,
      Prompt systemPrompt,
      InlineTools inline,
      String workerId) {
    this.inline = inline;
    this.workerId = workerId;
    this.tracing = tracing;
    this.systemPrompt = systemPrompt;
    this.catalog = catalog;
    this.guards = guards;
    this.retentionMs = retentionMs;
    this.tickMs = tickMs;
    this.maxResultChars = maxResultChars;
    this.registry = registry;
  }

  /**
   * Calls the LLM through {@code calls} from the task itself, handing finished calls on every
   * {@code pollInterval} and reading no more input while more than {@code maxQueued} wait for a
   * slot; null: through {@code controller.llm-requests}.
   */
  ControllerTopology withLlmCalls(
      dev.llmstreams.runtime.LlmCalls calls, java.time.Duration pollInterval, int maxQueued) {
    this.llmCalls = calls;
    this.pollInterval = pollInterval;
    this.maxQueued = maxQueued;
    return this;
  }

  public Topology build() {
    for (String tool : guards.registry().topicTools()) {
      if (catalog.toolKey(tool) == null) {
        throw new IllegalStateException(
            "tool " + tool + " has no tool-calls." + tool + " topic in the catalog");
      }
    }
    // Whatever partition a producer chose, each record reaches the task holding its goal's log (see
    // KeyedInput).
    int partitions = catalog.keyPartitions(TopicCatalog.CONTROLLER_CO_PARTITIONED);
    StreamsBuilder builder = StreamsSettings.newBuilder();
    List<String> inputs = new ArrayList<>();
    inputs.add(read(builder, catalog.topic(Topics.GOALS), "controller.goals", partitions));
    inputs.add(
        read(
            builder,
            catalog.topic(Topics.CONTROLLER_LLM_REPLIES),
            "controller.llm-replies",
            partitions));
    inputs.add(
        read(builder, catalog.topic(Topics.TOOL_RESULTS), "controller.tool-results", partitions));
    inputs.add(read(builder, catalog.topic(Topics.APPROVALS), "controller.approvals", partitions));
    inputs.add(
        read(
            builder,
            catalog.topic(Topics.GOAL_CANCELLATIONS),
            "controller.cancellations",
            partitions));
    inputs.add(
        read(builder, catalog.topic(Topics.HUMAN_ANSWERS), "controller.human-answers", partitions));
    Topic<LlmReply> replies = catalog.topic(Topics.CONTROLLER_LLM_REPLIES);
    tenantTotals(builder);
    Topology topology = builder.build();

    RunGoals.Sinks sinks =
        new RunGoals.Sinks(
            "controller.request-llm",
            "controller.goal-results",
            "controller.goal-events",
            "controller.child-goals",
            "controller.child-cancellations",
            "controller.child-results",
            "controller.tool-calls.",
            catalog::toolKey,
            "controller.tenant-spend",
            TENANT_TOTALS_STORE);
    String replyTo = replies.name();
    topology.addProcessor(
        PROCESSOR,
        () ->
            new RunGoals(
                LOG_STORE,
                TIMER_STORE,
                sinks,
                replyTo,
                guards,
                retentionMs,
                tickMs,
                maxResultChars,
                registry,
                tracing,
                SPANS_SINK,
                systemPrompt,
                inline,
                workerId,
                CALL_STORE,
                llmCalls,
                pollInterval,
                maxQueued),
        inputs.toArray(String[]::new));
    // In both modes, so that the setting can change across restarts with the same state.
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(CALL_STORE),
            Serdes.String(),
            JsonSerde.of(RunGoals.PendingLlmCall.class)),
        PROCESSOR);
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(LOG_STORE), Serdes.String(), GoalLogs.SERDE),
        PROCESSOR);
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(TIMER_STORE),
            Serdes.String(),
            JsonSerde.of(Timer.class)),
        PROCESSOR);

    // Its own topic: on llm-requests a goal's turn would wait behind the bulk patterns' open
    // transactions (read_committed reads stop at the first one).
    sink(topology, sinks.requests(), catalog.topic(Topics.CONTROLLER_LLM_REQUESTS));
    sink(topology, sinks.results(), catalog.topic(Topics.GOAL_RESULTS));
    sink(topology, sinks.events(), catalog.topic(Topics.GOAL_EVENTS));
    // Subagents: a delegate call starts a child goal on goals; a child's result goes back to its
    // parent on tool-results; a parent that ends cancels its running children on
    // goal-cancellations.
    sink(topology, sinks.goals(), catalog.topic(Topics.GOALS));
    sink(topology, sinks.cancellations(), catalog.topic(Topics.GOAL_CANCELLATIONS));
    sink(topology, sinks.toolResults(), catalog.topic(Topics.TOOL_RESULTS));
    sink(topology, sinks.tenantSpend(), catalog.topic(Topics.TENANT_SPEND));
    // One sink per command topic: a tool's own, or an MCP server's (whose tools may change while
    // the app runs, so its sink is there whatever the server lists now).
    java.util.Set<String> keys = new java.util.TreeSet<>();
    for (ToolDefinition tool : guards.registry().all()) {
      if (!tool.name().equals(Guards.DELEGATE)) { // run by the controller itself
        keys.add(catalog.toolKey(tool.name()));
      }
    }
    catalog.tools().stream()
        .filter(k -> k.startsWith(TopicCatalog.mcpTopicKey("")))
        .forEach(keys::add);
    for (String key : keys) {
      Topic<ToolCall> calls = catalog.toolCalls(key, ToolCall.class);
      topology.addSink(
          sinks.topic(key),
          calls.name(),
          calls.keySerde().serializer(),
          calls.sinkSerializer(),
          PROCESSOR);
    }
    dev.llmstreams.observability.tracing.SpanSink.add(topology, catalog, SPANS_SINK, PROCESSOR);
    return topology;
  }

  private static void sink(Topology topology, String node, Topic<?> topic) {
    topology.addSink(
        node, topic.name(), topic.keySerde().serializer(), topic.sinkSerializer(), PROCESSOR);
  }

  /**
   * Sums tenant-spend per tenant and budget period into tenant-totals (exactly-once, like the rest:
   * the store and the output commit with the input's offsets), and reads tenant-totals back as a
   * global table, so that every instance sees every tenant's total. The totals reach the global
   * table after the aggregation's commit, so the check lags the spend by about a commit interval.
   */
  private void tenantTotals(StreamsBuilder builder) {
    Topic<TenantSpend> spend = catalog.topic(Topics.TENANT_SPEND);
    Topic<TenantTotal> totals = catalog.topic(Topics.TENANT_TOTALS);
    builder.stream(
            spend.name(),
            Consumed.with(spend.keySerde(), spend.valueSerde())
                .withName("controller.tenant-spend-in"))
        .groupByKey()
        .aggregate(
            () -> TenantTotal.NONE,
            (tenant, s, total) -> total.plus(s, Instant.now()),
            Named.as("controller.sum-tenant-spend"),
            Materialized.<String, TenantTotal, KeyValueStore<Bytes, byte[]>>as(TENANT_SPEND_STORE)
                .withKeySerde(Serdes.String())
                .withValueSerde(totals.valueSerde()))
        .toStream(Named.as("controller.tenant-totals-out"))
        .to(
            totals.name(),
            Produced.with(totals.keySerde(), totals.valueSerde())
                .withName("controller.tenant-totals"));
    builder.globalTable(
        totals.name(),
        Consumed.with(totals.keySerde(), totals.valueSerde())
            .withName("controller.tenant-totals-in"),
        Materialized.<String, TenantTotal, KeyValueStore<Bytes, byte[]>>as(TENANT_TOTALS_STORE)
            .withKeySerde(Serdes.String())
            .withValueSerde(totals.valueSerde()));
  }

  private String read(StreamsBuilder builder, Topic<?> topic, String source, int partitions) {
    return KeyedInput.read(builder, "controller", topic, source, partitions, registry).node();
  }
}
