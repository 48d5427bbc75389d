package dev.llmstreams.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.controller.GoalLog.Call;
import dev.llmstreams.controller.GoalLog.CallState;
import dev.llmstreams.controller.GoalLog.Phase;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalCancellation;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.HumanAnswer;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Provenance;
import dev.llmstreams.events.TenantSpend;
import dev.llmstreams.events.TenantTotal;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.events.ToolSpec;
import dev.llmstreams.observability.tracing.CurrentSpan;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceContent;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.runtime.text.TextDigest;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolRun;
import dev.llmstreams.topics.RejectedRecordException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;

/**
 * The controller's step loop. Goals, LLM replies, tool results and approvals (all keyed by goalId,
 * co-partitioned) meet here; each goal's {@link GoalLog} is read, advanced and written back in the
 * same transaction as the records it causes, so a crash repeats nothing that was committed. Nothing
 * waits on a thread: the tools answer through topics (or inline, for pure built-ins), the LLM
 * through topics or, with the gateway in this app, from a call made in place whose reply a
 * punctuation hands back ({@code controller-llm-calls} keeps what each goal waits for), and
 * deadlines, tool timeouts and retention run from a wall-clock punctuator over store {@code
 * controller-timers}.
 *
 * <pre>
 * goal ─▶ LLM request (step 1) ─▶ reply with tool calls ─▶ guards ─▶ tool-calls.&lt;tool&gt; (or held for approval)
 *   ◀──────────── next LLM request ◀─ every call of the step answered (result, rejection, timeout, refusal)
 * reply without tool calls ─▶ goal-results (succeeded); a guard ─▶ goal-results (failed, timed_out, …)
 * </pre>
 */
