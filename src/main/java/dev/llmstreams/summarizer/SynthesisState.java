package dev.llmstreams.summarizer;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import dev.llmstreams.events.Synthesis;
import java.util.LinkedHashSet;

/**
 * Everything the summarizer keeps for one synthesis key, in one state-store value: the merge tree, the
 * documents it covers, the synthesis request in flight (at most one per key) and the latest synthesis.
 *
 * @param docIds covered document ids in arrival order (for the count, the recent ids and the digest)
 * @param chunkInputTokens LLM input tokens of the chunk summaries
 * @param synthesisInputTokens LLM input tokens of the synthesis calls
 * @param synthesisInFlight the requestId of the synthesis call in flight, or null
 * @param latest the latest synthesis, or null before the first
 * @param latestId the synthesis request id (a function of the top it covered) of {@code latest}
 * @param synthesisAskedAtMs wall-clock time of the latest synthesis call, for the per-key rate limit; absent in
 *     state written before the rate limit existed, then 0 (a store must stay readable across upgrades)
 */
public record SynthesisState(MergeTree tree, LinkedHashSet<String> docIds, long chunkInputTokens,
    long synthesisInputTokens, String synthesisInFlight, int synthesisInFlightLevel, Synthesis latest,
    String latestId, @JsonSetter(nulls = Nulls.AS_EMPTY) long synthesisAskedAtMs) {

  public SynthesisState {
    docIds = docIds == null ? new LinkedHashSet<>() : docIds;
  }

  static SynthesisState empty(MergeTree tree) {
    return new SynthesisState(tree, new LinkedHashSet<>(), 0, 0, null, 0, null, null, 0);
  }

  SynthesisState withSynthesisInFlight(String requestId, int level, long inputTokens, long nowMs) {
    return new SynthesisState(tree, docIds, chunkInputTokens, synthesisInputTokens + inputTokens, requestId, level, latest,
        latestId, nowMs);
  }

  SynthesisState withLatest(Synthesis synthesis, String id) {
    return new SynthesisState(tree, docIds, chunkInputTokens, synthesisInputTokens, null, 0, synthesis, id,
        synthesisAskedAtMs);
  }

  SynthesisState withChunk(String docId, long inputTokens) {
    docIds.add(docId);
    return new SynthesisState(tree, docIds, chunkInputTokens + inputTokens, synthesisInputTokens, synthesisInFlight,
        synthesisInFlightLevel, latest, latestId, synthesisAskedAtMs);
  }

  SynthesisState withoutSynthesisInFlight() {
    return new SynthesisState(tree, docIds, chunkInputTokens, synthesisInputTokens, null, 0, latest, latestId,
        synthesisAskedAtMs);
  }

  /** Every LLM input token spent on this synthesis: chunk summaries, merges and synthesis calls. */
  long llmInputTokens() {
    return chunkInputTokens + tree.tokensSentToLlmTotal() + synthesisInputTokens;
  }
}
