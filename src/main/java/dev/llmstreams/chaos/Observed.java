package dev.llmstreams.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.summarizer.SummarizerTopology;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * What a chaos run saw on the output topics (read_committed): outputs per input id, the latest
 * synthesis per key, chunk requests per document, tool results per call, publications per goal,
 * dead letters. Fed record by record, by the live watcher during the run and by the final read.
 */
final class Observed {
  /**
   * A dead letter: where its record came from, why, and its value as text (to find input ids in
   * it).
   */
  record DeadLetter(Accounting.SourceOffset source, String stage, String reason, String text) {}

  private final String goalResults;
  private final String classifications;
  private final String syntheses;
  private final String llmRequests;
  private final String toolResults;
  private final String deadLetters;
  private final String published;
  private final String run;

  final Map<String, Integer> goalOutputs = new ConcurrentHashMap<>();
  final Map<String, Integer> goalStatuses = new ConcurrentHashMap<>();
  final Map<String, Integer> classificationOutputs = new ConcurrentHashMap<>();
  final Map<String, Integer> classificationSources = new ConcurrentHashMap<>();

  /** Latest synthesis document ids per record key (all-time and window). */
  final Map<String, List<String>> latestSynthesisDocs = new ConcurrentHashMap<>();

  /** Per document id, committed chunk-summary requests per requestId. */
  final Map<String, Map<String, Integer>> chunkRequests = new ConcurrentHashMap<>();

  /** Per callId, distinct committed results (JSON text) and how often each came. */
  final Map<String, Map<String, Integer>> toolResultsPerCall = new ConcurrentHashMap<>();

  final Map<String, Integer> publicationsPerGoal = new ConcurrentHashMap<>();
  final List<DeadLetter> deadLetterRecords =
      java.util.Collections.synchronizedList(new ArrayList<>());

  Observed(TopicCatalog catalog, String publishedTopic, String run) {
    this.goalResults = catalog.topic(Topics.GOAL_RESULTS).name();
    this.classifications = catalog.topic(Topics.CLASSIFICATIONS).name();
    this.syntheses = catalog.topic(Topics.SYNTHESES).name();
    this.llmRequests = catalog.topic(Topics.LLM_REQUESTS).name();
    this.toolResults = catalog.topic(Topics.TOOL_RESULTS).name();
    this.deadLetters = catalog.spec(dev.llmstreams.topics.TopicRole.DEAD_LETTERS).name();
    this.published = publishedTopic;
    this.run = run;
  }

  /** The topics this reads. */
  List<String> topics() {
    return List.of(
        goalResults, classifications, syntheses, llmRequests, toolResults, deadLetters, published);
  }

