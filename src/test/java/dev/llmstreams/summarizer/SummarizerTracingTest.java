package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.Usage;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.trace.SpanContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The summarizer's spans: {@code summarize_chunk} under the document's {@code traceparent}, {@code
 * merge_summaries} linked to the summaries it merges, {@code synthesize} with the synthesis written
 * under it; a burst of documents summarized in one trace. The gateway is played by {@link
 * #answerAll}.
 */
class SummarizerTracingTest {
  private static final Instant NINE = Instant.parse("2026-11-02T09:00:00Z");
  private static final Pattern SUMMARY_OF = Pattern.compile("summary of (\\S+)");

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  @TempDir Path stateDir;
  private TopologyTestDriver driver;
  private TestInputTopic<String, Document> documents;
  private TestInputTopic<String, LlmReply> replies;
  private TestOutputTopic<String, LlmRequest> requests;
  private TestOutputTopic<String, Synthesis> syntheses;
  private TestOutputTopic<String, SpanRecord> spans;

  /** Every LLM request seen, by request id, with the headers it was written with. */
  private final Map<String, TestRecord<String, LlmRequest>> asked = new LinkedHashMap<>();

  /** Replies that fail instead of answering, by request id. */
  private final Map<String, LlmError> failing = new HashMap<>();

  private void start(boolean tracing) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.SUMMARIZER_CHUNK_TOKENS,
                "64",
                AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS,
                "0",
                AppConfig.SUMMARIZER_MERGE_FAN_IN,
                "3",
                AppConfig.SUMMARIZER_MERGE_TOKEN_BUDGET,
                "100000",
                AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
                "0",
                AppConfig.SUMMARIZER_WINDOW_MS,
                "3600000",
                AppConfig.SUMMARIZER_WINDOW_GRACE_MS,
                "1800000",
                AppConfig.STATE_DIR,
                stateDir.toString()));
    if (tracing) {
      settings.put(AppConfig.TRACING_ENABLED, "true");
    }
    AppConfig config = AppConfig.of(settings);
    driver =
        TestDrivers.create(
            new SummarizerModule().topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "summarizer", registry));
    documents = DriverTopics.input(driver, catalog.topic(Topics.DOCUMENTS));
    replies = DriverTopics.input(driver, catalog.topic(Topics.SUMMARIZER_LLM_REPLIES));
    requests = DriverTopics.output(driver, catalog.topic(Topics.LLM_REQUESTS));
    syntheses = DriverTopics.output(driver, catalog.topic(Topics.SYNTHESES));
    spans = DriverTopics.output(driver, catalog.topic(Topics.SPANS));
  }

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
  }

  // ---- helpers

  private static String traceId(int n) {
    return String.format("4bf92f3577b34da6a3ce929d0e0e%04x", n);
  }

  private static String spanId(int n) {
    return String.format("00f067aa0ba9%04x", n);
  }

  private static String traceparent(String traceId, String spanId) {
    return "00-" + traceId + "-" + spanId + "-01";
  }

  /** Sends a document of about two chunks, with a {@code traceparent} when one is given. */
  private void send(String docId, String traceparent) {
    Headers headers = new RecordHeaders();
    if (traceparent != null) {
      headers.add(TraceHeaders.TRACEPARENT, traceparent.getBytes(StandardCharsets.UTF_8));
    }
    documents.pipeInput(
        new TestRecord<>(
            "m1",
            new Document(
                docId,
                "Notes of " + docId + ": the team agreed to ship in March. ".repeat(12),
                NINE.plusSeconds(60),
                Map.of()),
            headers,
            NINE.plusSeconds(60)));
  }

  /** Plays the gateway: answers every request, and those the answers cause, until none is left. */
  private void answerAll() {
    while (!requests.isEmpty()) {
      for (TestRecord<String, LlmRequest> r : requests.readRecordsToList()) {
        asked.put(r.value().requestId(), r);
        answer(r);
      }
    }
  }

  /** The reply, under a chat span of the request's span (as the gateway writes it). */
  private void answer(TestRecord<String, LlmRequest> r) {
    LlmRequest q = r.value();
    LlmError error = failing.get(q.requestId());
    Headers headers = new RecordHeaders();
    SpanContext parent = TraceHeaders.read(r.headers());
    headers.add(
        TraceHeaders.TRACEPARENT,
        traceparent(parent.getTraceId(), spanId(0xcafe)).getBytes(StandardCharsets.UTF_8));
    replies.pipeInput(
        new TestRecord<>(
            q.correlationId(),
            new LlmReply(
                q.requestId(),
                q.correlationId(),
                q.purpose(),
                error != null ? null : "summary of " + q.requestId(),
                List.of(),
                error != null ? null : "stop",
                error != null ? Usage.ZERO : new Usage(100, 20),
                0.0,
                5,
                "offline",
                "engine",
                false,
                error),
            headers,
            r.timestamp()));
  }

  private static SpanContext context(Headers headers) {
    SpanContext c = TraceHeaders.read(headers);
    assertThat(c.isValid()).as("a valid traceparent").isTrue();
    return c;
  }

  private List<SpanRecord> spansNamed(List<SpanRecord> all, String name) {
    return all.stream().filter(s -> s.name().equals(name)).toList();
  }

  /** A span's attributes, whole numbers as longs (JSON reads small ones back as ints). */
  private static Map<String, Object> attributes(SpanRecord s) {
    Map<String, Object> out = new LinkedHashMap<>();
    s.attributes()
        .forEach((k, v) -> out.put(k, v instanceof Integer i ? Long.valueOf(i.longValue()) : v));
    return out;
  }

  private static Set<String> linked(SpanRecord s) {
    Set<String> out = new HashSet<>();
    s.links().forEach(l -> out.add(l.spanId()));
    return out;
  }

  /** The request ids whose summaries an LLM request merges (their text names them). */
  private static List<String> inputsOf(LlmRequest q) {
    List<String> ids = new ArrayList<>();
    Matcher m = SUMMARY_OF.matcher(q.messages().get(1).content());
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  // ---- tests

  @Test
  void shouldSummarizeEachChunkUnderItsOwnSpanInTheDocumentsTrace() {
    start(true);
    send("d1", traceparent(traceId(1), spanId(1)));
    List<TestRecord<String, LlmRequest>> chunks = requests.readRecordsToList();
    assertThat(chunks).hasSizeGreaterThan(1);
    Set<String> chunkSpanIds = new HashSet<>();
    for (TestRecord<String, LlmRequest> r : chunks) {
      SpanContext c = context(r.headers());
      assertThat(c.getTraceId()).isEqualTo(traceId(1));
      assertThat(c.isSampled()).isTrue();
      assertThat(c.getSpanId()).isNotEqualTo(spanId(1));
      chunkSpanIds.add(c.getSpanId());
    }
    assertThat(chunkSpanIds).as("a span per chunk").hasSize(chunks.size());
    assertThat(spans.isEmpty()).as("recorded when the summary comes, not before").isTrue();

    LlmRequest failed = chunks.get(chunks.size() - 1).value();
    failing.put(
        failed.requestId(), new LlmError(LlmError.Code.PROVIDER_ERROR, "HTTP 503", true, 4));
    for (TestRecord<String, LlmRequest> r : chunks) {
      asked.put(r.value().requestId(), r);
      answer(r);
    }
    List<SpanRecord> recorded = spans.readValuesToList();
    List<SpanRecord> chunkSpans = spansNamed(recorded, "summarize_chunk");
    assertThat(chunkSpans).hasSize(chunks.size());
    for (SpanRecord s : chunkSpans) {
      String requestId = (String) attributes(s).get("llmstreams.llm.request.id");
      TestRecord<String, LlmRequest> request = asked.get(requestId);
      assertThat(s.spanId()).isEqualTo(context(request.headers()).getSpanId());
      assertThat(s.traceId()).isEqualTo(traceId(1));
      assertThat(s.parentSpanId()).as("a child of the document's context").isEqualTo(spanId(1));
      assertThat(s.kind()).isEqualTo("INTERNAL");
      assertThat(attributes(s))
          .containsEntry("gen_ai.conversation.id", "m1")
          .containsEntry("llmstreams.summarizer.document.id", "d1")
          .containsEntry(
              "llmstreams.summarizer.chunk.index",
              Long.parseLong(request.value().metadata().get("chunk")))
          .containsEntry("llmstreams.summarizer.chunks", (long) chunks.size())
          .containsEntry("llmstreams.summarizer.level", 0L)
          .containsEntry("llmstreams.summarizer.inputs", 1L);
      if (requestId.equals(failed.requestId())) {
        assertThat(s.status()).isEqualTo("ERROR");
        assertThat(s.statusMessage()).isEqualTo("HTTP 503");
        assertThat(attributes(s)).containsEntry("error.type", "provider_error");
      } else {
        assertThat(s.status()).isEqualTo("OK");
      }
    }

    // A repeated reply records no second span.
    answer(chunks.get(0));
    assertThat(spansNamed(spans.readValuesToList(), "summarize_chunk")).isEmpty();
  }

  @Test
  void shouldStartANewTraceForADocumentWithoutTraceparent() {
    start(true);
    send("d1", null);
    List<TestRecord<String, LlmRequest>> chunks = requests.readRecordsToList();
    Set<String> traces = new HashSet<>();
    chunks.forEach(r -> traces.add(context(r.headers()).getTraceId()));
    assertThat(traces).as("one new trace for the document").hasSize(1);
    String trace = traces.iterator().next();

    chunks.forEach(r -> asked.put(r.value().requestId(), r));
    chunks.forEach(this::answer);
    answerAll();
    List<SpanRecord> recorded = spans.readValuesToList();
    assertThat(spansNamed(recorded, "summarize_chunk"))
        .hasSize(chunks.size())
        .allSatisfy(
            s -> {
              assertThat(s.traceId()).isEqualTo(trace);
              assertThat(s.parentSpanId()).as("the top of the new trace").isNull();
            });
    assertThat(recorded)
        .as("the document's merges and syntheses are in its trace")
        .allSatisfy(s -> assertThat(s.traceId()).isEqualTo(trace));
    assertThat(spansNamed(recorded, "synthesize")).isNotEmpty();
  }

  @Test
  void shouldSummarizeABurstOfFiveDocumentsInOneTraceLinkedToEachDocumentsChunks() {
    start(true);
    for (int d = 1; d <= 5; d++) {
      send("d" + d, traceparent(traceId(d), spanId(d)));
    }
    answerAll();
    List<SpanRecord> recorded = spans.readValuesToList();
    Map<String, SpanRecord> byId = new HashMap<>();
    recorded.forEach(s -> assertThat(byId.put(s.spanId(), s)).as("recorded once").isNull());

    // Chunks: in their document's trace, under its traceparent.
    List<SpanRecord> chunkSpans = spansNamed(recorded, "summarize_chunk");
    assertThat(chunkSpans)
        .allSatisfy(
            s -> {
              int d =
                  Integer.parseInt(
                      ((String) attributes(s).get("llmstreams.summarizer.document.id"))
                          .substring(1));
              assertThat(s.traceId()).isEqualTo(traceId(d));
              assertThat(s.parentSpanId()).isEqualTo(spanId(d));
            });
    assertThat(chunkSpans)
        .extracting(s -> attributes(s).get("llmstreams.summarizer.document.id"))
        .contains("d1", "d2", "d3", "d4", "d5");

    // Merges and syntheses: in the trace of the document that started the burst, d1.
    List<SpanRecord> merges = spansNamed(recorded, "merge_summaries");
    List<SpanRecord> synthesized = spansNamed(recorded, "synthesize");
    assertThat(merges).isNotEmpty();
    assertThat(synthesized).isNotEmpty();
    List<SpanRecord> work = new ArrayList<>(merges);
    work.addAll(synthesized);
    assertThat(work)
        .allSatisfy(
            s -> {
              assertThat(s.traceId()).isEqualTo(traceId(1));
              assertThat(s.parentSpanId()).isEqualTo(spanId(1));
              assertThat(s.kind()).isEqualTo("INTERNAL");
              assertThat(s.status()).isEqualTo("OK");
              assertThat(attributes(s)).containsEntry("gen_ai.conversation.id", "m1");
            });

    // Each LLM request is sent under its span; a merge links to the spans of what it merges.
    Map<String, String> spanOfRequest = new HashMap<>();
    asked.forEach((id, r) -> spanOfRequest.put(id, context(r.headers()).getSpanId()));
    for (SpanRecord m : merges) {
      String mergeId = (String) attributes(m).get("llmstreams.summarizer.merge.id");
      TestRecord<String, LlmRequest> request = asked.get(mergeId);
      assertThat(context(request.headers()).getTraceId()).isEqualTo(traceId(1));
      assertThat(spanOfRequest.get(mergeId)).isEqualTo(m.spanId());
      List<String> inputs = inputsOf(request.value());
      assertThat(attributes(m))
          .containsEntry("llmstreams.summarizer.inputs", (long) inputs.size())
          .containsEntry("llmstreams.summarizer.tree", "window")
          .containsEntry("llmstreams.summarizer.window.start", "2026-11-02T09:00:00Z")
          .containsEntry("llmstreams.summarizer.window.end", "2026-11-02T10:00:00Z");
      assertThat(linked(m))
          .as("links of %s", mergeId)
          .containsExactlyInAnyOrderElementsOf(inputs.stream().map(spanOfRequest::get).toList());
      m.links().forEach(l -> assertThat(byId.get(l.spanId()).traceId()).isEqualTo(l.traceId()));
    }
    assertThat(merges.stream().flatMap(m -> m.links().stream()).map(SpanRecord.Link::traceId))
        .as("merges link to the other documents' traces")
        .contains(traceId(2), traceId(3), traceId(4), traceId(5));

    // Syntheses are written under their span, which says what they cover.
    List<TestRecord<String, Synthesis>> written = syntheses.readRecordsToList();
    assertThat(written).hasSameSizeAs(synthesized);
    for (TestRecord<String, Synthesis> w : written) {
      SpanContext c = context(w.headers());
      SpanRecord s = byId.get(c.getSpanId());
      assertThat(s.name()).isEqualTo("synthesize");
      assertThat(c.getTraceId()).isEqualTo(traceId(1));
      assertThat(attributes(s))
          .containsEntry("llmstreams.summarizer.synthesis.key", w.key())
          .containsEntry("llmstreams.summarizer.documents", w.value().documents())
          .containsEntry("llmstreams.summarizer.chunks", w.value().chunks())
          .containsEntry("llmstreams.summarizer.level", (long) w.value().level())
          .containsKey("llmstreams.summarizer.depth")
          .containsKey("llmstreams.summarizer.inputs");
    }
    Map<String, TestRecord<String, Synthesis>> latest = new LinkedHashMap<>();
    written.forEach(w -> latest.put(w.key(), w));
    TestRecord<String, Synthesis> window =
        latest.get("m1@2026-11-02T09:00:00Z/2026-11-02T10:00:00Z");
    assertThat(window.value().documents()).isEqualTo(5);
    SpanRecord windowSpan = byId.get(context(window.headers()).getSpanId());
    assertThat(attributes(windowSpan))
        .containsEntry("llmstreams.summarizer.window.start", "2026-11-02T09:00:00Z")
        .containsEntry("llmstreams.summarizer.window.end", "2026-11-02T10:00:00Z")
        .containsEntry("llmstreams.summarizer.documents", 5L);

    // From the window's synthesis, its links reach every chunk of the five documents.
    Set<String> reached = new HashSet<>();
    ArrayDeque<String> todo = new ArrayDeque<>(linked(windowSpan));
    while (!todo.isEmpty()) {
      String id = todo.pop();
      if (reached.add(id)) {
        todo.addAll(linked(byId.get(id)));
      }
    }
    assertThat(reached)
        .containsAll(chunkSpans.stream().map(SpanRecord::spanId).toList())
        .allSatisfy(id -> assertThat(byId).containsKey(id));

    // The all-time synthesis links to the window's.
    SpanRecord allTime = byId.get(context(latest.get("m1").headers()).getSpanId());
    assertThat(allTime.traceId()).isEqualTo(traceId(1));
    assertThat(attributes(allTime)).containsEntry("llmstreams.summarizer.tree", "all-time");
    assertThat(linked(allTime)).contains(windowSpan.spanId());
  }

  @Test
  void shouldPutEverythingInOneTraceWhenTheDocumentsShareTheirTraceparent() {
    start(true);
    String parent = traceparent(traceId(7), spanId(7));
    for (int d = 1; d <= 3; d++) {
      send("d" + d, parent);
    }
    answerAll();
    assertThat(asked.values())
        .allSatisfy(r -> assertThat(context(r.headers()).getTraceId()).isEqualTo(traceId(7)));
    List<SpanRecord> recorded = spans.readValuesToList();
    assertThat(recorded)
        .extracting(SpanRecord::name)
        .contains("summarize_chunk", "merge_summaries", "synthesize");
    assertThat(recorded)
        .allSatisfy(
            s -> {
              assertThat(s.traceId()).isEqualTo(traceId(7));
              assertThat(s.parentSpanId()).isEqualTo(spanId(7));
            });
    assertThat(syntheses.readRecordsToList())
        .allSatisfy(r -> assertThat(context(r.headers()).getTraceId()).isEqualTo(traceId(7)));
  }

  @Test
  void shouldRecordAFailedMergeAsAnErrorAndItsRetryAsANewSpan() {
    start(true);
    for (int d = 1; d <= 3; d++) {
      send("d" + d, traceparent(traceId(d), spanId(d)));
    }
    List<TestRecord<String, LlmRequest>> chunks = requests.readRecordsToList();
    for (TestRecord<String, LlmRequest> r : chunks) {
      asked.put(r.value().requestId(), r);
      answer(r);
    }
    TestRecord<String, LlmRequest> merge =
        requests.readRecordsToList().stream()
            .filter(r -> r.value().purpose().equals("summarizer.merge"))
            .findFirst()
            .orElseThrow();
    failing.put(
        merge.value().requestId(), new LlmError(LlmError.Code.PROVIDER_ERROR, "HTTP 503", true, 4));
    answer(merge);
    SpanRecord failed =
        spansNamed(spans.readValuesToList(), "merge_summaries").stream()
            .filter(s -> s.spanId().equals(context(merge.headers()).getSpanId()))
            .findFirst()
            .orElseThrow();
    assertThat(failed.status()).isEqualTo("ERROR");
    assertThat(attributes(failed)).containsEntry("error.type", "provider_error");
    assertThat(failed.links()).hasSize(inputsOf(merge.value()).size());

    driver.advanceWallClockTime(java.time.Duration.ofSeconds(31)); // the retry back-off
    TestRecord<String, LlmRequest> retry =
        requests.readRecordsToList().stream()
            .filter(r -> r.value().purpose().equals("summarizer.merge"))
            .findFirst()
            .orElseThrow();
    assertThat(retry.value().requestId()).isNotEqualTo(merge.value().requestId());
    SpanContext retried = context(retry.headers());
    assertThat(retried.getSpanId()).isNotEqualTo(failed.spanId());
    assertThat(retried.getTraceId())
        .as("in the trace of the merge it retries")
        .isEqualTo(failed.traceId());
    answer(retry);
    SpanRecord ok =
        spansNamed(spans.readValuesToList(), "merge_summaries").stream()
            .filter(s -> s.spanId().equals(retried.getSpanId()))
            .findFirst()
            .orElseThrow();
    assertThat(ok.status()).isEqualTo("OK");
    assertThat(linked(ok)).isEqualTo(linked(failed));
  }

  @Test
  void shouldWriteTraceparentOnEveryOutputButRecordNoSpanWhenTracingIsOff() {
    start(false);
    send("d1", traceparent(traceId(3), spanId(3)));
    send("d2", traceparent(traceId(3), spanId(3)));
    send("d3", null);
    answerAll();
    assertThat(asked).isNotEmpty();
    assertThat(asked.values())
        .allSatisfy(r -> assertThat(TraceHeaders.read(r.headers()).isValid()).isTrue());
    assertThat(
            asked.values().stream()
                .filter(r -> r.value().purpose().equals("summarizer.chunk"))
                .filter(r -> r.value().causationId().equals("d1")))
        .allSatisfy(
            r -> {
              SpanContext c = context(r.headers());
              assertThat(c.getTraceId()).isEqualTo(traceId(3));
              assertThat(c.isSampled()).as("the producer's decision, carried on").isTrue();
            });
    List<TestRecord<String, Synthesis>> written = syntheses.readRecordsToList();
    assertThat(written)
        .isNotEmpty()
        .allSatisfy(r -> assertThat(TraceHeaders.read(r.headers()).isValid()).isTrue());
    assertThat(spans.isEmpty()).as("no span is recorded").isTrue();
  }
}
