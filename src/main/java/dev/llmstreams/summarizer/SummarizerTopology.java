package dev.llmstreams.summarizer;

import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.Window;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.runtime.text.TokenCounter;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.RejectedRecordException;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The recursive summarizer: documents are chunked by real token counts, each chunk is summarized by
 * the gateway, and the summaries are merged level by level in a {@link MergeTree} per key, kept in
 * a state store; every change of the tree's top asks for a new synthesis.
 *
 * <pre>
 * documents ──▶ summarizer.chunk-document ──▶ llm-requests (summarizer.chunk, replyTo summarizer.llm-replies)
 *                      └─ too large / empty / window closed ──▶ dead-letters (via the processing exception handler)
 * summarizer.llm-replies ──▶ summarizer.merge-summaries ──┬▶ llm-requests (summarizer.merge / summarizer.synthesis)
 *                             both stages share the stores ├▶ syntheses (per window, and all-time)
 *                                                          └▶ spans (summarize_chunk, merge_summaries, synthesize)
 *                             summarizer-merge-tree (all-time, per key), summarizer-window-trees (per key and window)
 * </pre>
 *
 * Every record written continues a trace ({@code traceparent}); how the spans of the summarizer's
 * work are placed in traces is told in {@link MergeSummaries}.
 */
public final class SummarizerTopology {
  public static final String PURPOSE_CHUNK = "summarizer.chunk";
  public static final String TREE_STORE = "summarizer-merge-tree";

  /**
   * Window trees, under {@code key@<window start ms>}: apart from the all-time trees, so no key can
   * alias a window.
   */
  public static final String WINDOW_STORE = "summarizer-window-trees";

  static final String CHUNK_DOCUMENT = "summarizer.chunk-document";
  static final String MERGE_SUMMARIES = "summarizer.merge-summaries";
  static final String SPANS_SINK = "summarizer.spans";

  /** The span of one chunk's summary, from its LLM request to its reply. */
  static final String SPAN_CHUNK = "summarize_chunk";

  private final TopicCatalog catalog;
  private final Chunker chunker;
  private final int maxDocumentChars;
  private final int fanIn;
  private final int mergeTokenBudget;
  private final long synthesisIntervalMs;
  private final MeterRegistry registry;
  private final Counter documents;
  private final Counter documentsResent;
  private final Counter chunks;
  private final Counter chunkTokens;
  private final Counter tokensIngested;
  private final TokenCounter tokenCounter;
  private final Windowing windowing;
  private final Tracing tracing;
  private final Prompts prompts;

  /** A summarizer with no windows and no tracing, asking with the shipped prompts. */
  public SummarizerTopology(
      TopicCatalog catalog,
      Chunker chunker,
      int maxDocumentChars,
      int fanIn,
      int mergeTokenBudget,
      long synthesisIntervalMs,
      MeterRegistry registry) {
    this(
        catalog,
        chunker,
        maxDocumentChars,
        fanIn,
        mergeTokenBudget,
        synthesisIntervalMs,
        Windowing.NONE,
        registry,
        Tracing.off("llm-streams-summarizer"),
        Prompts.shipped());
  }

  /**
   * @param prompts the system messages: {@code summarizer.chunk} of chunk summaries, {@code
   *     summarizer.merge} of merges, {@code summarizer.synthesis} of syntheses
   */
  SummarizerTopology(
      TopicCatalog catalog,
      Chunker chunker,
      int maxDocumentChars,
      int fanIn,
      int mergeTokenBudget,
      long synthesisIntervalMs,
      Windowing windowing,
      MeterRegistry registry,
      Tracing tracing,
      Prompts prompts) {
    this.catalog = catalog;
    this.prompts = prompts;
    this.tracing = tracing;
    this.windowing = windowing;
    this.synthesisIntervalMs = synthesisIntervalMs;
    this.fanIn = fanIn;
    this.mergeTokenBudget = mergeTokenBudget;
    this.registry = registry;
    this.chunker = chunker;
    this.maxDocumentChars = maxDocumentChars;
    this.documents =
        Counter.builder("llmstreams.summarizer.documents")
            .description("Documents accepted for summarizing")
            .register(registry);
    this.documentsResent =
        Counter.builder("llmstreams.summarizer.documents.resent")
            .description(
                "Documents sent again to the tree that has them, with the same docId and text: their"
                    + " chunks are answered from the gateway's cache and count once (also in"
                    + " llmstreams.summarizer.documents)")
            .register(registry);
    this.chunks =
        Counter.builder("llmstreams.summarizer.chunks")
            .description("Chunks sent for summarizing")
            .register(registry);
    this.tokenCounter = chunker.counter();
    this.tokensIngested =
        Counter.builder("llmstreams.summarizer.tokens.ingested")
            .description("cl100k tokens of document text ingested (overlap counted once)")
            .baseUnit("tokens")
            .register(registry);
    this.chunkTokens =
        Counter.builder("llmstreams.summarizer.chunk.tokens")
            .description(
                "cl100k tokens of document text sent in chunk summary requests (overlap included)")
            .baseUnit("tokens")
            .register(registry);
  }