final class RunGoals implements Processor<String, Object, String, Object> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RunGoals.class);
  static final String PURPOSE = "controller.plan";

  /**
   * The purpose of the one turn right after a turn whose tool calls failed the guards: routed by
   * {@code llm.route.controller.repair} (a stronger model, say), else as {@link #PURPOSE}.
   */
  static final String REPAIR_PURPOSE = dev.llmstreams.config.AppConfig.CONTROLLER_REPAIR;

  /**
   * The built-in tool whose calls people answer, on {@code human-answers} ({@code
   * topics/tools/ask_human.json}).
   */
  static final String ASK_HUMAN = "ask_human";

  /** Most output tokens asked for in one turn; less when the goal's token budget has less left. */
  static final int MAX_OUTPUT_TOKENS = 2048;

  /** The longest goalId (topic contract: schemas/goal.schema.json). */
  static final int MAX_GOAL_ID_CHARS = 256;

  /** The worker of a delegate call's result: {@code delegate:<child goalId>}. */
  static final String DELEGATE_WORKER = "delegate:";

  /**
   * @param goals the sink of child goals ({@code goals})
   * @param cancellations the sink of a parent's cancellations of its running children ({@code
   *     goal-cancellations})
   * @param toolResults the sink of a child's result to its parent ({@code tool-results})
   * @param topicKey the key of the command topic of a tool (the tool itself, or {@code
   *     mcp.<server>} for an MCP server's tools, which share one topic)
   * @param tenantSpend the sink of each reply's spend, keyed by tenant
   * @param tenantTotals the global store of the tenants' totals (not a sink: read before each turn)
   */
  record Sinks(
      String requests,
      String results,
      String events,
      String goals,
      String cancellations,
      String toolResults,
      String toolPrefix,
      java.util.function.UnaryOperator<String> topicKey,
      String tenantSpend,
      String tenantTotals) {
    /** The sink node of a topic key. */
    String topic(String key) {
      return toolPrefix + key.replace(':', '.');
    }

    /** The sink node that carries calls of {@code tool}. */
    String tool(String tool) {
      return topic(topicKey.apply(tool));
    }
  }

  /**
   * A direct LLM call a goal waits for (store {@code controller-llm-calls}): its request, and the
   * span of the call (null: not traced).
   */
  record PendingLlmCall(LlmRequest request, SpanRef span) {}

  /**
   * The system message of each new goal (prompt {@code controller.system}): the user's goal is the
   * task; what tools return is data. The allowlist, not this prompt, is the guard.
   */
  private final Prompt systemPrompt;

  /** The tools answered here, in the step's transaction ({@code controller.inline.tools}). */
  private final InlineTools inline;

  /** This instance, as the results of inline calls name their worker. */
  private final String workerId;

  private final String logStore;
  private final String timerStore;
  private final Sinks sinks;
  private final String replyTo;
  private final Guards guards;
  private final long retentionMs;
  private final long tickMs;
  private final int maxResultChars;
  private final MeterRegistry registry;
  private final Tracing tracing;
  private final String spansSink;
  private final Counter duplicates;
  private final Counter ignored;
  private final Counter llmTurns;
  private final Counter repairsMeter;
  private final Counter stateTooLarge;

  private final DistributionSummary goalSteps;
  private ProcessorContext<String, Object> context;
  private GoalLogs logs;
  private KeyValueStore<String, Timer> timers;
  private KeyValueStore<String, ValueAndTimestamp<TenantTotal>> tenantTotals;
  private dev.llmstreams.runtime.QuietCommits commits;

  /** The store of the direct calls goals wait for. */
  private final String callStore;

  /** The gateway of this app, when the controller calls it directly; null: through the topic. */
  private final dev.llmstreams.runtime.LlmCalls llmCalls;

  private final Duration pollInterval;

  /** Direct calls waiting for a slot before the task stops reading ({@code gateway.max.queued}). */
  private final int maxQueued;

  /** The longest the stream thread waits for room in the queue at one call. */
  static final Duration MAX_BACKPRESSURE = Duration.ofSeconds(30);

  private KeyValueStore<String, PendingLlmCall> calls;
  private dev.llmstreams.runtime.LlmCalls.Session session;

  /**
   * Hands finished direct calls to their goals every {@code pollInterval} while any is queued or
   * running; a new call schedules it again.
   */
  private dev.llmstreams.runtime.WhileBusy delivery;

  /** Calls left in the store by a direct run, to send through the topic at the first tick. */
  private boolean handOver;

  /** Calls found at init whose goal no longer waits for them, deleted at the first tick. */
  private final List<String> stale = new ArrayList<>();

  RunGoals(
      String logStore,
      String timerStore,
      Sinks sinks,
      String replyTo,
      Guards guards,
      long retentionMs,
      long tickMs,
      int maxResultChars,
      MeterRegistry registry,
      Tracing tracing,
      String spansSink,
      Prompt systemPrompt,
      InlineTools inline,
      String workerId,
      String callStore,
      dev.llmstreams.runtime.LlmCalls llmCalls,
      Duration pollInterval,
      int maxQueued) {
    this.maxQueued = maxQueued;
    this.callStore = callStore;
    this.llmCalls = llmCalls;
    this.pollInterval = pollInterval;
    this.inline = inline;
    this.workerId = workerId;
    this.systemPrompt = systemPrompt;
    this.tracing = tracing;
    this.spansSink = spansSink;
    this.logStore = logStore;
    this.timerStore = timerStore;
    this.sinks = sinks;
    this.replyTo = replyTo;
    this.guards = guards;
    this.retentionMs = retentionMs;
    this.tickMs = tickMs;
    this.maxResultChars = maxResultChars;
    this.registry = registry;
    this.duplicates =
        Counter.builder("llmstreams.controller.goals.duplicates")
            .description("Goals submitted again with a goalId the controller still knows; ignored")
            .register(registry);
    this.ignored =
        Counter.builder("llmstreams.controller.records.ignored")
            .description(
                "LLM replies, tool results or approvals that arrived late (after a timeout, a"
                    + " cancellation or the goal's end), twice, or for no pending call")
            .register(registry);
    this.llmTurns =
        Counter.builder("llmstreams.controller.llm.turns")
            .description("LLM requests sent (steps)")
            .register(registry);
    this.stateTooLarge =
        Counter.builder("llmstreams.controller.state.too.large")
            .description(
                "Goals ended failed because their state entry outgrew controller.max.state.bytes")
            .register(registry);
    this.repairsMeter =
        Counter.builder("llmstreams.controller.repairs")
            .description("Turns whose invalid tool calls were fed back to the LLM for repair")
            .register(registry);
    this.goalSteps =
        DistributionSummary.builder("llmstreams.controller.goal.steps")
            .description("LLM turns a goal took, at its end")
            .register(registry);
    // At 0 from the start, so that a dashboard shows no subagents rather than no data.
    childGoals("started");
    childGoals("cancelled_by_parent");
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    // Also after an aborted transaction: the store was rolled back, and so are the memory copies.
    this.logs = new GoalLogs(context.getStateStore(logStore));
    this.timers = context.getStateStore(timerStore);
    this.tenantTotals = context.getStateStore(sinks.tenantTotals());
    this.commits = dev.llmstreams.runtime.QuietCommits.of(context);
    this.calls = context.getStateStore(callStore);
    context.schedule(
        Duration.ofMillis(tickMs),
        PunctuationType.WALL_CLOCK_TIME,
        now -> {
          try {
            if (handOver) {
              handOver();
            }
            if (!stale.isEmpty()) {
              stale.forEach(calls::delete); // not in init: a store write needs a punctuation
              stale.clear();
            }
            fireDueTimers(now);
          } catch (RuntimeException e) {
            logs.forget();
            throw e;
          }
        });
    if (session != null) {
      session.close(); // revived without a close
    }
    session = null;
    handOver = false;
    if (llmCalls == null) {
      try (KeyValueIterator<String, PendingLlmCall> it = calls.all()) {
        handOver = it.hasNext();
      }
      return;
    }
    session = llmCalls.open(tracing);
    delivery =
        new dev.llmstreams.runtime.WhileBusy(
            context, pollInterval, session::idle, this::deliverAnswers);
    // The calls goals waited for when the task was last committed: called again (or joined, when
    // still running in this JVM after a revive). Entries whose goal moved on are dropped.
    stale.clear();
    try (KeyValueIterator<String, PendingLlmCall> it = calls.all()) {
      while (it.hasNext()) {
        KeyValue<String, PendingLlmCall> e = it.next();
        if (waiting(e.key, e.value) != null) {
          session.call(e.key, e.value.request(), e.value.span());
        } else {
          stale.add(e.key);
        }
      }
    }
    delivery.ensure();
  }

  @Override
  public void close() {
    if (session != null) {
      session.close();
      session = null;
    }
  }

  /**
   * The goal's log when it still waits for this call, else null (taken from memory or the store, as
   * a saved log is read: at init and at the hand-over only).
   */
  private GoalLog waiting(String goalId, PendingLlmCall call) {
    GoalLog log = logs.take(goalId);
    return log != null && !log.finished() && call.request().requestId().equals(log.llmRequestId)
        ? log
        : null;
  }

  /** Each finished call, as its reply would be handled from controller.llm-replies. */
  private void deliverAnswers(long now) {
    List<dev.llmstreams.runtime.LlmCalls.Answer> answers = session.poll(now);
    for (dev.llmstreams.runtime.LlmCalls.Answer a : answers) {
      PendingLlmCall pending = calls.get(a.key());
      if (pending != null && pending.request().requestId().equals(a.request().requestId())) {
        calls.delete(a.key());
      }
      SpanSink.emit(context, spansSink, a.span(), now);
      try {
        onReply(a.key(), a.reply(), now);
      } catch (RuntimeException e) {
        // As a reply from the topic that fails goes to dead-letters: the goal waits for its
        // deadline, and the other answers are handled.
        logs.forget();
        ignored.increment();
        LOG.warn(
            "controller: the reply to {} could not be handled; the goal waits for its deadline",
            a.request().requestId(),
            e);
      }
    }
    if (!answers.isEmpty()) {
      commits.wrote(context, now);
    }
  }

  /**
   * The calls a direct run left waiting, sent through controller.llm-requests now that this
   * instance calls through the topic (controller.llm.calls=topic, or no gateway beside it).
   */
  private void handOver() {
    handOver = false;
    long now = context.currentSystemTimeMs();
    List<KeyValue<String, PendingLlmCall>> all = new ArrayList<>();
    try (KeyValueIterator<String, PendingLlmCall> it = calls.all()) {
      it.forEachRemaining(all::add);
    }
    for (KeyValue<String, PendingLlmCall> e : all) {
      calls.delete(e.key);
      GoalLog log = waiting(e.key, e.value);
      if (log != null) {
        context.forward(traced(log, e.value.request(), now), sinks.requests());
      }
    }
  }

  @Override
  public void process(Record<String, Object> record) {
    try {
      handle(record);
    } catch (RuntimeException e) {
      // The record goes to dead-letters and processing goes on: what this event changed in memory
      // without saving must not be read back.
      logs.forget();
      throw e;
    }
  }

  private void handle(Record<String, Object> record) {
    String key = record.key();
    Object value = record.value();
    if (key == null || key.isBlank()) {
      throw new RejectedRecordException("controller input needs the goalId as its key");
    }
    if (value == null) {
      throw new RejectedRecordException("controller input for goal " + key + " has no value");
    }
    long now = context.currentSystemTimeMs();
    if (value instanceof Goal goal) {
      sameGoal(key, goal.goalId(), "goal");
      onGoal(TenantBudgets.withTenant(goal, record.headers()), record.headers(), now);
    } else if (value instanceof LlmReply reply) {
      sameGoal(key, reply.correlationId(), "LLM reply correlationId");
      onReply(key, reply, now);
    } else if (value instanceof ToolResult result) {
      sameGoal(key, result.goalId(), "tool result");
      onToolResult(result, now);
    } else if (value instanceof Approval approval) {
      sameGoal(key, approval.goalId(), "approval");
      onApproval(approval, now);
    } else if (value instanceof HumanAnswer answer) {
      sameGoal(key, answer.goalId(), "human answer");
      onHumanAnswer(answer, now);
    } else if (value instanceof GoalCancellation cancellation) {
      sameGoal(key, cancellation.goalId(), "cancellation");
      onCancellation(cancellation, now);
    } else {
      throw new RejectedRecordException(
          "the controller cannot handle a " + value.getClass().getSimpleName());
    }
    // Its LLM request, tool calls or result: another hop waits for them.
    commits.wrote(context, now);
  }

  private static void sameGoal(String key, String goalId, String what) {
    if (!key.equals(goalId)) {
      throw new RejectedRecordException(
          "the key '"
              + key
              + "' is not the "
              + what
              + "'s goalId '"
              + goalId
              + "'; controller inputs are keyed by goalId so that they reach the partition holding the goal");
    }
  }

  // ---- goals

  private void onGoal(Goal goal, org.apache.kafka.common.header.Headers headers, long now) {
    int maxChars = guards.settings().maxGoalChars();
    if (goal.goal().length() > maxChars) {
      // Refused before anything is stored: a state entry over the changelog's record limit fails
      // the transaction,
      // and the goal would be read and refused by the broker again and again.
      throw new RejectedRecordException(
          String.format(
              java.util.Locale.ROOT,
              "goal %s has %,d characters; the limit is %,d (controller.max.goal.chars)",
              goal.goalId(),
              goal.goal().length(),
              maxChars));
    }
    GoalLog known = logs.take(goal.goalId());
    String digest = TextDigest.of(goal.goal());
    if (known != null) {
      String before =
          known.goalDigest != null
              ? known.goalDigest
              : known.goal != null ? TextDigest.of(known.goal.goal()) : null;
      if (before != null && !before.equals(digest)) {
        throw new RejectedRecordException(
            "goal "
                + goal.goalId()
                + " was submitted before with other text (it is "
                + (known.finished() ? "finished" : "running")
                + "): a goal cannot take new text; submit the new text under a new goalId");
      }
      duplicates.increment();
      event(
          known,
          GoalEventType.DECISION,
          "the goal was submitted again; ignored: goalId "
              + goal.goalId()
              + " is "
              + (known.finished() ? "finished" : "running")
              + " (a finished goal's id is kept for controller.retention.ms)",
          null,
          goal.goalId(),
          now);
      return;
    }
    GoalLog log = new GoalLog();
    log.goalId = goal.goalId();
    log.goal = goal;
    log.goalDigest = digest;
    log.tenant = goal.tenant();
    Counter.builder("llmstreams.controller.goals.received")
        .description("Goals accepted, by tenant (configured tenants, default, other)")
        .tag("tenant", guards.tenants().tag(log.tenant()))
        .register(registry)
        .increment();
    log.startedAtMs = now;
    // The goal continues the trace its producer sent (traceparent header), or starts one.
    log.trace = tracing.start(headers, "invoke_agent", SpanKind.INTERNAL, Tracing.nanos(now));
    log.lastCausationId = goal.goalId();
    log.parent = goal.parent();
    Guards.Limits limits = guards.limits(goal, now);
    log.tools = new ArrayList<>(limits.tools());
    log.maxSteps = limits.maxSteps();
    log.maxTokens = limits.maxTokens();
    log.maxCostUsd = limits.maxCostUsd();
    log.deadlineMs = limits.deadlineMs();
    ObjectNode data = JsonNodeFactory.instance.objectNode();
    data.set("tools", Json.toTree(log.tools));
    data.put("maxSteps", log.maxSteps)
        .put("maxTokens", log.maxTokens)
        .put("maxCostUsd", log.maxCostUsd)
        .put("deadline", Instant.ofEpochMilli(log.deadlineMs).toString())
        .put("tenant", log.tenant());
    if (log.parent != null) {
      data.set("parent", Json.toTree(log.parent));
    }
    event(
        log,
        GoalEventType.GOAL_RECEIVED,
        "goal received: " + cut(goal.goal(), 200),
        data,
        goal.goalId(),
        now);
    if (limits.refusal() != null) {
      finish(log, GoalStatus.REJECTED, null, limits.refusal(), now);
    } else if (log.deadlineMs <= now) {
      finish(
          log,
          GoalStatus.TIMED_OUT,
          null,
          "the deadline "
              + Instant.ofEpochMilli(log.deadlineMs)
              + " had passed when the goal arrived",
          now);
    } else {
      timers.put(Timer.deadline(log.goalId).key(log.deadlineMs), Timer.deadline(log.goalId));
      // The goal keeps this text for its whole conversation, so its requests name this version
      // even after a restart with another one.
      log.prompt = systemPrompt.ref();
      log.messages.add(ChatMessage.system(systemPrompt.text()));
      log.messages.add(ChatMessage.user(goal.goal()));
      askLlm(log, now);
    }
    save(log, now);
  }

  /**
   * The next turn: one LLM request with the conversation so far, unless a guard ends the goal
   * first.
   */
  private void askLlm(GoalLog log, long now) {
    Optional<String> tooLarge = stateTooLarge(log);
    if (tooLarge.isPresent()) {
      // Checked before the request, which carries the whole transcript too.
      finish(log, GoalStatus.FAILED, lastContent(log), tooLarge.get(), now);
      return;
    }
    Optional<String> stop =
        Guards.stepLimit(log.step + 1, log.maxSteps)
            .or(
                () ->
                    Guards.budgetSpent(
                        log.treeUsage(), log.treeCostUsd(), log.maxTokens, log.maxCostUsd))
            .or(() -> guards.tenants().spent(log.tenant(), tenantTotal(log.tenant()), now));
    if (stop.isPresent()) {
      finish(log, GoalStatus.BUDGET_EXHAUSTED, lastContent(log), stop.get(), now);
      return;
    }
    // The previous turn's calls failed the guards: this turn, and only this one, is a repair.
    boolean repair = log.repairs > 0;
    String purpose = repair ? REPAIR_PURPOSE : PURPOSE;
    log.step++;
    log.phase = Phase.THINKING;
    log.llmRequestId = log.goalId + "/" + log.step + "/llm";
    log.llmAskedAtMs = now;
    List<ToolSpec> tools = log.tools.stream().map(t -> guards.registry().get(t).spec()).toList();
    int maxTokens =
        (int)
            Math.max(1, Math.min(MAX_OUTPUT_TOKENS, log.maxTokens - log.treeUsage().totalTokens()));
    LlmRequest request =
        new LlmRequest(
            log.llmRequestId,
            replyTo,
            purpose,
            log.goalId,
            log.lastCausationId,
            null,
            List.copyOf(log.messages),
            tools,
            null,
            maxTokens,
            null,
            Instant.ofEpochMilli(log.deadlineMs),
            Map.of("step", Integer.toString(log.step), "tenant", log.tenant()),
            log.prompt);
    if (session != null) {
      // Called from here, at once; the store keeps what the goal waits for until its reply is
      // handled, in the transaction of the step it starts.
      SpanRef span = log.trace == null ? null : tracing.child(log.trace, Tracing.nanos(now));
      calls.put(log.goalId, new PendingLlmCall(request, span));
      session.call(log.goalId, request, span);
      delivery.ensure();
      // Backpressure, as on the gateway's task (gateway.max.queued): with too many calls waiting
      // for a provider slot, this task reads nothing more until some start. Bounded, so that a
      // provider that hangs does not take the stream thread past max.poll.interval.ms.
      if (!session.awaitRoom(maxQueued, MAX_BACKPRESSURE)) {
        LOG.warn(
            "controller: {} waited {} s for a free LLM slot with more than {} calls queued"
                + " (gateway.max.queued); reading on",
            log.goalId,
            MAX_BACKPRESSURE.toSeconds(),
            maxQueued);
      }
    } else {
      context.forward(traced(log, request, now), sinks.requests());
    }
    llmTurns.increment();
    ObjectNode data =
        JsonNodeFactory.instance
            .objectNode()
            .put("requestId", log.llmRequestId)
            .put("purpose", purpose)
            .put("messages", log.messages.size())
            .put("maxTokens", maxTokens);
    data.set("tools", Json.toTree(log.tools));
    event(
        log,
        GoalEventType.LLM_REQUESTED,
        "asked the LLM for step "
            + log.step
            + " ("
            + log.messages.size()
            + " messages, "
            + tools.size()
            + " tools)"
            + (repair
                ? " as "
                    + REPAIR_PURPOSE
                    + ": the calls of step "
                    + (log.step - 1)
                    + " failed the guards"
                : ""),
        data,
        log.lastCausationId,
        now);
  }

  /** The tenant's total in the global table, or null. */
  private TenantTotal tenantTotal(String tenant) {
    ValueAndTimestamp<TenantTotal> v = tenantTotals.get(tenant);
    return v == null ? null : v.value();
  }

  // ---- LLM replies

  private void onReply(String goalId, LlmReply reply, long now) {
    GoalLog log = logs.take(goalId);
    if (log == null || log.finished() || !reply.requestId().equals(log.llmRequestId)) {
      ignored.increment(); // a late reply (the goal ended) or a repeat of one already handled
      return;
    }
    log.llmRequestId = null;
    log.usage = log.usage.plus(reply.usage());
    log.costUsd += reply.costUsd();
    TenantSpend spend =
        guards
            .tenants()
            .spend(
                log.tenant(),
                reply.usage().totalTokens(),
                reply.costUsd(),
                log.goalId,
                reply.requestId(),
                now);
    if (spend != null) {
      context.forward(new Record<>(log.tenant(), spend, now), sinks.tenantSpend());
    }
    log.lastCausationId = reply.requestId();
    String model =
        (reply.provider() == null ? "?" : reply.provider())
            + "/"
            + (reply.model() == null ? "?" : reply.model());
    if (reply.provider() != null || reply.model() != null) {
      if (!log.models.contains(model)) {
        log.models.add(model);
      }
    }
    // The prompt the gateway echoes (a cached answer's is the one it was written under), else the
    // one asked with.
    PromptRef prompt = reply.prompt() != null ? reply.prompt() : log.prompt;
    if (prompt != null && !log.prompts.contains(prompt)) {
      log.prompts.add(prompt);
    }
    ObjectNode data =
        JsonNodeFactory.instance
            .objectNode()
            .put("requestId", reply.requestId())
            .put("inputTokens", reply.usage().inputTokens())
            .put("outputTokens", reply.usage().outputTokens())
            .put("costUsd", reply.costUsd())
            .put("latencyMs", reply.latencyMs())
            .put("model", model)
            .put("cached", reply.cached());
    if (reply.failed()) {
      LlmError e = reply.error();
      data.put("error", e.code().name().toLowerCase(java.util.Locale.ROOT));
      event(
          log,
          GoalEventType.LLM_REPLIED,
          "the LLM call failed: " + e.message(),
          data,
          reply.requestId(),
          now);
      GoalStatus status =
          e.code() == LlmError.Code.DEADLINE_EXCEEDED ? GoalStatus.TIMED_OUT : GoalStatus.FAILED;
      finish(
          log,
          status,
          lastContent(log),
          "the LLM call of step "
              + log.step
              + " failed ("
              + e.code().name().toLowerCase(java.util.Locale.ROOT)
              + " after "
              + e.attempts()
              + " attempts): "
              + e.message(),
          now);
      save(log, now);
      return;
    }
    if (reply.toolCalls().isEmpty()) {
      event(
          log,
          GoalEventType.LLM_REPLIED,
          "the LLM gave its final answer",
          data,
          reply.requestId(),
          now);
      finish(log, GoalStatus.SUCCEEDED, reply.content(), null, now);
      save(log, now);
      return;
    }
    List<String> asked =
        reply.toolCalls().stream()
            .map(c -> c.name() + " " + cut(c.arguments().toString(), 120))
            .toList();
    event(
        log,
        GoalEventType.LLM_REPLIED,
        "the LLM asked for " + asked.size() + " tool call(s): " + String.join("; ", asked),
        data,
        reply.requestId(),
        now);
    Optional<String> spent =
        Guards.budgetSpent(log.treeUsage(), log.treeCostUsd(), log.maxTokens, log.maxCostUsd);
    if (spent.isPresent()) {
      finish(
          log,
          GoalStatus.BUDGET_EXHAUSTED,
          lastContent(log),
          spent.get() + "; the tool calls of step " + log.step + " were not run",
          now);
      save(log, now);
      return;
    }
    log.messages.add(
        new ChatMessage(ChatMessage.Role.ASSISTANT, reply.content(), null, reply.toolCalls()));
    Set<String> allowed = new HashSet<>(log.tools);
    List<Call> calls = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < reply.toolCalls().size(); i++) {
      ToolCallRequest asked1 = reply.toolCalls().get(i);
      Call call =
          new Call(
              ToolCall.callId(log.goalId, log.step, i),
              i,
              asked1.name(),
              asked1.arguments(),
              asked1.id());
      List<String> wrong = guards.check(asked1, allowed);
      if (!wrong.isEmpty()) {
        call.state = CallState.DONE;
        call.ok = false;
        call.content =
            "error: the call was not run: "
                + String.join("; ", wrong)
                + ". Correct it, call another offered tool, or answer without it.";
        problems.addAll(wrong);
      }
      calls.add(call);
    }
    log.calls = calls;
    log.phase = Phase.ACTING;
    if (!problems.isEmpty()) {
      log.repairs++;
      for (Call c : calls) {
        if (c.state == CallState.DONE) {
          event(
              log,
              GoalEventType.GUARD_TRIPPED,
              "refused call " + c.callId + " (" + c.tool + "): " + cut(c.content, 300),
              argumentsData(c),
              c.callId,
              now);
        }
      }
      if (!guards.mayRepair(log.repairs)) {
        finish(
            log,
            GoalStatus.FAILED,
            lastContent(log),
            "the LLM asked for invalid tool calls "
                + log.repairs
                + " turns in a row (controller.max.repairs is "
                + guards.settings().maxRepairs()
                + "): "
                + cut(String.join("; ", problems), 1000),
            now);
        save(log, now);
        return;
      }
      repairsMeter.increment();
      event(
          log,
          GoalEventType.REPAIR_REQUESTED,
          "the refusal goes back to the LLM for repair ("
              + log.repairs
              + " of "
              + guards.settings().maxRepairs()
              + " in a row)",
          null,
          reply.requestId(),
          now);
    } else {
      log.repairs = 0;
    }
    long delegations =
        calls.stream().filter(c -> c.state == null && Guards.DELEGATE.equals(c.tool)).count();
    for (Call c : calls) {
      if (c.state == null) {
        ToolDefinition tool = guards.registry().get(c.tool);
        if (Guards.DELEGATE.equals(c.tool)) {
          delegate(log, c, (int) delegations, now);
        } else if (guards.holdsForApproval(tool)) {
          c.state = CallState.AWAITING_APPROVAL;
          event(
              log,
              GoalEventType.APPROVAL_REQUESTED,
              c.tool
                  + " needs approval: send approve or reject for callId "
                  + c.callId
                  + " on the approvals topic",
              argumentsData(c),
              c.callId,
              now);
        } else {
          dispatch(log, c, 1, now);
        }
      }
    }
    if (log.stepDone()) {
      completeStep(log, now);
    }
    save(log, now);
  }

  // ---- tools

  private void dispatch(GoalLog log, Call call, int attempt, long now) {
    if (inline.answers(call.tool)) {
      answerInline(log, call, now);
      return;
    }
    ToolDefinition tool = guards.registry().get(call.tool);
    call.state = CallState.DISPATCHED;
    call.attempt = attempt;
    call.dispatchedAtMs = now;
    call.dueAtMs = now + tool.timeoutMs();
    ToolCall command =
        new ToolCall(
            call.callId,
            log.goalId,
            log.step,
            call.index,
            call.tool,
            call.arguments,
            attempt,
            tool.timeoutMs(),
            Instant.ofEpochMilli(log.deadlineMs));
    context.forward(traced(log, command, now), sinks.tool(call.tool));
    Timer timer = Timer.call(log.goalId, call.callId, attempt);
    timers.put(timer.key(call.dueAtMs), timer);
    countToolCall(call.tool, attempt);
    event(
        log,
        GoalEventType.TOOL_CALLED,
        "called "
            + call.tool
            + " "
            + cut(call.arguments.toString(), 200)
            + (attempt > 1 ? " again (attempt " + attempt + ", same callId)" : ""),
        argumentsData(call),
        call.callId,
        now);
  }

  /**
   * A {@code delegate} call: the controller starts the child goal itself, on {@code goals}, and the
   * call waits, like any dispatched call, for the child's result on {@code tool-results}. The
   * child's tools are the ones the call names (a subset of the parent's, checked by the guards) or
   * all of the parent's, without {@code delegate} at the depth limit; its budget is an equal share,
   * among the step's {@code siblings} and the parent itself, of what the parent has left; its
   * deadline leaves the parent a tenth of its remaining time to use the answers.
   */
  private void delegate(GoalLog log, Call call, int siblings, long now) {
    int depth = (log.parent == null ? 0 : log.parent.depth()) + 1;
    List<String> tools = new ArrayList<>();
    if (call.arguments.has("tools")) {
      call.arguments.get("tools").forEach(t -> tools.add(t.asText()));
    } else {
      tools.addAll(log.tools);
    }
    if (depth >= guards.settings().maxDelegationDepth()) {
      tools.remove(Guards.DELEGATE);
    }
    long tokensLeft = Math.max(0, log.maxTokens - log.treeUsage().totalTokens());
    double costLeft = Math.max(0, log.maxCostUsd - log.treeCostUsd());
    long remainingMs = Math.max(0, log.deadlineMs - now);
    int maxSteps =
        call.arguments.has("maxSteps")
            ? Math.min(call.arguments.get("maxSteps").asInt(), log.maxSteps)
            : log.maxSteps;
    String childId = childGoalId(call.callId);
    Goal child =
        new Goal(
            childId,
            call.arguments.path("task").asText(),
            List.copyOf(tools),
            maxSteps,
            new dev.llmstreams.events.Budget(
                Math.max(1, tokensLeft / (siblings + 1)), costLeft / (siblings + 1)),
            Instant.ofEpochMilli(now + remainingMs * 9 / 10),
            log.goal.metadata(),
            Instant.ofEpochMilli(now),
            new dev.llmstreams.events.GoalParent(log.goalId, call.callId, depth),
            log.tenant()); // a child spends its parent's tenant's budget
    context.forward(TraceHeaders.record(childId, (Object) child, now, log.trace), sinks.goals());
    call.state = CallState.DISPATCHED;
    call.attempt = 1;
    call.dispatchedAtMs = now;
    call.dueAtMs = child.deadline().toEpochMilli(); // no timer: the child always ends by then
    log.children.add(dev.llmstreams.events.ChildGoal.running(childId, call.callId));
    childGoals("started").increment();
    countToolCall(call.tool, 1);
    ObjectNode data = argumentsData(call).put("childGoalId", childId).put("depth", depth);
    data.set("childTools", Json.toTree(tools));
    data.put("maxSteps", maxSteps)
        .put("maxTokens", child.budget().maxTokens())
        .put("maxCostUsd", child.budget().maxCostUsd())
        .put("deadline", child.deadline().toString());
    event(
        log,
        GoalEventType.TOOL_CALLED,
        "delegated to child goal " + childId + ": " + cut(child.goal(), 200),
        data,
        call.callId,
        now);
  }

  /**
   * The goalId of the child a {@code delegate} call starts: the callId itself ({@code
   * parent/step/index}), or, when that is longer than a goalId may be, {@code child-} and its
   * SHA-256.
   */
  static String childGoalId(String callId) {
    if (callId.length() <= MAX_GOAL_ID_CHARS) {
      return callId;
    }
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(callId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return "child-" + java.util.HexFormat.of().formatHex(digest);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private Counter childGoals(String event) {
    return Counter.builder("llmstreams.controller.child.goals")
        .description(
            "Child goals (delegate): started, and cancelled_by_parent when their parent ended"
                + " while they ran")
        .tag("event", event)
        .register(registry);
  }

  /**
   * A child's result, as its parent's {@code delegate} call gets it: the child's status, answer or
   * reason, steps, and the spend of the child and its own children.
   */
  private ToolResult childResult(GoalLog log, GoalResult result) {
    ObjectNode out =
        JsonNodeFactory.instance
            .objectNode()
            .put("goalId", log.goalId)
            .put("status", result.status().name().toLowerCase(java.util.Locale.ROOT));
    if (result.answer() != null) {
      out.put("answer", result.answer());
    }
    if (result.reason() != null) {
      out.put("reason", result.reason());
    }
    out.put("steps", result.steps());
    out.set("usage", Json.toTree(log.treeUsage()));
    out.put("costUsd", log.treeCostUsd());
    boolean ok = result.status() == GoalStatus.SUCCEEDED;
    return new ToolResult(
        log.parent.callId(),
        log.parent.goalId(),
        Guards.DELEGATE,
        ok,
        out,
        ok
            ? null
            : "the child goal "
                + log.goalId
                + " ended "
                + result.status().name().toLowerCase(java.util.Locale.ROOT)
                + ": "
                + cut(result.reason(), 2000)
                + (result.answer() == null || result.answer().isBlank()
                    ? ""
                    : "; its partial answer: " + cut(result.answer(), 4000)),
        result.durationMs(),
        DELEGATE_WORKER + log.goalId);
  }

  /** A delegate call's result: what the child spent joins the parent's tree. */
  private void onChildResult(GoalLog log, Call call, ToolResult result) {
    String childId = childGoalId(call.callId);
    if (!(DELEGATE_WORKER + childId).equals(result.worker())) {
      throw new RejectedRecordException(
          "the result for delegate call "
              + call.callId
              + " names worker '"
              + result.worker()
              + "'; only its child goal "
              + childId
              + " answers it");
    }
    JsonNode r = result.result() == null ? JsonNodeFactory.instance.objectNode() : result.result();
    dev.llmstreams.events.Usage spent =
        new dev.llmstreams.events.Usage(
            Math.max(0, r.path("usage").path("inputTokens").asLong()),
            Math.max(0, r.path("usage").path("outputTokens").asLong()));
    double cost = Math.max(0, r.path("costUsd").asDouble());
    GoalStatus status = GoalStatus.FAILED;
    for (GoalStatus st : GoalStatus.values()) {
      if (st.name().equalsIgnoreCase(r.path("status").asText())) {
        status = st;
      }
    }
    GoalStatus ended = status;
    log.children.replaceAll(
        c ->
            c.callId().equals(call.callId)
                ? new dev.llmstreams.events.ChildGoal(c.goalId(), c.callId(), ended, spent, cost)
                : c);
  }

  private void countToolCall(String tool, int attempt) {
    Counter.builder("llmstreams.controller.tool.calls")
        .description("Tool calls dispatched, retries included")
        .tag("tool", tool)
        .tag("attempt", attempt == 1 ? "first" : "retry")
        .register(registry)
        .increment();
  }

  private void onToolResult(ToolResult result, long now) {
    GoalLog log = logs.take(result.goalId());
    Call call = log == null || log.finished() ? null : log.call(result.callId());
    if (call == null || call.state != CallState.DISPATCHED) {
      ignored.increment(); // a result after the goal ended, after a timeout, or a repeat from a
      // retried call
      return;
    }
    if (!result.tool().equals(call.tool)) {
      throw new RejectedRecordException(
          "the result for call "
              + result.callId()
              + " names tool '"
              + result.tool()
              + "' but the call was to '"
              + call.tool
              + "'");
    }
    if (Guards.DELEGATE.equals(call.tool)) {
      onChildResult(log, call, result);
    } else {
      timers.delete(Timer.call(log.goalId, call.callId, call.attempt).key(call.dueAtMs));
    }
    answered(log, call, result, false, now);
    if (log.stepDone()) {
      completeStep(log, now);
    }
    save(log, now);
  }

  /**
   * A pure tool's call answered here, in the transaction of the step that made it: no tool-calls or
   * tool-results record and no timer; the same goal-events (tool_called, tool_result), meters and
   * span as a worker's call, with {@code "inline": true}. After an aborted transaction the step
   * runs again and so does the call, which has no effect to repeat.
   */
  private void answerInline(GoalLog log, Call call, long now) {
    ToolDefinition definition = guards.registry().get(call.tool);
    call.state = CallState.DISPATCHED;
    call.attempt = 1;
    call.dispatchedAtMs = now;
    call.dueAtMs = now + definition.timeoutMs();
    countToolCall(call.tool, 1);
    event(
        log,
        GoalEventType.TOOL_CALLED,
        "called " + call.tool + " " + cut(call.arguments.toString(), 200) + " (inline)",
        argumentsData(call).put("inline", true),
        call.callId,
        now);
    long started = System.currentTimeMillis();
    ToolRun ran;
    try {
      ran =
          ToolRun.of(
              inline.get(call.tool),
              call.tool,
              call.arguments,
              Duration.ofMillis(definition.timeoutMs()),
              registry);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + call.callId, e);
    }
    ToolRun.count(registry, call.tool, ran.ok() ? "ok" : "error");
    ToolResult result =
        new ToolResult(
            call.callId,
            log.goalId,
            call.tool,
            ran.ok(),
            ran.ok() ? ran.outcome().result() : null,
            ran.error(),
            ran.ms(),
            workerId);
    if (log.trace != null) {
      SpanRef span = tracing.child(log.trace, Tracing.nanos(started));
      SpanSink.emit(
          context,
          spansSink,
          ToolRun.span(tracing, span, guards.registry(), call.arguments, result, workerId)
              .attr("llmstreams.tool.inline", true)
              .end(Tracing.nanos(System.currentTimeMillis())),
          now);
    }
    answered(log, call, result, true, now);
  }

  /**
   * A call's result joins the goal: the call is done and audited as tool_result ({@code "inline":
   * true} when {@code ranHere}: the controller ran it itself). The caller starts the next turn when
   * it was the step's last open call.
   */
  private void answered(GoalLog log, Call call, ToolResult result, boolean ranHere, long now) {
    call.state = CallState.DONE;
    call.ok = result.ok();
    call.toolMs = result.durationMs();
    call.content =
        result.ok()
            ? cut(result.result() == null ? "null" : result.result().toString(), maxResultChars)
            : "error: " + cut(result.error(), maxResultChars);
    ObjectNode data =
        JsonNodeFactory.instance
            .objectNode()
            .put("callId", call.callId)
            .put("tool", call.tool)
            .put("ok", result.ok())
            .put("durationMs", result.durationMs())
            .put("worker", result.worker())
            .put("waitedMs", now - call.dispatchedAtMs);
    if (ranHere) {
      data.put("inline", true);
    }
    event(
        log,
        GoalEventType.TOOL_RESULT,
        result.ok()
            ? call.tool + " returned " + cut(call.content, 200)
            : call.tool + " failed: " + cut(result.error(), 200),
        data,
        call.callId,
        now);
  }

  private void onApproval(Approval approval, long now) {
    GoalLog log = logs.take(approval.goalId());
    if (log == null) {
      ignored.increment();
      return; // no goal to audit it under: an approval for a goal this controller never saw (or
      // long deleted)
    }
    Call call = log.finished() ? null : log.call(approval.callId());
    if (call == null || call.state != CallState.AWAITING_APPROVAL) {
      ignored.increment();
      event(
          log,
          GoalEventType.DECISION,
          "an approval for "
              + approval.callId()
              + " by "
              + approval.by()
              + " was ignored: no call of this goal is waiting for it",
          null,
          approval.callId(),
          now);
      save(log, now);
      return;
    }
    boolean approved = approval.decision() == Approval.Decision.APPROVE;
    Counter.builder("llmstreams.controller.approvals")
        .description("Approval decisions applied")
        .tag("decision", approved ? "approve" : "reject")
        .register(registry)
        .increment();
    event(
        log,
        GoalEventType.APPROVAL_RECEIVED,
        (approved ? "approved" : "rejected")
            + " by "
            + approval.by()
            + ": "
            + call.tool
            + " ("
            + call.callId
            + ")"
            + (approval.reason() == null ? "" : "; reason: " + approval.reason()),
        null,
        call.callId,
        now);
    if (approved) {
      dispatch(log, call, 1, now);
      if (log.stepDone()) { // an inline tool answered at once
        completeStep(log, now);
      }
    } else {
      call.state = CallState.DONE;
      call.ok = false;
      call.content =
          "error: a person rejected this call ("
              + approval.by()
              + (approval.reason() == null ? "" : ": " + cut(approval.reason(), 500))
              + "). Do not call it again; find another way or answer without it.";
      if (log.stepDone()) {
        completeStep(log, now);
      }
    }
    save(log, now);
  }

  /**
   * A person's answer to an {@code ask_human} question: the call's result, as if a worker had
   * answered it ({@code worker} {@code human:<by>}). An answer to no open question of the goal (a
   * call of another tool, one answered already, a goal ended) is ignored and counted.
   */
  private void onHumanAnswer(HumanAnswer answer, long now) {
    GoalLog log = logs.take(answer.goalId());
    Call call = log == null || log.finished() ? null : log.call(answer.callId());
    if (call == null || !ASK_HUMAN.equals(call.tool) || call.state != CallState.DISPATCHED) {
      ignored.increment();
      if (log != null) {
        event(
            log,
            GoalEventType.DECISION,
            "an answer by "
                + answer.by()
                + " to "
                + answer.callId()
                + " was ignored: no question of this goal waits for it",
            null,
            answer.callId(),
            now);
        save(log, now);
      }
      return;
    }
    ObjectNode result =
        JsonNodeFactory.instance.objectNode().put("answer", answer.answer()).put("by", answer.by());
    onToolResult(
        new ToolResult(
            call.callId,
            log.goalId,
            ASK_HUMAN,
            true,
            result,
            null,
            Math.max(0, now - call.dispatchedAtMs),
            "human:" + answer.by()),
        now);
  }

  /**
   * A request to stop the goal: a running goal ends {@code cancelled} with one result, its held
   * calls dropped; calls already dispatched and the LLM request in flight cannot be recalled, and
   * what they answer later is ignored and counted. A goal already finished, or never seen, is left
   * as it is.
   */
  private void onCancellation(GoalCancellation cancellation, long now) {
    GoalLog log = logs.take(cancellation.goalId());
    String outcome =
        log == null ? "unknown_goal" : log.finished() ? "already_finished" : "cancelled";
    Counter.builder("llmstreams.controller.cancellations")
        .description(
            "Cancellation requests, by what they found: cancelled, already_finished, unknown_goal")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
    if (log == null) {
      return; // no goal to audit it under (never seen here, or long deleted)
    }
    if (log.finished()) {
      event(
          log,
          GoalEventType.DECISION,
          "a cancellation by "
              + cancellation.by()
              + " was ignored: the goal had already ended "
              + log.result.status().name().toLowerCase(java.util.Locale.ROOT),
          null,
          log.goalId,
          now);
      save(log, now);
      return;
    }
    List<String> open = new ArrayList<>();
    for (Call c : log.calls) {
      if (c.state == CallState.DISPATCHED || c.state == CallState.AWAITING_APPROVAL) {
        open.add(
            c.callId
                + " ("
                + c.tool
                + ", "
                + c.state.name().toLowerCase(java.util.Locale.ROOT)
                + ")");
      }
    }
    finish(
        log,
        GoalStatus.CANCELLED,
        lastContent(log),
        "cancelled by "
            + cancellation.by()
            + (cancellation.reason() == null ? "" : ": " + cut(cancellation.reason(), 1000))
            + (open.isEmpty() ? "" : "; open calls left unanswered: " + String.join(", ", open)),
        now);
    save(log, now);
  }

  /** Every call of the step has an answer: they join the conversation and the next turn starts. */
  private void completeStep(GoalLog log, long now) {
    List<String> causes = new ArrayList<>();
    for (Call c : log.calls) {
      log.messages.add(new ChatMessage(ChatMessage.Role.TOOL, c.content, c.llmCallId, List.of()));
      causes.add(c.callId);
    }
    log.lastCausationId = causes.isEmpty() ? log.lastCausationId : causes.get(causes.size() - 1);
    log.calls = new ArrayList<>();
    askLlm(log, now);
  }

  // ---- timers

  private void fireDueTimers(long now) {
    List<KeyValue<String, Timer>> due = new ArrayList<>();
    try (KeyValueIterator<String, Timer> it = timers.range(null, Timer.dueUpTo(now))) {
      while (it.hasNext()) {
        due.add(it.next());
      }
    }
    for (KeyValue<String, Timer> t : due) {
      timers.delete(t.key);
      GoalLog log = logs.take(t.value.goalId());
      if (log == null) {
        continue;
      }
      switch (t.value.kind()) {
        case DEADLINE -> {
          if (!log.finished()) {
            finish(
                log,
                GoalStatus.TIMED_OUT,
                lastContent(log),
                "the deadline "
                    + Instant.ofEpochMilli(log.deadlineMs)
                    + " passed at step "
                    + log.step
                    + " while "
                    + waitingFor(log),
                now);
            save(log, now);
          }
        }
        case CALL -> onCallTimeout(log, t.value, now);
        case EXPIRE -> {
          if (log.finished() && log.expiresAtMs <= now) {
            logs.delete(log.goalId);
          }
        }
      }
    }
  }

  /**
   * A call with no result by its timeout is sent once more with the same callId, then reported as
   * timed out.
   */
  private void onCallTimeout(GoalLog log, Timer timer, long now) {
    Call call = log.finished() ? null : log.call(timer.callId());
    if (call == null || call.state != CallState.DISPATCHED || call.attempt != timer.attempt()) {
      return;
    }
    long timeoutMs = guards.registry().get(call.tool).timeoutMs();
    if (call.attempt == 1) {
      event(
          log,
          GoalEventType.GUARD_TRIPPED,
          call.tool
              + " gave no result within "
              + timeoutMs
              + " ms; sending "
              + call.callId
              + " once more",
          null,
          call.callId,
          now);
      dispatch(log, call, 2, now);
    } else {
      call.state = CallState.DONE;
      call.ok = false;
      call.content =
          "error: the tool gave no result within " + timeoutMs + " ms, twice (timed out)";
      event(
          log,
          GoalEventType.GUARD_TRIPPED,
          call.tool
              + " gave no result within "
              + timeoutMs
              + " ms on attempt "
              + call.attempt
              + "; the LLM is told it timed out",
          null,
          call.callId,
          now);
      if (log.stepDone()) {
        completeStep(log, now);
      }
    }
    save(log, now);
  }

  // ---- the end of a goal

  private void finish(GoalLog log, GoalStatus status, String answer, String reason, long now) {
    int maxAnswer = guards.settings().maxAnswerChars();
    if (answer != null && answer.length() > maxAnswer) {
      // Said in the answer itself, as for tool results: a succeeded goal's result has no reason
      // (topic contract).
      int end = Character.isHighSurrogate(answer.charAt(maxAnswer - 1)) ? maxAnswer - 1 : maxAnswer;
      answer =
          answer.substring(0, end)
              + String.format(
                  java.util.Locale.ROOT,
                  "… [cut: %,d of %,d characters kept, controller.max.answer.chars]",
                  end,
                  answer.length());
    }
    GoalResult result =
        new GoalResult(
            log.goalId,
            status,
            status == GoalStatus.SUCCEEDED && answer == null ? "" : answer,
            log.step,
            log.usage,
            log.costUsd,
            Math.max(0, now - log.startedAtMs),
            reason,
            new Provenance(log.lastCausationId, log.models, null, log.prompts),
            Instant.ofEpochMilli(now),
            log.parent == null ? null : log.parent.goalId(),
            log.children.isEmpty() ? null : log.children,
            log.children.isEmpty() ? null : log.treeUsage(),
            log.children.isEmpty() ? null : log.treeCostUsd(),
            log.goal == null ? null : log.goal.metadata());
    context.forward(traced(log, result, now), sinks.results());
    for (Call c : log.calls) {
      if (Guards.DELEGATE.equals(c.tool) && c.state == CallState.DISPATCHED) {
        // A parent that ends leaves no child running; what the child answers later is ignored.
        String childId = childGoalId(c.callId);
        GoalCancellation cancel =
            new GoalCancellation(
                childId,
                "the parent goal "
                    + log.goalId
                    + " ended "
                    + status.name().toLowerCase(java.util.Locale.ROOT),
                "controller (parent " + log.goalId + ")",
                Instant.ofEpochMilli(now));
        context.forward(
            TraceHeaders.record(childId, (Object) cancel, now, log.trace), sinks.cancellations());
        childGoals("cancelled_by_parent").increment();
      }
    }
    if (log.parent != null) {
      context.forward(
          TraceHeaders.record(
              log.parent.goalId(), (Object) childResult(log, result), now, log.trace),
          sinks.toolResults());
    }
    goalSpan(log, result, now);
    Counter.builder("llmstreams.controller.goals.finished")
        .description("Goals ended, by status and tenant")
        .tag("status", status.name().toLowerCase(java.util.Locale.ROOT))
        .tag("tenant", guards.tenants().tag(log.tenant()))
        .register(registry)
        .increment();
    goalSteps.record(log.step);
    ObjectNode data =
        JsonNodeFactory.instance
            .objectNode()
            .put("status", status.name().toLowerCase(java.util.Locale.ROOT))
            .put("steps", log.step)
            .put("tokens", log.usage.totalTokens())
            .put("costUsd", log.costUsd)
            .put("durationMs", result.durationMs());
    event(
        log,
        GoalEventType.FINISHED,
        status.name().toLowerCase(java.util.Locale.ROOT)
            + " after "
            + log.step
            + " step(s)"
            + (reason == null
                ? ": " + cut(answer == null ? "" : answer, 300)
                : ": " + cut(reason, 300)),
        data,
        log.lastCausationId,
        now);
    timers.delete(Timer.deadline(log.goalId).key(log.deadlineMs));
    for (Call c : log.calls) {
      if (c.state == CallState.DISPATCHED && !Guards.DELEGATE.equals(c.tool)) {
        timers.delete(Timer.call(log.goalId, c.callId, c.attempt).key(c.dueAtMs));
      }
    }
    // Only a small summary stays, for GET /goals/{id} and to recognize a repeat, until retention
    // ends.
    log.phase = Phase.FINISHED;
    log.result = result;
    log.goal = null;
    log.messages = new ArrayList<>();
    log.calls = new ArrayList<>();
    log.llmRequestId = null;
    log.expiresAtMs = now + retentionMs;
    if (retentionMs > 0) {
      timers.put(Timer.expire(log.goalId).key(log.expiresAtMs), Timer.expire(log.goalId));
    }
  }

  private void save(GoalLog log, long now) {
    if (log.finished() && log.expiresAtMs <= now) {
      logs.delete(log.goalId);
      return;
    }
    byte[] encoded = GoalLogs.encode(log);
    if (!log.finished()) {
      Optional<String> tooLarge = tooLarge(encoded.length);
      if (tooLarge.isPresent()) {
        finish(log, GoalStatus.FAILED, lastContent(log), tooLarge.get(), now);
        encoded = GoalLogs.encode(log);
      }
    }
    logs.put(log, encoded);
  }

  /**
   * Why a running goal's state entry is too large to keep, if it is. The entry goes to the store's
   * changelog as one record, and a record over the topic's limit would stop the stream thread at
   * the commit (exactly-once), so such a goal ends instead, small again (a finished goal keeps only
   * its result).
   */
  private Optional<String> stateTooLarge(GoalLog log) {
    return tooLarge(GoalLogs.encode(log).length);
  }

  private Optional<String> tooLarge(int bytes) {
    int max = guards.settings().maxStateBytes();
    if (bytes <= max) {
      return Optional.empty();
    }
    stateTooLarge.increment();
    return Optional.of(
        String.format(
            java.util.Locale.ROOT,
            "the goal's state reached %,d bytes, over the %,d of"
                + " controller.max.state.bytes: its LLM replies and tool results are too large to keep",
            bytes,
            max));
  }

  // ---- helpers

  private void event(
      GoalLog log,
      GoalEventType type,
      String summary,
      JsonNode data,
      String causationId,
      long now) {
    GoalEvent e =
        new GoalEvent(
            log.goalId, log.step, type, summary, data, causationId, Instant.ofEpochMilli(now));
    context.forward(traced(log, e, now), sinks.events());
  }

  /** A record of the goal, under the goal's span (W3C traceparent header). */
  private static Record<String, Object> traced(GoalLog log, Object value, long now) {
    return TraceHeaders.record(log.goalId, value, now, log.trace);
  }

  /**
   * Records the goal's {@code invoke_agent controller} span, from the start time kept in the goal
   * log: one span per goal, whatever crashed while it ran. Its LLM calls and tool calls are its
   * children, recorded by the gateway and the tool workers.
   */
  private void goalSpan(GoalLog log, GoalResult result, long now) {
    String status = result.status().name().toLowerCase(java.util.Locale.ROOT);
    if (log.trace != null) {
      CurrentSpan.set(log.trace);
    }
    try {
      goalDuration(status, guards.tenants().tag(log.tenant()))
          .record(Duration.ofMillis(result.durationMs()));
    } finally {
      CurrentSpan.clear();
    }
    if (log.trace == null) {
      return;
    }
    Tracing.Builder span =
        tracing
            .span(log.trace, "invoke_agent controller", SpanKind.INTERNAL)
            .attr("gen_ai.operation.name", "invoke_agent")
            .attr("gen_ai.agent.name", "controller")
            .attr("gen_ai.agent.id", tracing.service())
            .attr("gen_ai.conversation.id", log.goalId)
            .attr("gen_ai.usage.input_tokens", log.usage.inputTokens())
            .attr("gen_ai.usage.output_tokens", log.usage.outputTokens())
            .attr("llmstreams.goal.id", log.goalId)
            .attr("llmstreams.goal.status", status)
            .attr("llmstreams.goal.steps", (long) log.step)
            .attr("llmstreams.goal.cost_usd", log.costUsd)
            .attr("llmstreams.goal.tools", List.copyOf(log.tools));
    if (!log.models.isEmpty()) {
      // Kept as provider/model: the first LLM the goal used.
      String first = log.models.get(0);
      int slash = first.indexOf('/');
      span.attr("gen_ai.provider.name", slash > 0 ? first.substring(0, slash) : null);
      span.attr("gen_ai.request.model", slash > 0 ? first.substring(slash + 1) : first);
    }
    span.content("gen_ai.input.messages", TraceContent.cap(log.goal.goal()));
    span.content("gen_ai.output.messages", TraceContent.cap(result.answer()));
    if (result.status() == GoalStatus.SUCCEEDED) {
      span.ok();
    } else {
      span.error(status, result.reason());
    }
    SpanSink.emit(context, spansSink, span.end(Tracing.nanos(now)), now);
  }

  private io.micrometer.core.instrument.Timer goalDuration(String status, String tenant) {
    return io.micrometer.core.instrument.Timer.builder("llmstreams.controller.goal.duration")
        .description("Time from a goal's arrival to its result")
        .tag("status", status)
        .tag("tenant", tenant)
        .publishPercentileHistogram()
        .register(registry);
  }

  private ObjectNode argumentsData(Call c) {
    ObjectNode data =
        JsonNodeFactory.instance.objectNode().put("callId", c.callId).put("tool", c.tool);
    String text = c.arguments == null ? "null" : c.arguments.toString();
    if (text.length() > guards.settings().maxArgumentsChars()) {
      data.put(
          "arguments", cut(text, 1000)); // refused for its size: the audit trail keeps its start
    } else {
      data.set("arguments", c.arguments);
    }
    return data;
  }

  private static String waitingFor(GoalLog log) {
    if (log.llmRequestId != null) {
      return "waiting for the LLM";
    }
    List<String> open =
        log.calls.stream()
            .filter(c -> c.state != CallState.DONE)
            .map(
                c ->
                    c.tool + (c.state == CallState.AWAITING_APPROVAL ? " (awaiting approval)" : ""))
            .toList();
    return open.isEmpty() ? "between steps" : "waiting for " + String.join(", ", open);
  }

  /**
   * The latest text the LLM wrote, kept as a partial answer when a goal ends without a final one.
   */
  private static String lastContent(GoalLog log) {
    for (int i = log.messages.size() - 1; i >= 0; i--) {
      ChatMessage m = log.messages.get(i);
      if (m.role() == ChatMessage.Role.ASSISTANT && m.content() != null && !m.content().isBlank()) {
        return m.content();
      }
    }
    return null;
  }

  static String cut(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() <= max ? s : s.substring(0, max) + "… [cut: " + s.length() + " characters]";
  }
}
