package dev.llmstreams.summarizer;

import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceContent;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.topics.RejectedRecordException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Turns the gateway's replies into the merge trees of each key: chunk summaries become leaves,
 * merge replies become nodes, and every change of a top asks for a new synthesis (at most one in
 * flight per tree). Emits merge and synthesis requests to the gateway and syntheses to the
 * syntheses topic.
 *
 * <p>With windows on, chunk summaries go to their window's tree only (the id of a request names its
 * tree, see {@link Windowing}). A window closed by the key's stream time collapses once its pending
 * chunks are in; its final node then becomes one leaf of the all-time tree, which thus merges
 * closed windows' syntheses, not their chunks: each input token is read by a chunk summary once, by
 * the window's merges about once, and its share of the final window synthesis once more in the
 * all-time tree (1/r of it, r the compression). Keeping the all-time tree over the chunk summaries
 * beside the window trees would instead merge every summary twice. The all-time synthesis is the
 * merge of the all-time tree's top and the latest synthesis of each open window, so it stays
 * current while a window is open.
 *
 * <h2>Traces</h2>
 *
 * Three spans, each started when its LLM request goes out (the request carries it as {@code
 * traceparent}, so the gateway's {@code chat} span is its child), kept in the tree's state ({@link
 * SynthesisState.Spans}) and recorded once, when the reply comes, in the same transaction as the
 * reply's work:
 *
 * <ul>
 *   <li>{@code summarize_chunk}, one per chunk, in the <em>document's</em> context: a child of the
 *       span the document record names in its {@code traceparent}; a document without one gets a
 *       new trace, whose top-level spans its chunks are. The chunk's summary (a leaf) keeps the
 *       span.
 *   <li>{@code merge_summaries}, one per merge, linked to the spans of the summaries it merges; the
 *       merged node keeps it.
 *   <li>{@code synthesize}, one per synthesis emitted (the synthesis record is written under it),
 *       linked to the spans of the nodes it synthesizes; for a top of one node it is an instant.
 * </ul>
 *
 * <p>Merges and syntheses belong to the tree's current <em>round</em>: the work a tree does from
 * the moment it gets work while idle until it is idle again (no chunk, merge or synthesis
 * outstanding). A round lives in the trace of the document that started it: its merges and
 * syntheses are children of that document's context. So the documents of a burst (five documents
 * sent together, say) are summarized in one trace, the trace of the first: it holds every merge and
 * the syntheses that cover them, and the merges link to the chunk spans of the other documents, in
 * their own traces; documents sent with the same {@code traceparent} are all in that one trace. A
 * tree busy without pause stays in one trace, bounded for window trees by their window. Work that
 * comes while the tree is idle opens a round in its cause's context: the all-time tree's work
 * caused by a window goes into that window's round; a synthesis held back by the rate limit, a
 * retried merge, or a window closed by a later window's document go into the tree's latest round.
 * The all-time synthesis links to the open windows' latest synthesis spans, and a closed window's
 * leaf in the all-time tree to its final synthesis span.
 */
final class MergeSummaries implements Processor<String, LlmReply, String, Object> {
  static final String PURPOSE_MERGE = "summarizer.merge";
  static final String PURPOSE_SYNTHESIS = "summarizer.synthesis";
  static final String SPAN_MERGE = "merge_summaries";
  static final String SPAN_SYNTHESIS = "synthesize";

  /**
   * A tree whose synthesis waits for the rate limit: the record key, and the store key of the tree.
   */
  private record Due(String key, String treeKey) {}

  private final String treeStore;
  private final String windowStore;
  private final String requestsSink;
  private final String synthesesSink;
  private final String replyTo;
  private final int fanIn;
  private final int mergeTokenBudget;
  private final long synthesisIntervalMs;
  private final Windowing windowing;

  /** The system message of merges (prompt {@code summarizer.merge}). */
  private final Prompt mergePrompt;

  /** The system message of syntheses (prompt {@code summarizer.synthesis}). */
  private final Prompt synthesisPrompt;

  /**
   * Trees whose top changed while their synthesis waited for the rate limit (rebuilt from the
   * stores at start).
   */
  private final Set<Due> due = new LinkedHashSet<>();

