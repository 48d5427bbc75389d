package dev.llmstreams.summarizer;

import dev.llmstreams.events.Window;
import java.time.Instant;

/**
 * Tumbling windows of a document's event time, and the names they give to store entries and request
 * ids. Plain Java, no Kafka.
 *
 * <p>A window {@code [start, start + size)} is <em>closed</em> once the key's stream time (the
 * largest document timestamp seen for that key) reaches {@code start + size + grace}. Stream time
 * is kept per key, not per task: a key's windows then close by that key's own documents only,
 * whatever other keys share its partition, and the answer does not change when partitions are
 * reassigned. The price: the last window of a key that stops receiving documents stays open (its
 * synthesis is current, just not pruned).
 *
 * <p>Names: the tree of window {@code start} of key {@code k} is stored under, and names its
 * requests after, {@code k@<start epoch ms>}; chunk request ids are {@code <tree>/<docId>/<index>};
 * the all-time tree keeps the bare key. The key itself may contain {@code @} or {@code /}: parsing
 * always strips the known key first.
 *
 * @param sizeMs window size; 0 disables windows (one all-time tree per key)
 * @param graceMs how long after its end a window still takes late documents
 * @param retentionMs how long (in the key's stream time) a closed window's tree is kept after its
 *     close, to be queried
 * @param aheadMaxMs how far ahead of the wall clock a document's timestamp may be (with windows off
 *     too): one further ahead would move its key's stream time into the future and close every
 *     window the key has or will have, so that all its later documents are too late
 */
record Windowing(long sizeMs, long graceMs, long retentionMs, long aheadMaxMs) {
  static final Windowing NONE = new Windowing(0, 0);

  Windowing {
    if (sizeMs < 0 || graceMs < 0 || retentionMs < 0 || aheadMaxMs < 0) {
      throw new IllegalArgumentException(
          "window size, grace and retention must be >= 0 but were "
              + sizeMs
              + ", "
              + graceMs
              + ", "
              + retentionMs
              + " (ahead: "
              + aheadMaxMs
              + ")");
    }
  }

  /** No bound on how far ahead of the clock a document may be. */
  Windowing(long sizeMs, long graceMs, long retentionMs) {
    this(sizeMs, graceMs, retentionMs, Long.MAX_VALUE);
  }

  /**
   * Whether {@code timestamp} is more than {@link #aheadMaxMs} ahead of {@code nowMs}, or beyond
   * what epoch milliseconds can hold.
   */
  boolean tooFarAhead(Instant timestamp, long nowMs) {
    if (timestamp.isAfter(Instant.ofEpochMilli(Long.MAX_VALUE))) {
      return true;
    }
    long ms = timestamp.toEpochMilli();
    return ms > nowMs && ms - nowMs > aheadMaxMs;
  }

  /** Windows whose trees are kept for good once closed. */
  Windowing(long sizeMs, long graceMs) {
    this(sizeMs, graceMs, Long.MAX_VALUE);
  }

  boolean enabled() {
    return sizeMs > 0;
  }

  /**
   * The start of the window holding event time {@code timestampMs} (floor, also for times before
   * 1970).
   */
  long startOf(long timestampMs) {
    return Math.floorDiv(timestampMs, sizeMs) * sizeMs;
  }

  Window window(long startMs) {
    return new Window(Instant.ofEpochMilli(startMs), Instant.ofEpochMilli(startMs + sizeMs));
  }

  /**
   * True when the window starting at {@code startMs} takes no more documents at this stream time.
   */
  boolean closed(long startMs, long streamTimeMs) {
    return startMs + sizeMs + graceMs <= streamTimeMs;
  }

  /**
   * True when the closed window starting at {@code startMs} is past its retention at this stream
   * time: its tree, kept until then for queries, is deleted.
   */
  boolean expired(long startMs, long streamTimeMs) {
    long closesAt = startMs + sizeMs + graceMs;
    return closed(startMs, streamTimeMs) && streamTimeMs - closesAt >= retentionMs;
  }

  static String treeKey(String key, long startMs) {
    return key + "@" + startMs;
  }

  /**
   * The store key of the tree a request id (chunk, merge or synthesis) belongs to: {@code
   * key@start} when the id starts so, else the key (the all-time tree, and every id written before
   * windows existed).
   */
  static String treeKeyOf(String key, String requestId) {
    String prefix = key + "@";
    if (requestId.startsWith(prefix)) {
      int end = prefix.length();
      while (end < requestId.length()
          && (Character.isDigit(requestId.charAt(end)) || requestId.charAt(end) == '-')) {
        end++;
      }
      if (end > prefix.length() && (end == requestId.length() || requestId.charAt(end) == '/')) {
        return requestId.substring(0, end);
      }
    }
    return key;
  }

  /** The document id inside a chunk request id {@code tree/docId/index}. */
  static String docIdOf(String key, String requestId) {
    String tree = treeKeyOf(key, requestId);
    String rest =
        requestId.startsWith(tree + "/") ? requestId.substring(tree.length() + 1) : requestId;
    int slash = rest.lastIndexOf('/');
    return slash < 0 ? rest : rest.substring(0, slash);
  }
}
