package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * The current summary of all documents of one key and window (topic role SYNTHESES, compacted).
 *
 * @param key the synthesis key (the key of the documents)
 * @param window the time window; null for an all-time synthesis
 * @param level the height of the merge tree that produced the text (0 = a single chunk's summary)
 * @param documents how many documents the synthesis covers
 * @param chunks how many chunks the synthesis covers
 * @param sourceDocIds the ids of the covered documents, at most {@link #MAX_SOURCE_DOC_IDS} (the
 *     most recent)
 * @param sourceDigest {@link #sourceDigest(Collection)} of all covered document ids, to compare
 *     coverage exactly
 * @param llmInputTokens input tokens sent to LLMs so far to build this synthesis (the cost of the
 *     tree)
 * @param model the model that wrote the latest merge, as {@code provider/model}; optional
 * @param updatedAt the stream time of the latest update
 * @param prompts the prompts (id and version) of every LLM answer the synthesis is built from:
 *     chunk summaries, merges and synthesis calls; empty in syntheses written before it existed
 * @param models the models of those answers, as {@code provider/model}; empty in syntheses written
 *     before it existed
 */
public record Synthesis(
    String key,
    Window window,
    String text,
    @JsonProperty(required = true) int level,
    @JsonProperty(required = true) long documents,
    @JsonProperty(required = true) long chunks,
    List<String> sourceDocIds,
    String sourceDigest,
    @JsonProperty(required = true) long llmInputTokens,
    String model,
    Instant updatedAt,
    List<PromptRef> prompts,
    List<String> models) {

  public static final int MAX_SOURCE_DOC_IDS = 100;

  /** A synthesis naming no prompt and no model but {@code model}. */
  public Synthesis(
      String key,
      Window window,
      String text,
      int level,
      long documents,
      long chunks,
      List<String> sourceDocIds,
      String sourceDigest,
      long llmInputTokens,
      String model,
      Instant updatedAt) {
    this(
        key,
        window,
        text,
        level,
        documents,
        chunks,
        sourceDocIds,
        sourceDigest,
        llmInputTokens,
        model,
        updatedAt,
        null,
        null);
  }

  public Synthesis {
    Require.text(key, "key");
    Require.present(text, "text");
    Require.atLeast(level, 0, "level");
    Require.atLeast(documents, 0, "documents");
    Require.atLeast(chunks, 0, "chunks");
    sourceDocIds = Require.list(sourceDocIds, "sourceDocIds");
    Require.check(
        sourceDocIds.size() <= MAX_SOURCE_DOC_IDS,
        "field \"sourceDocIds\" holds at most "
            + MAX_SOURCE_DOC_IDS
            + " ids but had "
            + sourceDocIds.size());
    Require.sha256Hex(sourceDigest, "sourceDigest");
    Require.atLeast(llmInputTokens, 0, "llmInputTokens");
    Require.optionalText(model, "model");
    Require.present(updatedAt, "updatedAt");
    prompts = Require.list(prompts, "prompts");
    models = Require.list(models, "models");
  }

  /**
   * The record key on the syntheses topic: the key for all-time, {@code key@start/end} (ISO-8601)
   * per window.
   */
  public String recordKey() {
    return window == null ? key : key + "@" + window.start() + "/" + window.end();
  }

  /** sha-256, lower-case hex, of the sorted document ids joined by '\n' (UTF-8). */
  public static String sourceDigest(Collection<String> docIds) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] joined =
          String.join("\n", docIds.stream().sorted().toList()).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(sha.digest(joined));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