  private final Counter merges;
  private final Counter syntheses;
  private final Counter failedChunks;
  private final DistributionSummary depth;
  private final Timer windowLag;
  private final Timer allTimeLag;
  private final MeterRegistry registry;
  private final Tracing tracing;
  private final String spansSink;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, SynthesisState> trees;
  private KeyValueStore<String, SynthesisState> windowTrees;

  MergeSummaries(
      String treeStore,
      String windowStore,
      String requestsSink,
      String synthesesSink,
      String replyTo,
      int fanIn,
      int mergeTokenBudget,
      long synthesisIntervalMs,
      Windowing windowing,
      MeterRegistry registry,
      Tracing tracing,
      String spansSink,
      Prompt mergePrompt,
      Prompt synthesisPrompt) {
    this.mergePrompt = mergePrompt;
    this.synthesisPrompt = synthesisPrompt;
    this.tracing = tracing;
    this.spansSink = spansSink;
    this.synthesisIntervalMs = synthesisIntervalMs;
    this.treeStore = treeStore;
    this.windowStore = windowStore;
    this.requestsSink = requestsSink;
    this.synthesesSink = synthesesSink;
    this.replyTo = replyTo;
    this.fanIn = fanIn;
    this.mergeTokenBudget = mergeTokenBudget;
    this.windowing = windowing;
    this.registry = registry;
    this.merges =
        Counter.builder("llmstreams.summarizer.merges")
            .description("Merge requests sent")
            .register(registry);
    this.syntheses =
        Counter.builder("llmstreams.summarizer.syntheses")
            .description("Syntheses emitted")
            .register(registry);
    this.failedChunks =
        Counter.builder("llmstreams.summarizer.chunk.failures")
            .description("Chunk summaries the gateway gave up on (sent to dead-letters)")
            .register(registry);
    this.depth =
        DistributionSummary.builder("llmstreams.summarizer.tree.depth")
            .description("Depth of a merge tree at each synthesis")
            .register(registry);
    this.windowLag = lagTimer("window", registry);
    this.allTimeLag = lagTimer("all-time", registry);
  }

  /**
   * How stale a synthesis is when it goes out: wall-clock emission time minus the newest document
   * timestamp it covers. It includes the document's own way to Kafka, the chunk and merge calls and
   * the rate limit, so a quiet key's synthesis of yesterday's documents reads as a day: compare it
   * with the documents' own delay.
   */
  private static Timer lagTimer(String tree, MeterRegistry registry) {
    return Timer.builder("llmstreams.summarizer.synthesis.lag")
        .description("Newest covered document timestamp to synthesis emission (wall clock)")
        .tag("tree", tree)
        .publishPercentiles(0.5, 0.95, 0.99)
        .register(registry);
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.trees = context.getStateStore(treeStore);
    this.windowTrees = context.getStateStore(windowStore);
    // Merges that failed went back to pending; re-form them after a back-off rather than in a hot
    // loop.
    context.schedule(
        Duration.ofSeconds(30), PunctuationType.WALL_CLOCK_TIME, this::retryFailedMerges);
    if (synthesisIntervalMs > 0) {
      for (KeyValueStore<String, SynthesisState> store : List.of(trees, windowTrees)) {
        try (KeyValueIterator<String, SynthesisState> it = store.all()) {
          while (it.hasNext()) {
            var e = it.next();
            String key = keyOf(store, e.key);
            if (e.value.synthesisInFlight() == null
                && synthesisRequest(key, e.key, e.value)
                    .map(r -> !r.synthesisId().equals(e.value.latestId()))
                    .orElse(false)) {
              due.add(new Due(key, e.key));
            }
          }
        }
      }
      context.schedule(
          Duration.ofMillis(Math.max(100, synthesisIntervalMs / 4)),
          PunctuationType.WALL_CLOCK_TIME,
          this::askDueSyntheses);
    }
  }