  void add(ConsumerRecord<byte[], byte[]> r) {
    String topic = r.topic();
    byte[] value = r.value();
    if (topic.equals(deadLetters)) {
      addDeadLetter(r);
      return;
    }
    if (value == null) {
      return;
    }
    try {
      if (topic.equals(goalResults)) {
        GoalResult g = Json.readerFor(GoalResult.class).<GoalResult>readValue(value);
        goalOutputs.merge(g.goalId(), 1, Integer::sum);
        goalStatuses.merge(g.status().name().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
      } else if (topic.equals(classifications)) {
        Classification c = Json.readerFor(Classification.class).<Classification>readValue(value);
        classificationOutputs.merge(c.eventId(), 1, Integer::sum);
        classificationSources.merge(c.source() == null ? "null" : c.source().id(), 1, Integer::sum);
      } else if (topic.equals(syntheses)) {
        Synthesis s = Json.readerFor(Synthesis.class).<Synthesis>readValue(value);
        latestSynthesisDocs.put(s.recordKey(), s.sourceDocIds());
      } else if (topic.equals(llmRequests)) {
        LlmRequest request = Json.readerFor(LlmRequest.class).<LlmRequest>readValue(value);
        if (SummarizerTopology.PURPOSE_CHUNK.equals(request.purpose())) {
          String doc = request.metadata().getOrDefault("docId", request.causationId());
          chunkRequests
              .computeIfAbsent(doc, d -> new ConcurrentHashMap<>())
              .merge(request.requestId(), 1, Integer::sum);
        }
      } else if (topic.equals(toolResults)) {
        ToolResult result = Json.readerFor(ToolResult.class).<ToolResult>readValue(value);
        toolResultsPerCall
            .computeIfAbsent(result.callId(), c -> new ConcurrentHashMap<>())
            .merge(new String(value, StandardCharsets.UTF_8), 1, Integer::sum);
      } else if (topic.equals(published)) {
        JsonNode record = Json.reader().readTree(value);
        if (run.equals(record.path("chaos").asText())) {
          publicationsPerGoal.merge(record.path("goalId").asText(), 1, Integer::sum);
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // Not this run's shape (the app wrote every record here; a record it cannot read is not an
      // output of ours).
    }
  }

  private void addDeadLetter(ConsumerRecord<byte[], byte[]> r) {
    String sourceTopic = header(r, DeadLetters.SOURCE_TOPIC);
    String partition = header(r, DeadLetters.SOURCE_PARTITION);
    String offset = header(r, DeadLetters.SOURCE_OFFSET);
    Accounting.SourceOffset source = null;
    if (sourceTopic != null && partition != null && offset != null) {
      try {
        source =
            new Accounting.SourceOffset(
                sourceTopic, Integer.parseInt(partition), Long.parseLong(offset));
      } catch (NumberFormatException e) {
        source = null;
      }
    }
    String text = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
    deadLetterRecords.add(
        new DeadLetter(
            source,
            header(r, DeadLetters.STAGE),
            String.valueOf(header(r, DeadLetters.EXCEPTION_MESSAGE)),
            text));
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String key) {
    Header h = r.headers().lastHeader(key);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Document ids listed by the latest synthesis of any key or window. */
  Set<String> documentsInSyntheses() {
    Set<String> out = new HashSet<>();
    latestSynthesisDocs.values().forEach(out::addAll);
    return out;
  }

  /** Source offsets of every dead letter. */
  Set<Accounting.SourceOffset> deadLetterSources() {
    Set<Accounting.SourceOffset> out = new HashSet<>();
    synchronized (deadLetterRecords) {
      deadLetterRecords.forEach(
          d -> {
            if (d.source() != null) {
              out.add(d.source());
            }
          });
    }
    return out;
  }

  /**
   * The input ids that appear in a dead letter other than the poison (in its value or its reason):
   * an input the app refused, or a step of it that failed for good (e.g. a chunk summary the LLM
   * never gave).
   */
  Set<String> deadLetteredInputs(
      Set<String> inputIds,
      Set<Accounting.SourceOffset> poison,
      java.util.regex.Pattern idPattern) {
    Set<String> out = new HashSet<>();
    synchronized (deadLetterRecords) {
      for (DeadLetter d : deadLetterRecords) {
        if (d.source() != null && poison.contains(d.source())) {
          continue;
        }
        for (String text : List.of(d.text(), d.reason())) {
          java.util.regex.Matcher m = idPattern.matcher(text);
          while (m.find()) {
            if (inputIds.contains(m.group())) {
              out.add(m.group());
            }
          }
        }
      }
    }
    return out;
  }

  /** Dead letters per source topic and stage. */
  Map<String, Integer> deadLettersBySource() {
    Map<String, Integer> out = new TreeMap<>();
    synchronized (deadLetterRecords) {
      deadLetterRecords.forEach(
          d ->
              out.merge(
                  (d.source() == null ? "?" : d.source().topic()) + " (" + d.stage() + ")",
                  1,
                  Integer::sum));
    }
    return out;
  }

  static Map<String, Integer> copy(Map<String, Integer> m) {
    return new HashMap<>(m);
  }
}
