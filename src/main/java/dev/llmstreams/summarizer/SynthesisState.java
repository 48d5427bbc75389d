package dev.llmstreams.summarizer;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.Window;
import dev.llmstreams.observability.tracing.SpanRef;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Everything the summarizer keeps for one merge tree (a key's all-time tree, or one window of it),
 * in one state-store value: the merge tree, the documents it covers, the synthesis request in
 * flight (at most one per tree) and the latest synthesis. Fields added after the first release read
 * as their default when absent: a store must stay readable across upgrades (state written before
 * windows existed is an all-time tree with no windows).
 *
 * @param docIds covered document ids in arrival order (for the count, the recent ids and the
 *     digest)
 * @param chunkInputTokens LLM input tokens of the chunk summaries
 * @param synthesisInputTokens LLM input tokens of the synthesis calls
 * @param synthesisInFlight the requestId of the synthesis call in flight, or null
 * @param latest the latest synthesis, or null before the first
 * @param latestId the synthesis request id (a function of the top it covered) of {@code latest}
 * @param synthesisAskedAtMs wall-clock time of the latest synthesis call, for the per-key rate
 *     limit; absent: 0
 * @param window the window of a window tree; null (and absent) for the all-time tree
 * @param pendingChunks window tree: chunk requests sent and not answered yet; the tree collapses
 *     only once they are all in, so a document accepted before the close is never lost. Absent:
 *     none
 * @param closing window tree: its window closed; it collapses once {@code pendingChunks} is empty.
 *     Absent: false
 * @param windows all-time tree when windows are on: the key's stream time and open windows. Absent:
 *     none
 * @param pendingDocumentMs chunk requests sent and not answered yet, with the timestamp (epoch ms)
 *     of their document: replies do not carry it, and the synthesis lag is measured from the newest
 *     document a synthesis covers. Absent: none
 * @param newestDocumentMs the newest document timestamp (epoch ms) among the chunks in the tree;
 *     absent: 0 (unknown)
 * @param synthesisInFlightNewestMs {@code newestDocumentMs} when the synthesis in flight was asked
 *     for: what it covers, since chunks answered meanwhile are not in it. Absent: 0 (unknown)
 * @param spans the spans of the tree's work: its current round's trace, the spans started and not
 *     recorded yet, the latest synthesis's span. Absent: none
 * @param lineage the prompts and models of the LLM answers in the tree. Absent: none
 * @param docDigests the documents sent to this tree, by docId, with a digest of their text: a
 *     document sent again with the same text is the same document (its chunks are answered from the
 *     gateway's cache and count once), with other text it is refused, since the tree cannot take
 *     the first text back. Absent (state written before it existed): none, so such a tree tells a
 *     resend only by its chunk ids
 * @param failedChunks the chunk requests whose summary failed: the gateway keeps a failed reply by
 *     request id like any other, so a document sent again asks for those chunks under new ids
 *     ({@code <chunk id>~r<n>}) and the rest under their own. Absent: none
 */
public record SynthesisState(
    MergeTree tree,
    LinkedHashSet<String> docIds,
    long chunkInputTokens,
    long synthesisInputTokens,
    String synthesisInFlight,
    int synthesisInFlightLevel,
    Synthesis latest,
    String latestId,
    @JsonSetter(nulls = Nulls.AS_EMPTY) long synthesisAskedAtMs,
    Window window,
    LinkedHashSet<String> pendingChunks,
    @JsonSetter(nulls = Nulls.AS_EMPTY) boolean closing,
    Windows windows,
    Map<String, Long> pendingDocumentMs,
    @JsonSetter(nulls = Nulls.AS_EMPTY) long newestDocumentMs,
    @JsonSetter(nulls = Nulls.AS_EMPTY) long synthesisInFlightNewestMs,
    Spans spans,
    Lineage lineage,
    Map<String, String> docDigests,
    LinkedHashSet<String> failedChunks) {

  /**
   * The spans of a tree's work (the trace model is in {@link MergeSummaries}): mutable, like the
   * tree, and kept with it so that each span is recorded once, at its end, from what was committed.
   * Absent in state written before tracing existed: empty.
   */
  @JsonAutoDetect(
      fieldVisibility = JsonAutoDetect.Visibility.ANY,
      getterVisibility = JsonAutoDetect.Visibility.NONE,
      isGetterVisibility = JsonAutoDetect.Visibility.NONE)
  public static final class Spans {
    /** The context the tree's current round of work goes into; null while the tree is idle. */
    TraceContext round;

    /**
     * The context of the latest round: for work the tree takes up by itself once idle (a synthesis
     * held back by the rate limit, a failed merge retried).
     */
    TraceContext last;

    /** Spans started and not recorded yet, by request id (chunk, merge or synthesis). */
    Map<String, Open> open = new HashMap<>();

    /** The span of the latest synthesis, which a synthesis over it links to. */
    SpanRef latest;

    /**
     * The context new work goes into: the round's; when the tree is idle, the round opens in {@code
     * cause}'s context, or (no cause: work the tree takes up by itself) the latest round's. Null
     * when there is neither: the caller starts a new trace.
     */
    TraceContext enter(TraceContext cause) {
      if (round == null) {
        round = cause != null ? cause : last;
      }
      if (round != null) {
        last = round;
      }
      return round;
    }

    /** Ends the round once nothing is open: the tree's next work opens a new one. */
    void settle() {
      if (open.isEmpty()) {
        round = null;
      }
    }
  }

  /**
   * What a tree's syntheses are built from: the prompts and models of the LLM answers taken into
   * the tree (chunk summaries, merges, syntheses; for the all-time tree with windows on, also those
   * of its folded windows). Mutable, like the tree, and only grows. Absent in state written before
   * prompts were recorded: empty (the syntheses then name the prompts and models from there on).
   */
  @JsonAutoDetect(
      fieldVisibility = JsonAutoDetect.Visibility.ANY,
      getterVisibility = JsonAutoDetect.Visibility.NONE,
      isGetterVisibility = JsonAutoDetect.Visibility.NONE)
  public static final class Lineage {
    LinkedHashSet<PromptRef> prompts = new LinkedHashSet<>();
    LinkedHashSet<String> models = new LinkedHashSet<>();

    /** The prompt the gateway echoed on {@code reply}, and the model that answered. */
    void add(LlmReply reply) {
      if (reply.prompt() != null) {
        prompts.add(reply.prompt());
      }
      String model = reply.providerModel();
      if (model != null) {
        models.add(model);
      }
    }

    void addAll(Lineage other) {
      prompts.addAll(other.prompts);
      models.addAll(other.models);
    }
  }

  /**
   * A span started and not recorded yet: its name, the attributes known when it started, and the
   * spans it links to (the inputs of a merge or a synthesis).
   */
  record Open(SpanRef span, String name, Map<String, Object> attributes, List<SpanRef> links) {
    Open {
      attributes = attributes == null ? Map.of() : attributes;
      links = links == null ? List.of() : links.stream().filter(l -> l != null).toList();
    }
  }

  /**
   * The windows of a key, kept in its all-time entry.
   *
   * @param streamTimeMs the largest document timestamp seen for the key (epoch ms); absent: the
   *     earliest time
   * @param open start (epoch ms) of each window whose tree is not yet collapsed into the all-time
   *     tree
   * @param closedInputTokens LLM input tokens spent on windows already folded into the all-time
   *     tree
   * @param closedChunks chunks covered by those windows beyond the one leaf each of them is in the
   *     all-time tree
   * @param retained start of each folded window whose tree is still stored, for {@code GET
   *     /syntheses/{key}?window=}, until {@code summarizer.window.retention.ms} of stream time past
   *     its close. Absent: none (a tree folded before this field existed is kept)
   */
  public record Windows(
      @JsonSetter(nulls = Nulls.AS_EMPTY) long streamTimeMs,
      TreeSet<Long> open,
      @JsonSetter(nulls = Nulls.AS_EMPTY) long closedInputTokens,
      @JsonSetter(nulls = Nulls.AS_EMPTY) long closedChunks,
      TreeSet<Long> retained) {
    public Windows {
      open = open == null ? new TreeSet<>() : new TreeSet<>(open);
      retained = retained == null ? new TreeSet<>() : new TreeSet<>(retained);
    }

    /**
     * No window yet: a new value each time, never a shared one (the set of open windows is a
     * mutable field).
     */
    static Windows none() {
      return new Windows(Long.MIN_VALUE, new TreeSet<>(), 0, 0, new TreeSet<>());
    }

    /**
     * A document at {@code timestampMs} in the window starting at {@code startMs}: stream time
     * moves on.
     */
    Windows withDocument(long timestampMs, long startMs) {
      TreeSet<Long> next = new TreeSet<>(open);
      next.add(startMs);
      return new Windows(
          Math.max(streamTimeMs, timestampMs), next, closedInputTokens, closedChunks, retained);
    }

    Windows withFolded(long startMs, long inputTokens, long chunks) {
      TreeSet<Long> rest = new TreeSet<>(open);
      rest.remove(startMs);
      TreeSet<Long> kept = new TreeSet<>(retained);
      kept.add(startMs);
      return new Windows(
          streamTimeMs, rest, closedInputTokens + inputTokens, closedChunks + chunks, kept);
    }

    /** The folded window starting at {@code startMs} has its tree deleted. */
    Windows withDeleted(long startMs) {
      TreeSet<Long> kept = new TreeSet<>(retained);
      kept.remove(startMs);
      return new Windows(streamTimeMs, open, closedInputTokens, closedChunks, kept);
    }
  }

  public SynthesisState {
    docIds = docIds == null ? new LinkedHashSet<>() : docIds;
    pendingChunks = pendingChunks == null ? new LinkedHashSet<>() : pendingChunks;
    windows = windows == null ? Windows.none() : windows;
    pendingDocumentMs = pendingDocumentMs == null ? new HashMap<>() : pendingDocumentMs;
    spans = spans == null ? new Spans() : spans;
    lineage = lineage == null ? new Lineage() : lineage;
    docDigests = docDigests == null ? new HashMap<>() : docDigests;
    failedChunks = failedChunks == null ? new LinkedHashSet<>() : failedChunks;
  }

  static SynthesisState empty(MergeTree tree) {
    return empty(tree, null);
  }

  static SynthesisState empty(MergeTree tree, Window window) {
    return new SynthesisState(
        tree,
        new LinkedHashSet<>(),
        0,
        0,
        null,
        0,
        null,
        null,
        0,
        window,
        null,
        false,
        null,
        null,
        0,
        0,
        null,
        null,
        null,
        null);
  }

  SynthesisState withSynthesisInFlight(String requestId, int level, long inputTokens, long nowMs) {
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens,
        synthesisInputTokens + inputTokens,
        requestId,
        level,
        latest,
        latestId,
        nowMs,
        window,
        pendingChunks,
        closing,
        windows,
        pendingDocumentMs,
        newestDocumentMs,
        newestDocumentMs,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  SynthesisState withLatest(Synthesis synthesis, String id) {
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens,
        synthesisInputTokens,
        null,
        0,
        synthesis,
        id,
        synthesisAskedAtMs,
        window,
        pendingChunks,
        closing,
        windows,
        pendingDocumentMs,
        newestDocumentMs,
        0,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  SynthesisState withChunk(String docId, long inputTokens) {
    return withChunk(docId, inputTokens, 0);
  }

  /** A chunk is in the tree: its document is covered, at {@code documentMs} (0 when unknown). */
  SynthesisState withChunk(String docId, long inputTokens, long documentMs) {
    docIds.add(docId);
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens + inputTokens,
        synthesisInputTokens,
        synthesisInFlight,
        synthesisInFlightLevel,
        latest,
        latestId,
        synthesisAskedAtMs,
        window,
        pendingChunks,
        closing,
        windows,
        pendingDocumentMs,
        Math.max(newestDocumentMs, documentMs),
        synthesisInFlightNewestMs,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  SynthesisState withoutSynthesisInFlight() {
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens,
        synthesisInputTokens,
        null,
        0,
        latest,
        latestId,
        synthesisAskedAtMs,
        window,
        pendingChunks,
        closing,
        windows,
        pendingDocumentMs,
        newestDocumentMs,
        0,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  SynthesisState withClosing() {
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens,
        synthesisInputTokens,
        synthesisInFlight,
        synthesisInFlightLevel,
        latest,
        latestId,
        synthesisAskedAtMs,
        window,
        pendingChunks,
        true,
        windows,
        pendingDocumentMs,
        newestDocumentMs,
        synthesisInFlightNewestMs,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  SynthesisState withWindows(Windows next) {
    return new SynthesisState(
        tree,
        docIds,
        chunkInputTokens,
        synthesisInputTokens,
        synthesisInFlight,
        synthesisInFlightLevel,
        latest,
        latestId,
        synthesisAskedAtMs,
        window,
        pendingChunks,
        closing,
        next,
        pendingDocumentMs,
        newestDocumentMs,
        synthesisInFlightNewestMs,
        spans,
        lineage,
        docDigests,
        failedChunks);
  }

  /** Every LLM input token spent on this tree: chunk summaries, merges and synthesis calls. */
  long llmInputTokens() {
    return chunkInputTokens + tree.tokensSentToLlmTotal() + synthesisInputTokens;
  }
}