  /** Syntheses held back by the per-tree rate limit go out once their interval has passed. */
  private void askDueSyntheses(long now) {
    for (Due d : List.copyOf(due)) {
      KeyValueStore<String, SynthesisState> store = storeOf(d.key(), d.treeKey());
      SynthesisState state = store.get(d.treeKey());
      if (state == null) {
        due.remove(d);
        continue;
      }
      SynthesisState next = askForSynthesis(d.key(), d.treeKey(), state, now, null);
      if (next != state) {
        next.spans().settle();
        store.put(d.treeKey(), next);
      }
    }
  }

  @Override
  public void process(Record<String, LlmReply> record) {
    String key = record.key();
    LlmReply reply = record.value();
    if (key == null || reply == null) {
      throw new RejectedRecordException(
          "a summarizer reply needs a key (the synthesis key) and a value");
    }
    String treeKey = Windowing.treeKeyOf(key, reply.requestId());
    KeyValueStore<String, SynthesisState> store = storeOf(key, treeKey);
    SynthesisState state = store.get(treeKey);
    if (state == null && !treeKey.equals(key) && !windowOpen(key, windowStartOf(treeKey))) {
      return; // a late repeat for a window whose tree was deleted after its retention: it is in the
      // final synthesis
    }
    if (state == null) {
      state =
          SynthesisState.empty(
              new MergeTree(treeKey, fanIn, mergeTokenBudget),
              treeKey.equals(key) ? null : windowing.window(windowStartOf(treeKey)));
    }
    List<MergeTree.MergeRequest> toSend = new ArrayList<>();
    RejectedRecordException rejected = null;
    String coveredDocId = null;
    long coveredDocumentMs = 0;
    if (!List.of(SummarizerTopology.PURPOSE_CHUNK, PURPOSE_MERGE, PURPOSE_SYNTHESIS)
        .contains(reply.purpose())) {
      throw new RejectedRecordException("unknown summarizer purpose '" + reply.purpose() + "'");
    }
    // The span this reply ends (started with its request), recorded here once: a repeated reply
    // finds none. The work the reply causes goes on in its context (unless the tree is in a round).
    SynthesisState.Open open = state.spans().open.remove(reply.requestId());
    TraceContext cause = open == null ? null : TraceContext.of(open.span());
    switch (reply.purpose()) {
      case SummarizerTopology.PURPOSE_CHUNK -> {
        boolean wasPending = state.pendingChunks().remove(reply.requestId());
        Long documentMs = state.pendingDocumentMs().remove(reply.requestId());
        if (open != null) {
          record(open, reply, record.timestamp(), chunkAttributes(key, state, reply.requestId()));
        }
        if (reply.failed()) {
          failedChunks.increment();
          // The gateway keeps this failure under the request id: a resent document asks again
          // under a new one.
          state.failedChunks().add(reply.requestId());
          // Thrown once the chunk is no longer pending: its window may close without it.
          rejected =
              new RejectedRecordException(
                  "the summary of chunk "
                      + reply.requestId()
                      + " failed ("
                      + reply.error().code()
                      + ": "
                      + reply.error().message()
                      + "); it is not in the synthesis: send the"
                      + " document again (same docId and text) to retry the chunks that failed");
        } else if (!wasPending && state.tree().closed()) {
          // A repeated reply after its window collapsed: the leaf is in the final synthesis
          // already.
        } else if (state.tree().hasLeaf(reply.requestId())) {
          // The same chunk again (its document sent again): in the tree, its tokens counted once.
        } else {
          coveredDocId = Windowing.docIdOf(key, reply.requestId());
          coveredDocumentMs = documentMs == null ? 0 : documentMs;
          state.lineage().add(reply);
          state = state.withChunk(coveredDocId, reply.usage().inputTokens(), coveredDocumentMs);
          toSend.addAll(
              state
                  .tree()
                  .addLeaf(
                      MergeTree.Node.leaf(
                          reply.requestId(),
                          reply.content(),
                          (int) Math.max(1, reply.usage().outputTokens()),
                          open == null ? null : open.span())));
        }
      }
      case PURPOSE_MERGE -> {
        if (reply.failed()) {
          state.tree().failMerge(reply.requestId());
        } else {
          state.lineage().add(reply);
          toSend.addAll(
              state
                  .tree()
                  .completeMerge(
                      reply.requestId(),
                      reply.content(),
                      (int) Math.max(1, reply.usage().outputTokens()),
                      open == null ? null : open.span()));
        }
        if (open != null) {
          record(open, reply, record.timestamp());
        }
      }
      case PURPOSE_SYNTHESIS -> {
        if (reply.requestId().equals(state.synthesisInFlight())) {
          long coveredNewestMs = state.synthesisInFlightNewestMs();
          if (!reply.failed()) {
            state.lineage().add(reply);
          }
          state =
              reply.failed()
                  ? state.withoutSynthesisInFlight()
                  : state.withLatest(
                      synthesis(
                          key,
                          state,
                          reply.content(),
                          state.synthesisInFlightLevel(),
                          reply.provider() + "/" + reply.model(),
                          record.timestamp()),
                      reply.requestId());
          if (reply.failed()) {
            if (open != null) {
              record(open, reply, record.timestamp());
            }
          } else {
            SynthesisState.Open span =
                open != null
                    ? open // null only for a call asked before tracing existed
                    : startSpan(
                        state,
                        cause,
                        SPAN_SYNTHESIS,
                        Map.of("gen_ai.conversation.id", key),
                        List.of());
            emitSynthesis(
                treeKey, state, state.latest(), coveredNewestMs, record.timestamp(), span, reply);
          }
        } else if (open != null) {
          record(open, reply, record.timestamp()); // not expected: its span ends all the same
        }
      }
      default -> throw new IllegalStateException("checked above");
    }
    SynthesisState tree = state;
    toSend.forEach(m -> sendMerge(key, tree, m, record.timestamp(), cause));
    state = askForSynthesis(key, treeKey, state, record.timestamp(), cause);
    // The all-time tree's work caused by a window goes on in that window's trace.
    TraceContext windowContext =
        state.spans().round != null
            ? state.spans().round
            : state.spans().last != null ? state.spans().last : cause;
    state.spans().settle();
    store.put(treeKey, state);
    if (windowing.enabled() && !treeKey.equals(key)) {
      settleWindows(key, coveredDocId, coveredDocumentMs, record.timestamp(), windowContext);
    }
    if (rejected != null) {
      throw rejected;
    }
  }

