package dev.llmstreams.events;

import java.time.Instant;
import java.util.Map;

/**
 * A document to summarize (topic role DOCUMENTS, keyed by the synthesis key it belongs to).
 *
 * @param docId unique per document; a document sent again with the same docId is not summarized
 *     twice
 * @param text the text, up to 10,000,000 characters; the summarizer chunks it
 * @param timestamp the event time of the document; windows are computed from it
 */
public record Document(String docId, String text, Instant timestamp, Map<String, String> metadata) {
  public Document {
    Require.text(docId, "docId");
    Require.present(text, "text");
    Require.present(timestamp, "timestamp");
    metadata = Require.map(metadata, "metadata");
  }
}
