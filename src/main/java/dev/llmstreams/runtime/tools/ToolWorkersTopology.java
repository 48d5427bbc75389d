package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.observability.tracing.CurrentSpan;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.RejectedRecordException;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The built-in tool workers: each call on {@code tool-calls.<tool>} is run once and answered on
 * {@code tool-results} with the call's key (goalId) and callId.
 *
 * <pre>
 * tool-calls.calculator ─▶ tools.calls.calculator ─┐
 * tool-calls.http_get   ─▶ tools.calls.http_get   ─┤                     ┌▶ tools.results ─▶ tool-results
 * tool-calls.publish    ─▶ tools.calls.publish    ─┼▶ tools.execute ─────┤
 * tool-calls.synthesis  ─▶ tools.calls.synthesis  ─┘  store tools-executed └▶ tools.publish ─▶ (the record's topic)
 *   unreadable values ──▶ dead-letters (deserialization handler); no key, wrong tool ──▶ dead-letters (processing)
 * </pre>
 *
 * <p>Idempotent on callId: the result is stored in {@code tools-executed} in the transaction that
 * sends it, so a repeated call (a retry, a replay, a redelivery after a crash before the commit) is
 * answered from the store. The tool-calls topics are keyed by goalId and have as many partitions as
 * each other, so every call of one goal, whatever its tool, meets the same store partition.
 */
public final class ToolWorkersTopology {
  public static final String EXECUTED_STORE = "tools-executed";
  static final String PROCESSOR = "tools.execute";
  static final String RESULTS_SINK = "tools.results";
  static final String PUBLISH_SINK = "tools.publish";
  static final String SPANS_SINK = "tools.spans";

  /**
   * Larger call values go to dead-letters unread: no built-in tool takes arguments anywhere near
   * this size.
   */
  public static final int MAX_CALL_BYTES = 1024 * 1024;

  private final TopicCatalog catalog;
  private final ToolRegistry registry;
  private final Map<String, Tool> tools;
  private final MeterRegistry meters;
  private final Duration retention;
  private final String workerId;
  private Tracing tracing = Tracing.off("llm-streams-tools");
  private RecordedResults recorded;

  public ToolWorkersTopology(
      TopicCatalog catalog,
      ToolRegistry registry,
      List<Tool> tools,
      MeterRegistry meters,
      Duration retention,
      String workerId) {
    this.catalog = catalog;
    this.registry = registry;
    Map<String, Tool> byName = new TreeMap<>();
    for (Tool t : tools) {
      if (t.handles(t.name())) {
        registry.get(
            t.name()); // a tool without a definition is a build error, found before any call
      }
      if (byName.put(t.name(), t) != null) {
        throw new IllegalArgumentException("tool " + t.name() + " is given twice");
      }
    }
    this.tools = Map.copyOf(byName);
    this.meters = meters;
    this.retention = retention;
    this.workerId = workerId;
  }

  /** Records an {@code execute_tool} span per call run (tracing off by default). */
  public ToolWorkersTopology tracing(Tracing tracing) {
    this.tracing = tracing;
    return this;
  }

  /**
   * Answers a call its goal made in a recorded run (same tool, same arguments) from the recorded
   * result, before any tool runs: the tool workers of a replay ({@code replay goals}).
   */
  public ToolWorkersTopology answeredFromRecord(RecordedResults recorded) {
    this.recorded = recorded;
    return this;
  }

  public Topology build() {
    StreamsBuilder builder = StreamsSettings.newBuilder();
    List<String> calls = readCalls(builder);
    return addTo(builder.build(), calls);
  }

  /**
   * Adds the tool-calls topics of these tools to a builder, each record placed on its goal's
   * partition (see KeyedInput); returns the nodes that {@link #addTo} connects the workers to.
   */
  public List<String> readCalls(StreamsBuilder builder) {
    Deserializer<ToolCall> calls = capped(JsonSerde.of(ToolCall.class).deserializer());
    List<Topic<ToolCall>> topics =
        tools.keySet().stream().map(t -> catalog.toolCalls(t, ToolCall.class)).toList();
    int partitions = catalog.keyPartitions(topics.stream().map(Topic::spec).toList());
    List<String> nodes = new ArrayList<>();
    for (Topic<ToolCall> topic : topics) {
      String tool = topic.spec().tool();
      nodes.add(
          KeyedInput.read(
                  builder,
                  "tools",
                  topic.name(),
                  topic.spec().keyField(),
                  "tools.calls." + tool,
                  calls,
                  partitions,
                  meters)
              .node());
    }
    return nodes;
  }

  /**
   * Adds the workers, fed by the nodes {@link #readCalls} added to the builder this topology was
   * built from.
   */
  public Topology addTo(Topology topology, List<String> calls) {
    Map<String, String> toolByTopic = new LinkedHashMap<>();
    for (String tool : tools.keySet()) {
      toolByTopic.put(catalog.toolCalls(tool, ToolCall.class).name(), tool);
    }
    topology.addProcessor(
        PROCESSOR, () -> new Execute(Map.copyOf(toolByTopic)), calls.toArray(String[]::new));
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(EXECUTED_STORE),
            Serdes.String(),
            JsonSerde.of(ExecutedCall.class)),
        PROCESSOR);
    Topic<ToolResult> results = catalog.topic(Topics.TOOL_RESULTS);
    topology.addSink(
        RESULTS_SINK,
        results.name(),
        results.keySerde().serializer(),
        results.sinkSerializer(),
        PROCESSOR);
    SpanSink.add(topology, catalog, SPANS_SINK, PROCESSOR);
    if (tools.values().stream().noneMatch(Tool::publishes)) {
      return topology;
    }
    // The topic comes from the call (checked against tools.publish.allowed.topics): a dynamic sink,
    // so the record
    // goes out through the Streams producer, inside the same transaction as the result.
    topology.addSink(
        PUBLISH_SINK,
        (key, value, ctx) -> ((Tool.Publication) value).topic(),
        Serdes.String().serializer(),
        (Serializer<Object>) ToolWorkersTopology::publicationBytes,
        PROCESSOR);
    return topology;
  }

  private static byte[] publicationBytes(String topic, Object value) {
    try {
      return Json.writer().writeValueAsBytes(((Tool.Publication) value).value());
    } catch (JsonProcessingException e) {
      throw new SerializationException(
          "cannot write the record for " + topic + ": " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Refuses a value over {@link #MAX_CALL_BYTES} before parsing it; the deserialization handler
   * dead-letters it.
   */
  private static Deserializer<ToolCall> capped(Deserializer<ToolCall> inner) {
    return (topic, bytes) -> {
      if (bytes != null && bytes.length > MAX_CALL_BYTES) {
        throw new SerializationException(
            String.format(
                "cannot read ToolCall: the value has %,d bytes; the limit is %,d",
                bytes.length, MAX_CALL_BYTES));
      }
      return inner.deserialize(topic, bytes);
    };
  }

  private final class Execute implements Processor<String, ToolCall, String, Object> {
    private final Map<String, String> toolByTopic;
    private ProcessorContext<String, Object> context;
    private KeyValueStore<String, ExecutedCall> executed;
    private Counter repeats;
    private dev.llmstreams.runtime.QuietCommits commits;

    Execute(Map<String, String> toolByTopic) {
      this.toolByTopic = toolByTopic;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
      this.context = context;
      this.executed = context.getStateStore(EXECUTED_STORE);
      this.commits = dev.llmstreams.runtime.QuietCommits.of(context);
      this.repeats =
          Counter.builder("llmstreams.tools.repeats")
              .description("Calls answered again from the store (same callId), not run again")
              .register(meters);
      long every = Math.max(1_000, Math.min(60_000, retention.toMillis() / 2));
      context.schedule(
          Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::forgetOldCalls);
    }

    @Override
    public void process(Record<String, ToolCall> record) {
      ToolCall call = record.value();
      String topic =
          context
              .recordMetadata()
              .map(m -> KeyedInput.inputTopic(m, record.headers()))
              .orElse(null);
      String tool = toolByTopic.get(topic);
      if (call == null) {
        throw new RejectedRecordException("a tool call with no value (tombstone) cannot be run");
      }
      if (record.key() == null) {
        throw new RejectedRecordException(
            "tool call " + call.callId() + " has no key; the key must be its goalId");
      }
      if (!record.key().equals(call.goalId())) {
        // The store is partitioned by goalId: a call under another key could be run twice on two
        // partitions.
        throw new RejectedRecordException(
            "tool call "
                + call.callId()
                + " has key '"
                + record.key()
                + "'; the key must be its goalId '"
                + call.goalId()
                + "'");
      }
      if (tool == null || !tools.get(tool).handles(call.tool())) {
        throw new RejectedRecordException(
            "tool call "
                + call.callId()
                + " names tool '"
                + call.tool()
                + "' but came on "
                + topic
                + ", the topic of tool '"
                + tool
                + "'");
      }
      ExecutedCall done = executed.get(call.callId());
      if (done != null) {
        repeats.increment();
        count(call.tool(), "repeat");
        // Answered again, not run again: no new span; the result continues the call's context.
        send(record, done.result(), null);
        return;
      }
      long now = context.currentSystemTimeMs();
      java.util.Optional<ToolResult> known =
          recorded == null ? java.util.Optional.empty() : recorded.answer(call);
      if (known.isPresent()) {
        // A replay: what the tool returned in the original run, not run again (no span: nothing
        // ran).
        count(call.tool(), "recorded");
        executed.put(call.callId(), new ExecutedCall(known.get(), now));
        send(record, known.get(), null);
        return;
      }
      long startedMs = System.currentTimeMillis();
      SpanRef span =
          tracing.start(
              record.headers(), "execute_tool", SpanKind.INTERNAL, Tracing.nanos(startedMs));
      ToolResult result;
      CurrentSpan.set(span); // tools.duration gets the call's trace id as an exemplar
      try {
        result = run(tool, call, now, record, span);
      } finally {
        CurrentSpan.clear();
      }
      executed.put(call.callId(), new ExecutedCall(result, now));
      send(record, result, span);
      SpanSink.emit(
          context,
          SPANS_SINK,
          toolSpan(span, call, result).end(Tracing.nanos(System.currentTimeMillis())),
          record.timestamp());
    }

    /** The {@code execute_tool {tool}} span of the GenAI conventions. */
    private Tracing.Builder toolSpan(SpanRef span, ToolCall call, ToolResult result) {
      return ToolRun.span(tracing, span, registry, call.arguments(), result, workerId);
    }

    private ToolResult run(
        String worker, ToolCall call, long now, Record<String, ToolCall> record, SpanRef span) {
      String tool = call.tool(); // a worker may run several tools (an MCP server's)
      List<String> problems = registry.validate(tool, call.arguments());
      if (!problems.isEmpty()) {
        count(tool, "invalid");
        return failed(call, "invalid arguments: " + String.join("; ", problems), 0);
      }
      if (call.deadline() != null && call.deadline().toEpochMilli() <= now) {
        count(tool, "error");
        return failed(call, "deadline passed (" + call.deadline() + ")", 0);
      }
      ToolRun ran;
      try {
        // http_get and synthesis block this stream thread for up to their time limit (a few
        // seconds, well under max.poll.interval.ms); calls are rare next to records, and blocking
        // keeps the result in the transaction.
        ran =
            ToolRun.of(
                tools.get(worker),
                tool,
                call.arguments(),
                Duration.ofMillis(call.timeoutMs()),
                meters);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while running " + call.callId(), e);
      }
      long ms = ran.ms();
      if (!ran.ok()) {
        count(tool, "error");
        return failed(call, ran.error(), ms);
      }
      Tool.Outcome outcome = ran.outcome();
      if (!outcome.publications().isEmpty() && !tools.get(worker).publishes()) {
        count(tool, "error");
        return failed(
            call,
            "tool " + tool + " returned records to publish but does not declare publishes()",
            ms);
      }
      for (Tool.Publication p : outcome.publications()) {
        context.forward(TraceHeaders.record(p.key(), p, record.timestamp(), span), PUBLISH_SINK);
      }
      count(tool, "ok");
      return new ToolResult(
          call.callId(), call.goalId(), tool, true, outcome.result(), null, ms, workerId);
    }

    private ToolResult failed(ToolCall call, String error, long ms) {
      String e = ToolRun.errorText(error);
      return new ToolResult(
          call.callId(), call.goalId(), call.tool(), false, null, e, ms, workerId);
    }

    /** Sends the result under {@code span}, or (a repeat) under the context the call carried. */
    private void send(Record<String, ToolCall> record, ToolResult result, SpanRef span) {
      Record<String, ToolResult> out =
          TraceHeaders.record(record.key(), result, record.timestamp(), span);
      if (span == null) {
        TraceHeaders.copy(record.headers(), out.headers());
      }
      context.forward(out, RESULTS_SINK);
      commits.wrote(context, context.currentSystemTimeMs()); // the controller waits for it
    }

    private void count(String tool, String outcome) {
      ToolRun.count(meters, tool, outcome);
    }

    /**
     * Forgets calls answered longer than tools.retention.ms ago; a repeat after that runs again.
     */
    private void forgetOldCalls(long now) {
      List<String> old = new ArrayList<>();
      try (KeyValueIterator<String, ExecutedCall> it = executed.all()) {
        while (it.hasNext()) {
          var e = it.next();
          if (e.value == null || now - e.value.executedAtMs() > retention.toMillis()) {
            old.add(e.key);
          }
        }
      }
      old.forEach(executed::delete);
    }
  }

  /**
   * Which instance answered a call, e.g. {@code llm-streams-tools@worker-3/4242}: the application,
   * the host name (the module looks it up once; the topology itself gets it as a value) and the
   * process.
   */
  public static String workerId(AppConfig config, String pattern) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown-host";
    }
    return StreamsSettings.applicationId(config, pattern)
        + "@"
        + host
        + "/"
        + ProcessHandle.current().pid();
  }
}