  /**
   * After a change in one of the key's windows: closes the windows the key's stream time has
   * passed, collapses those whose chunks are all in, folds the collapsed ones into the all-time
   * tree, and asks for the all-time synthesis.
   */
  private void settleWindows(
      String key, String coveredDocId, long coveredDocumentMs, long timestamp, TraceContext cause) {
    SynthesisState all = trees.get(key);
    if (all == null) {
      all = SynthesisState.empty(new MergeTree(key, fanIn, mergeTokenBudget));
    }
    if (coveredDocId != null) {
      // Covered once in its window tree: the all-time synthesis reads that window's latest
      // synthesis, which may not
      // hold this chunk yet, so the all-time lag is a lower bound while a window's synthesis is in
      // flight.
      all = all.withChunk(coveredDocId, 0, coveredDocumentMs);
    }
    for (long start : List.copyOf(all.windows().open())) {
      String treeKey = Windowing.treeKey(key, start);
      SynthesisState w = windowTrees.get(treeKey);
      if (w == null) {
        all = all.withWindows(all.windows().withFolded(start, 0, 0));
        continue;
      }
      boolean changed = false;
      if (!w.closing() && windowing.closed(start, all.windows().streamTimeMs())) {
        w = w.withClosing();
        changed = true;
      }
      // A window closed by another window's document collapses in its own latest trace.
      TraceContext windowCause = w.spans().last != null ? w.spans().last : cause;
      if (w.closing() && w.pendingChunks().isEmpty() && !w.tree().closed()) {
        SynthesisState closing = w;
        w.tree()
            .closeAndCollapse()
            .forEach(m -> sendMerge(key, closing, m, timestamp, windowCause));
        changed = true;
      }
      if (w.tree().collapsed()) {
        // The one node left is the window's final synthesis (no LLM call) and one leaf of the
        // all-time tree.
        w = askForSynthesis(key, treeKey, w, timestamp, windowCause);
        List<MergeTree.Node> last = w.tree().frontier();
        SynthesisState allTime = all;
        for (MergeTree.Node node : last) {
          SpanRef finalSpan = w.spans().latest != null ? w.spans().latest : node.span();
          all.tree()
              .addLeaf(MergeTree.Node.leaf(treeKey, node.text(), node.tokens(), finalSpan))
              .forEach(m -> sendMerge(key, allTime, m, timestamp, cause));
        }
        all =
            all.withWindows(
                all.windows()
                    .withFolded(start, w.llmInputTokens(), w.tree().coveredChunks() - last.size()));
        all.lineage().addAll(w.lineage());
        changed = true;
      }
      if (changed) {
        w.spans().settle();
        windowTrees.put(treeKey, w);
      }
    }
    all = deleteExpiredWindows(key, all);
    all = askForSynthesis(key, key, all, timestamp, cause);
    all.spans().settle();
    trees.put(key, all);
  }