  public Topology build() {
    Topic<Document> documentsTopic = catalog.topic(Topics.DOCUMENTS);
    Topic<LlmRequest> requests = catalog.topic(Topics.LLM_REQUESTS);
    String replyTo = catalog.topic(Topics.SUMMARIZER_LLM_REPLIES).name();

    // Both stages share the stores (documents and replies are co-partitioned by key): the chunk
    // stage refuses a
    // document whose window is closed where the document is first seen, with the document itself in
    // dead-letters,
    // and registers its chunks in the window tree so the window collapses only after they are all
    // in.
    StreamsBuilder builder = StreamsSettings.newBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(TREE_STORE),
            Serdes.String(),
            JsonSerde.of(SynthesisState.class)));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(WINDOW_STORE),
            Serdes.String(),
            JsonSerde.of(SynthesisState.class)));
    // Whatever partition a producer chose, each record reaches the task holding its key's trees
    // (see KeyedInput).
    int partitions = catalog.keyPartitions(TopicCatalog.SUMMARIZER_CO_PARTITIONED);
    Topic<LlmReply> replies = catalog.topic(Topics.SUMMARIZER_LLM_REPLIES);
    String repliesNode =
        KeyedInput.read(
                builder, "summarizer", replies, "summarizer.llm-replies", partitions, registry)
            .node();
    KeyedInput.read(
            builder, "summarizer", documentsTopic, "summarizer.documents", partitions, registry)
        .stream()
        .process(
            () -> new ChunkDocument(replyTo), Named.as(CHUNK_DOCUMENT), TREE_STORE, WINDOW_STORE)
        .to(
            requests.name(),
            Produced.with(requests.keySerde(), requests.valueSerde())
                .withName("summarizer.request-chunk-summaries"));
    Topology topology = builder.build();

    Topic<Synthesis> syntheses = catalog.topic(Topics.SYNTHESES);
    topology.addProcessor(
        MERGE_SUMMARIES,
        () ->
            new MergeSummaries(
                TREE_STORE,
                WINDOW_STORE,
                "summarizer.request-merges",
                "summarizer.syntheses",
                replyTo,
                fanIn,
                mergeTokenBudget,
                synthesisIntervalMs,
                windowing,
                registry,
                tracing,
                SPANS_SINK,
                prompts.get(Prompts.SUMMARIZER_MERGE),
                prompts.get(Prompts.SUMMARIZER_SYNTHESIS)),
        repliesNode);
    topology.connectProcessorAndStateStores(MERGE_SUMMARIES, TREE_STORE, WINDOW_STORE);
    topology.addSink(
        "summarizer.request-merges",
        requests.name(),
        requests.keySerde().serializer(),
        requests.sinkSerializer(),
        MERGE_SUMMARIES);
    topology.addSink(
        "summarizer.syntheses",
        syntheses.name(),
        syntheses.keySerde().serializer(),
        syntheses.sinkSerializer(),
        MERGE_SUMMARIES);
    SpanSink.add(topology, catalog, SPANS_SINK, MERGE_SUMMARIES);
    return topology;
  }

  /**
   * Chunks a document into summary requests. With windows on, first places it by its own timestamp:
   * a document whose window closed (the key's stream time reached window end + grace) is refused,
   * to dead-letters; otherwise its chunk ids are registered as pending in its window tree and the
   * key's stream time moves on. The windows this closes are collapsed by {@link MergeSummaries} at
   * the next reply of the key (this document's own replies at the latest).
   */
  private final class ChunkDocument implements Processor<String, Document, String, LlmRequest> {
    private final String replyTo;
    private ProcessorContext<String, LlmRequest> context;
    private KeyValueStore<String, SynthesisState> trees;
    private KeyValueStore<String, SynthesisState> windowTrees;

    ChunkDocument(String replyTo) {
      this.replyTo = replyTo;
    }

    @Override
    public void init(ProcessorContext<String, LlmRequest> context) {
      this.context = context;
      this.trees = context.getStateStore(TREE_STORE);
      this.windowTrees = context.getStateStore(WINDOW_STORE);
    }

    @Override
    public void process(Record<String, Document> record) {
      String key = record.key();
      Document doc = record.value();
      if (key == null || key.isBlank()) {
        throw noKey(doc);
      }
      doc = doc.atRecordTime(record.timestamp());
      long nowMs = context.currentSystemTimeMs();
      if (windowing.tooFarAhead(doc.timestamp(), nowMs)) {
        throw new RejectedRecordException(
            String.format(
                "document %s of key %s has timestamp %s, more than %d ms"
                    + " (summarizer.timestamp.after.max.ms) ahead of this instance's clock (%s): a"
                    + " document from the future would close every window of its key. Check the"
                    + " producer's clock and the timestamp's unit",
                doc.docId(),
                key,
                doc.timestamp(),
                windowing.aheadMaxMs(),
                Instant.ofEpochMilli(nowMs)));
      }
      if (!windowing.enabled()) {
        SynthesisState stored = trees.get(key);
        SynthesisState all =
            stored != null
                ? stored
                : SynthesisState.empty(new MergeTree(key, fanIn, mergeTokenBudget));
        String digest = sameTextOrRefuse(all, key, doc, "its synthesis");
        List<LlmRequest> out = chunkRequests(key, key, doc, replyTo, all.failedChunks());
        admit(all, doc, digest);
        remember(all, out, doc);
        send(record, all, out);
        trees.put(key, all);
        return;
      }
      long timestampMs = doc.timestamp().toEpochMilli();
      long start = windowing.startOf(timestampMs);
      SynthesisState all = trees.get(key);
      if (all == null) {
        all = SynthesisState.empty(new MergeTree(key, fanIn, mergeTokenBudget));
      }
      long streamTime = all.windows().streamTimeMs();
      Window w = windowing.window(start);
      if (windowing.closed(start, streamTime)) {
        throw new RejectedRecordException(
            String.format(
                "document %s of key %s at %s is too late: its window [%s, %s)"
                    + " closed when the key's stream time (latest document timestamp) reached its end + grace"
                    + " (summarizer.window.grace.ms = %d); stream time is %s",
                doc.docId(),
                key,
                doc.timestamp(),
                w.start(),
                w.end(),
                windowing.graceMs(),
                Instant.ofEpochMilli(streamTime)));
      }
      String treeKey = Windowing.treeKey(key, start);
      SynthesisState stored = windowTrees.get(treeKey);
      SynthesisState window =
          stored != null
              ? stored
              : SynthesisState.empty(new MergeTree(treeKey, fanIn, mergeTokenBudget), w);
      String digest = sameTextOrRefuse(window, key, doc, "its window from " + w.start());
      List<LlmRequest> out = chunkRequests(key, treeKey, doc, replyTo, window.failedChunks());
      admit(window, doc, digest);
      out.forEach(r -> window.pendingChunks().add(r.requestId()));
      remember(window, out, doc);
      send(record, window, out);
      windowTrees.put(treeKey, window);
      trees.put(key, all.withWindows(all.windows().withDocument(timestampMs, start)));
    }

    /**
     * The digest of the document's text, after checking that the tree has no other text under its
     * docId: a tree cannot take a summarized text back, and the chunks of a document sent again
     * keep their ids, so the gateway would answer them from its cache with the first text's
     * summaries (or, with more chunks, mix the two).
     */
    private String sameTextOrRefuse(SynthesisState tree, String key, Document doc, String where) {
      String digest = dev.llmstreams.runtime.text.TextDigest.of(doc.text());
      String before = tree.docDigests().get(doc.docId());
      if (before != null && !before.equals(digest)) {
        throw new RejectedRecordException(
            String.format(
                "document %s of key %s was sent before with other text (to %s): a synthesis cannot"
                    + " take a document's text back; send the new text under a new docId",
                doc.docId(), key, where));
      }
      return digest;
    }

    /** Records the document's text in the tree it goes to; counts a resend of the same text. */
    private void admit(SynthesisState tree, Document doc, String digest) {
      if (tree.docDigests().put(doc.docId(), digest) != null) {
        documentsResent.increment();
      }
    }

    /**
     * Sends the chunk requests of a document, each under its own {@code summarize_chunk} span, in
     * the document's context (its {@code traceparent}, or one new trace for the whole document),
     * and keeps the spans in the tree that takes the summaries, which records them when they come.
     * The document opens the tree's round of work when the tree was idle (see {@link
     * MergeSummaries}).
     */
    private void send(Record<String, Document> record, SynthesisState tree, List<LlmRequest> out) {
      long now = Tracing.nanos(context.currentSystemTimeMs());
      SynthesisState.Spans spans = tree.spans();
      TraceContext document = null;
      for (LlmRequest r : out) {
        SpanRef span;
        if (document == null) {
          span = tracing.start(record.headers(), SPAN_CHUNK, SpanKind.INTERNAL, now);
          document = TraceContext.of(span);
          spans.enter(document);
        } else {
          span = document.start(tracing, now);
        }
        spans.open.put(
            r.requestId(), new SynthesisState.Open(span, SPAN_CHUNK, chunkAttributes(r), null));
        context.forward(TraceHeaders.record(record.key(), r, record.timestamp(), span));
      }
    }
  }

  /** {@code base}, or for a chunk whose summary failed under it, the first retry id not failed. */
  static String chunkId(String base, Set<String> failed) {
    String id = base;
    for (int n = 1; failed.contains(id); n++) {
      id = base + RETRY + n;
    }
    return id;
  }

  /** Between a chunk id and its attempt in the id of a retried chunk. */
  static final String RETRY = "~r";

  private static RejectedRecordException noKey(Document doc) {
    return new RejectedRecordException(
        "document " + doc.docId() + " has no key; the key names the synthesis it belongs to");
  }

  /**
   * What a chunk's span says that its reply cannot tell (the rest comes from the request id, see
   * {@link MergeSummaries}): kept small, a document may have thousands of chunks in one tree.
   */
  private static Map<String, Object> chunkAttributes(LlmRequest r) {
    return Map.of(
        "llmstreams.summarizer.chunks",
        Long.parseLong(r.metadata().get("chunks")),
        "llmstreams.summarizer.chunk.tokens",
        Long.parseLong(r.metadata().get("chunkTokens")));
  }

  /**
   * The document timestamp of each chunk request: the reply does not carry it, the synthesis lag
   * needs it.
   */
  private static void remember(SynthesisState tree, List<LlmRequest> requests, Document doc) {
    long documentMs = doc.timestamp().toEpochMilli();
    requests.forEach(r -> tree.pendingDocumentMs().put(r.requestId(), documentMs));
  }

  /**
   * The chunk summary requests of a document, with ids {@code treeKey/docId/index}: the tree they
   * go to; a chunk whose summary failed under that id (in {@code failed}) is asked for again as
   * {@code treeKey/docId/index~r<n>}, n the attempt.
   */
  List<LlmRequest> chunkRequests(
      String key, String treeKey, Document doc, String replyTo, Set<String> failed) {
    if (key == null || key.isBlank()) {
      throw noKey(doc);
    }
    if (doc.text().length() > maxDocumentChars) {
      throw new RejectedRecordException(
          String.format(
              "document %s has %,d characters; the limit (summarizer.max.document.chars) is %,d",
              doc.docId(), doc.text().length(), maxDocumentChars));
    }
    if (doc.text().isBlank()) {
      throw new RejectedRecordException("document " + doc.docId() + " has no text");
    }
    List<Chunker.Chunk> parts = chunker.chunk(doc.text());
    Prompt chunkPrompt = prompts.get(Prompts.SUMMARIZER_CHUNK);
    List<LlmRequest> out = new ArrayList<>(parts.size());
    long ingested = 0;
    Chunker.Chunk previous = null;
    for (Chunker.Chunk c : parts) {
      ingested += c.tokens();
      if (previous != null && c.startChar() < previous.endChar()) {
        // The overlap (a few sentences, at most summarizer.chunk.overlap.tokens) was ingested with
        // the previous chunk.
        ingested -= tokenCounter.count(doc.text().substring(c.startChar(), previous.endChar()));
      }
      previous = c;
      out.add(
          new LlmRequest(
              chunkId(treeKey + "/" + doc.docId() + "/" + c.index(), failed),
              replyTo,
              PURPOSE_CHUNK,
              key,
              doc.docId(),
              null,
              // Document text is data: the instructions say so, and the text is fenced so it cannot
              // pose as them.
              List.of(
                  ChatMessage.system(chunkPrompt.text()),
                  ChatMessage.user(Fences.fence("document", c.text()))),
              List.of(),
              null,
              Math.max(64, c.tokens() / 3),
              0.0,
              null,
              Map.of(
                  "docId",
                  doc.docId(),
                  "chunk",
                  Integer.toString(c.index()),
                  "chunks",
                  Integer.toString(parts.size()),
                  "chunkTokens",
                  Integer.toString(c.tokens()),
                  "documentTimestamp",
                  doc.timestamp().toString()),
              chunkPrompt.ref()));
      chunkTokens.increment(c.tokens());
    }
    documents.increment();
    chunks.increment(parts.size());
    tokensIngested.increment(Math.max(0, ingested));
    return out;
  }
}
