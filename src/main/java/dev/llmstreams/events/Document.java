package dev.llmstreams.events;

import java.time.Instant;
import java.util.Map;

/**
 * A document to summarize (topic role DOCUMENTS, keyed by the synthesis key it belongs to).
 *
 * @param docId unique per document; a document sent again with the same docId is not summarized
 *     twice
 * @param text the text, up to 10,000,000 characters; the summarizer chunks it
 * @param timestamp the event time of the document; windows are computed from it. Optional: a
 *     document without one takes its Kafka record's timestamp ({@link #atRecordTime})
 */
public record Document(String docId, String text, Instant timestamp, Map<String, String> metadata) {
  public Document {
    Require.text(docId, "docId");
    Require.present(text, "text");
    metadata = Require.map(metadata, "metadata");
  }

  /**
   * This document, or, when it names no {@code timestamp}, a copy whose timestamp is its Kafka
   * record's ({@code recordTimestampMs}: the producer's CreateTime, or the broker's LogAppendTime
   * on a topic configured so), as Kafka Streams itself takes event time.
   */
  public Document atRecordTime(long recordTimestampMs) {
    return timestamp != null
        ? this
        : new Document(docId, text, Instant.ofEpochMilli(recordTimestampMs), metadata);
  }
}