  /**
   * Deletes the trees of folded windows past {@code summarizer.window.retention.ms} of the key's
   * stream time after their close; a tree whose last synthesis is still in flight waits for its
   * reply, which comes back here.
   */
  private SynthesisState deleteExpiredWindows(String key, SynthesisState all) {
    for (long start : List.copyOf(all.windows().retained())) {
      if (!windowing.expired(start, all.windows().streamTimeMs())) {
        break; // in start order: the later ones expire later
      }
      String treeKey = Windowing.treeKey(key, start);
      SynthesisState w = windowTrees.get(treeKey);
      if (w != null && w.synthesisInFlight() != null) {
        continue;
      }
      windowTrees.delete(treeKey);
      all = all.withWindows(all.windows().withDeleted(start));
    }
    return all;
  }

  private boolean windowOpen(String key, long start) {
    SynthesisState all = trees.get(key);
    return all != null && all.windows().open().contains(start);
  }

  /**
   * The synthesis a tree asks for: its top; for the all-time tree with windows on, its top (closed
   * windows) and the latest synthesis of each open window, so that an open window is read as one
   * node, not as its whole top again.
   */
  private Optional<MergeTree.SynthesisRequest> synthesisRequest(
      String key, String treeKey, SynthesisState state) {
    if (!windowing.enabled() || !treeKey.equals(key)) {
      return state.tree().synthesisRequest();
    }
    List<MergeTree.Node> nodes = new ArrayList<>(state.tree().top());
    for (long start : state.windows().open()) {
      SynthesisState w = windowTrees.get(Windowing.treeKey(key, start));
      if (w != null && w.latest() != null) {
        // The window's synthesis stands for its whole tree: it keeps that tree's level, so depth is
        // reported right.
        nodes.add(
            new MergeTree.Node(
                w.latestId(),
                w.latest().level(),
                w.latest().text(),
                approximateTokens(w.latest().text()),
                1,
                MergeTree.Sources.of(w.latestId()),
                w.spans().latest));
      }
    }
    nodes.sort(Comparator.comparingInt(MergeTree.Node::level).reversed());
    return MergeTree.synthesisOf(key, nodes, state.tree().sourceIdCap());
  }

  /**
   * About four characters a cl100k token: only sizes the all-time synthesis call, no tokenizer on
   * this path.
   */
  private static int approximateTokens(String text) {
    return Math.max(1, (text.length() + 3) / 4);
  }

  /**
   * Asks for a synthesis of the current top when it changed and none is in flight; a single node is
   * its own.
   */
  private SynthesisState askForSynthesis(
      String key, String treeKey, SynthesisState state, long timestamp, TraceContext cause) {
    Optional<MergeTree.SynthesisRequest> request = synthesisRequest(key, treeKey, state);
    if (request.isEmpty() || state.synthesisInFlight() != null) {
      return state;
    }
    MergeTree.SynthesisRequest sr = request.get();
    if (sr.synthesisId().equals(state.latestId())) {
      return state; // the top has not changed since the latest synthesis
    }
    if (!sr.needsLlm()) {
      MergeTree.Node only = sr.inputs().get(0);
      SynthesisState next =
          state.withLatest(
              synthesis(key, state, only.text(), only.level(), null, timestamp), sr.synthesisId());
      SynthesisState.Open span =
          startSpan(next, cause, SPAN_SYNTHESIS, synthesisAttributes(key, next, sr), sr.inputs());
      emitSynthesis(treeKey, next, next.latest(), next.newestDocumentMs(), timestamp, span, null);
      return next;
    }
    long now = context.currentSystemTimeMs();
    Due d = new Due(key, treeKey);
    if (synthesisIntervalMs > 0 && now - state.synthesisAskedAtMs() < synthesisIntervalMs) {
      due.add(d); // rate-limited: asked for again by askDueSyntheses
      return state;
    }
    due.remove(d);
    SynthesisState.Open span =
        startSpan(state, cause, SPAN_SYNTHESIS, synthesisAttributes(key, state, sr), sr.inputs());
    state.spans().open.put(sr.synthesisId(), span);
    context.forward(
        TraceHeaders.record(
            key,
            llmRequest(
                key,
                sr.synthesisId(),
                PURPOSE_SYNTHESIS,
                sr.inputs(),
                "synthesis of " + sr.inputs().size() + " summaries",
                1024),
            timestamp,
            span.span()),
        requestsSink);
    return state.withSynthesisInFlight(sr.synthesisId(), sr.level(), sr.inputTokens(), now);
  }

  private KeyValueStore<String, SynthesisState> storeOf(String key, String treeKey) {
    return treeKey.equals(key) ? trees : windowTrees;
  }

  /**
   * The record key of a stored tree: window trees are stored under {@code key@<start>}, and start
   * has no '@'.
   */
  private String keyOf(KeyValueStore<String, SynthesisState> store, String treeKey) {
    return store == trees ? treeKey : treeKey.substring(0, treeKey.lastIndexOf('@'));
  }

  private static long windowStartOf(String treeKey) {
    return Long.parseLong(treeKey.substring(treeKey.lastIndexOf('@') + 1));
  }

  /**
   * Sends a merge of {@code tree} under a new {@code merge_summaries} span in the tree's round (or
   * {@code cause}'s context), linked to the spans of the summaries it merges.
   */
  private void sendMerge(
      String key,
      SynthesisState tree,
      MergeTree.MergeRequest m,
      long timestamp,
      TraceContext cause) {
    merges.increment();
    Counter.builder("llmstreams.summarizer.llm.input.tokens")
        .description("LLM input tokens of merges, by level")
        .baseUnit("tokens")
        .tag("level", Integer.toString(m.level() + 1))
        .register(registry)
        .increment(m.inputTokens());
    int maxTokens = (int) Math.min(1024, Math.max(128, m.inputTokens() / 3));
    Map<String, Object> attributes = new LinkedHashMap<>();
    attributes.put("gen_ai.conversation.id", key);
    attributes.put("llmstreams.summarizer.merge.id", m.mergeId());
    attributes.put("llmstreams.summarizer.level", (long) m.level() + 1);
    attributes.put("llmstreams.summarizer.inputs", (long) m.inputs().size());
    attributes.put("llmstreams.summarizer.input_tokens", m.inputTokens());
    attributes.put(
        "llmstreams.summarizer.chunks",
        m.inputs().stream().mapToLong(MergeTree.Node::chunks).sum());
    attributes.put("llmstreams.llm.request.id", m.mergeId());
    window(tree, attributes);
    SynthesisState.Open span = startSpan(tree, cause, SPAN_MERGE, attributes, m.inputs());
    tree.spans().open.put(m.mergeId(), span);
    context.forward(
        TraceHeaders.record(
            key,
            llmRequest(key, m.mergeId(), PURPOSE_MERGE, m.inputs(), m.nodeId(), maxTokens),
            timestamp,
            span.span()),
        requestsSink);
  }

  // ---- spans

  /**
   * Starts a span of {@code tree}'s work: in the tree's round when it is in one; else the round
   * opens in {@code cause}'s context, else in the tree's latest round's, else in a new trace.
   */
  private SynthesisState.Open startSpan(
      SynthesisState tree,
      TraceContext cause,
      String name,
      Map<String, Object> attributes,
      List<MergeTree.Node> inputs) {
    long now = Tracing.nanos(context.currentSystemTimeMs());
    TraceContext round = tree.spans().enter(cause);
    SpanRef span;
    if (round == null) {
      span = tracing.start(SpanContext.getInvalid(), name, SpanKind.INTERNAL, now);
      tree.spans().enter(TraceContext.of(span));
    } else {
      span = round.start(tracing, now);
    }
    return new SynthesisState.Open(
        span, name, attributes, inputs.stream().map(MergeTree.Node::span).toList());
  }

  /** The span as it stood when it started, with the end of the LLM call that {@code reply} is. */
  private Tracing.Builder span(SynthesisState.Open open, LlmReply reply) {
    Tracing.Builder b = tracing.span(open.span(), open.name(), SpanKind.INTERNAL);
    open.attributes().forEach(b::attr);
    open.links().forEach(b::link);
    if (reply != null) {
      b.attr("llmstreams.summarizer.output_tokens", reply.usage().outputTokens());
      if (reply.failed()) {
        b.error(
            reply.error().code().name().toLowerCase(java.util.Locale.ROOT),
            reply.error().message());
      } else {
        b.ok();
      }
    }
    return b;
  }

  /** Records the span a reply ends (a chunk's, a merge's, or a failed synthesis's). */
  private void record(SynthesisState.Open open, LlmReply reply, long timestamp) {
    record(open, reply, timestamp, Map.of());
  }

  private void record(
      SynthesisState.Open open, LlmReply reply, long timestamp, Map<String, Object> more) {
    Tracing.Builder b = span(open, reply);
    more.forEach(b::attr);
    SpanSink.emit(
        context, spansSink, b.end(Tracing.nanos(context.currentSystemTimeMs())), timestamp);
  }

  /** What a chunk's span says that its request id tells: the document, the chunk, the tree. */
  private static Map<String, Object> chunkAttributes(
      String key, SynthesisState tree, String requestId) {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("gen_ai.conversation.id", key);
    a.put("llmstreams.summarizer.document.id", Windowing.docIdOf(key, requestId));
    try {
      a.put(
          "llmstreams.summarizer.chunk.index",
          Long.parseLong(
              requestId
                  .substring(requestId.lastIndexOf('/') + 1)
                  .replaceFirst(SummarizerTopology.RETRY + "\\d+$", "")));
    } catch (NumberFormatException e) {
      // not a chunk id this summarizer wrote: no index
    }
    a.put("llmstreams.summarizer.level", 0L);
    a.put("llmstreams.summarizer.inputs", 1L);
    a.put("llmstreams.llm.request.id", requestId);
    window(tree, a);
    return a;
  }

  private static Map<String, Object> synthesisAttributes(
      String key, SynthesisState tree, MergeTree.SynthesisRequest sr) {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("gen_ai.conversation.id", key);
    a.put("llmstreams.summarizer.synthesis.id", sr.synthesisId());
    a.put("llmstreams.summarizer.level", (long) sr.level());
    a.put("llmstreams.summarizer.inputs", (long) sr.inputs().size());
    a.put("llmstreams.summarizer.input_tokens", sr.inputTokens());
    if (sr.needsLlm()) {
      a.put("llmstreams.llm.request.id", sr.synthesisId());
    }
    window(tree, a);
    return a;
  }

  /** The tree a span works on: all-time, or a window (with its bounds). */
  private static void window(SynthesisState tree, Map<String, Object> attributes) {
    attributes.put("llmstreams.summarizer.tree", tree.window() == null ? "all-time" : "window");
    if (tree.window() != null) {
      attributes.put("llmstreams.summarizer.window.start", tree.window().start().toString());
      attributes.put("llmstreams.summarizer.window.end", tree.window().end().toString());
    }
  }

  private LlmRequest llmRequest(
      String key,
      String requestId,
      String purpose,
      List<MergeTree.Node> inputs,
      String causation,
      int maxTokens) {
    StringBuilder user = new StringBuilder();
    for (MergeTree.Node n : inputs) {
      user.append(Fences.fence("summary", n.text())).append('\n');
    }
    Prompt prompt = purpose.equals(PURPOSE_SYNTHESIS) ? synthesisPrompt : mergePrompt;
    return new LlmRequest(
        requestId,
        replyTo,
        purpose,
        key,
        causation,
        null,
        List.of(ChatMessage.system(prompt.text()), ChatMessage.user(user.toString().strip())),
        List.of(),
        null,
        maxTokens,
        0.0,
        null,
        Map.of("inputs", Integer.toString(inputs.size())),
        prompt.ref());
  }

  private Synthesis synthesis(
      String key, SynthesisState state, String text, int level, String model, long timestamp) {
    List<String> ids = new ArrayList<>(state.docIds());
    List<String> recent =
        ids.subList(Math.max(0, ids.size() - Synthesis.MAX_SOURCE_DOC_IDS), ids.size());
    depth.record(state.tree().depth());
    long chunks = state.tree().coveredChunks();
    long inputTokens = state.llmInputTokens();
    SynthesisState.Lineage lineage = new SynthesisState.Lineage();
    lineage.addAll(state.lineage());
    if (state.window() == null && windowing.enabled()) {
      // A closed window is one leaf of the all-time tree: count its chunks and cost, and those of
      // the open windows.
      chunks += state.windows().closedChunks();
      inputTokens += state.windows().closedInputTokens();
      for (long start : state.windows().open()) {
        SynthesisState w = windowTrees.get(Windowing.treeKey(key, start));
        if (w != null) {
          chunks += w.tree().coveredChunks();
          inputTokens += w.llmInputTokens();
          lineage.addAll(w.lineage());
        }
      }
    }
    return new Synthesis(
        key,
        state.window(),
        text,
        level,
        ids.size(),
        chunks,
        new ArrayList<>(recent),
        Synthesis.sourceDigest(ids),
        inputTokens,
        model,
        Instant.ofEpochMilli(timestamp),
        List.copyOf(lineage.prompts),
        List.copyOf(lineage.models));
  }

  /**
   * Emits a synthesis covering documents up to {@code newestDocumentMs} (0: unknown, no lag
   * recorded).
   */
  private void emitSynthesis(
      String treeKey,
      SynthesisState state,
      Synthesis s,
      long newestDocumentMs,
      long timestamp,
      SynthesisState.Open span,
      LlmReply reply) {
    syntheses.increment();
    if (newestDocumentMs > 0) {
      (s.window() == null ? allTimeLag : windowLag)
          .record(
              Math.max(0, context.currentSystemTimeMs() - newestDocumentMs), TimeUnit.MILLISECONDS);
    }
    context.forward(TraceHeaders.record(s.recordKey(), s, timestamp, span.span()), synthesesSink);
    state.spans().latest = span.span();
    Tracing.Builder b =
        span(span, reply)
            .attr("llmstreams.summarizer.synthesis.key", s.recordKey())
            .attr("llmstreams.summarizer.tree.id", treeKey)
            .attr("llmstreams.summarizer.documents", s.documents())
            .attr("llmstreams.summarizer.chunks", s.chunks())
            .attr("llmstreams.summarizer.depth", (long) state.tree().depth())
            .attr("llmstreams.summarizer.llm_input_tokens", s.llmInputTokens())
            .attr("llmstreams.summarizer.model", s.model())
            .ok();
    b.content("gen_ai.output.messages", TraceContent.cap(s.text()));
    SpanSink.emit(
        context, spansSink, b.end(Tracing.nanos(context.currentSystemTimeMs())), timestamp);
  }

  private void retryFailedMerges(long now) {
    for (KeyValueStore<String, SynthesisState> store : List.of(trees, windowTrees)) {
      List<String> treeKeys = new ArrayList<>();
      try (KeyValueIterator<String, SynthesisState> it = store.all()) {
        while (it.hasNext()) {
          var e = it.next();
          if (e.value.tree().failures() > 0) {
            treeKeys.add(e.key);
          }
        }
      }
      for (String treeKey : treeKeys) {
        SynthesisState state = store.get(treeKey);
        List<MergeTree.MergeRequest> due = state.tree().claimDueMerges();
        if (!due.isEmpty()) {
          String key = keyOf(store, treeKey);
          due.forEach(m -> sendMerge(key, state, m, now, null));
          store.put(treeKey, state);
        }
      }
    }
  }
}
