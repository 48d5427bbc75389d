package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.Usage;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.trace.SpanContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * The specialist's {@code classify {model}} span: a child of the request's {@code traceparent},
 * from the event's arrival to its final classification, which is written under it; an escalation's
 * LLM request carries it. Built by the module, beside the classify tool (whose sink is {@code
 * tools.spans}).
 */
class SpecialistTracingTest {
  private static final Instant START = Instant.parse("2026-11-28T08:00:00Z");
  private static final Duration TICK = Duration.ofMillis(100);
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  @TempDir Path stateDir;
  private TopologyTestDriver driver;
  private TestInputTopic<String, ClassificationRequest> requests;
  private TestInputTopic<String, LlmReply> replies;
  private TestInputTopic<String, SpecialistModel> models;
  private TestOutputTopic<String, Classification> classifications;
  private TestOutputTopic<String, LlmRequest> llmRequests;
  private TestOutputTopic<String, LabelEvent> labelsOut;
  private TestOutputTopic<String, SpanRecord> spans;

  private void start(boolean tracing, String threshold) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.SPECIALIST_TICK_MS,
                Long.toString(TICK.toMillis()),
                AppConfig.SPECIALIST_THRESHOLD,
                threshold,
                AppConfig.SPECIALIST_ESCALATION_TIMEOUT_MS,
                "1000",
                AppConfig.STATE_DIR,
                stateDir.toString()));
    if (tracing) {
      settings.put(AppConfig.TRACING_ENABLED, "true");
    }
    AppConfig config = AppConfig.of(settings);
    SpecialistModule module =
        new SpecialistModule(TestBayesClassifier.loader(), ModelRetrainer.none());
    driver =
        TestDrivers.create(
            module.topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "specialist", registry),
            START);
    requests = DriverTopics.input(driver, catalog.topic(Topics.CLASSIFICATION_REQUESTS));
    replies = DriverTopics.input(driver, catalog.topic(Topics.SPECIALIST_LLM_REPLIES));
    models = DriverTopics.input(driver, catalog.topic(Topics.SPECIALIST_MODELS));
    classifications = DriverTopics.output(driver, catalog.topic(Topics.CLASSIFICATIONS));
    llmRequests = DriverTopics.output(driver, catalog.topic(Topics.LLM_REQUESTS));
    labelsOut = DriverTopics.output(driver, catalog.topic(Topics.LABELS));
    spans = DriverTopics.output(driver, catalog.topic(Topics.SPANS));
  }

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
  }

  // ---- helpers

  private static TestBayesClassifier model(String version, int perLabel) {
    Intents intents = new Intents(7);
    List<LabeledText> examples = new ArrayList<>();
    for (String label : Intents.LABELS) {
      for (int i = 0; i < perLabel; i++) {
        examples.add(intents.next(label));
      }
    }
    return TestBayesClassifier.train("banking77", version, 0.5, Intents.LABELS, examples);
  }

  private void publish(TestBayesClassifier model) {
    models.pipeInput(model.name(), model.record());
  }

  /** A request, under {@code PARENT} of {@code TRACE} when {@code traced}. */
  private void classify(String eventId, String text, boolean traced) {
    Headers headers = new RecordHeaders();
    if (traced) {
      headers.add(
          TraceHeaders.TRACEPARENT,
          ("00-" + TRACE + "-" + PARENT + "-01").getBytes(StandardCharsets.UTF_8));
    }
    requests.pipeInput(
        new TestRecord<>(
            eventId, new ClassificationRequest(eventId, text, null), headers, (Instant) null));
  }

  private static LlmReply reply(LlmRequest request, String content, LlmError error) {
    return new LlmReply(
        request.requestId(),
        request.correlationId(),
        request.purpose(),
        content,
        List.of(),
        error == null ? "stop" : null,
        error == null ? new Usage(300, 12) : Usage.ZERO,
        0.0004,
        850,
        "openai",
        "gpt-4o-mini",
        false,
        error);
  }

  private static SpanContext context(Headers headers) {
    SpanContext c = TraceHeaders.read(headers);
    assertThat(c.isValid()).as("a valid traceparent").isTrue();
    return c;
  }

  /** A span's attributes, whole numbers as longs (JSON reads small ones back as ints). */
  private static Map<String, Object> attributes(SpanRecord s) {
    Map<String, Object> out = new LinkedHashMap<>();
    s.attributes()
        .forEach((k, v) -> out.put(k, v instanceof Integer i ? Long.valueOf(i.longValue()) : v));
    return out;
  }

  // ---- tests

  @Test
  void shouldRecordAClassifySpanUnderTheRequestsTraceparentAndWriteTheLabelUnderIt() {
    start(true, "0.5");
    publish(model("v1", 20));
    classify("e1", "my new card has still not arrived in the post, waiting for delivery", true);

    TestRecord<String, Classification> out = classifications.readRecord();
    SpanContext written = context(out.headers());
    assertThat(written.getTraceId()).isEqualTo(TRACE);
    List<SpanRecord> recorded = spans.readValuesToList();
    assertThat(recorded).hasSize(1);
    SpanRecord s = recorded.get(0);
    assertThat(s.name()).isEqualTo("classify banking77");
    assertThat(s.kind()).isEqualTo("INTERNAL");
    assertThat(s.traceId()).isEqualTo(TRACE);
    assertThat(s.parentSpanId()).isEqualTo(PARENT);
    assertThat(s.spanId()).isEqualTo(written.getSpanId());
    assertThat(s.status()).isEqualTo("OK");
    assertThat(attributes(s))
        .containsEntry("llmstreams.classification.event.id", "e1")
        .containsEntry("llmstreams.classification.label", out.value().label())
        .containsEntry("llmstreams.classification.confidence", out.value().confidence())
        .containsEntry("llmstreams.classification.escalated", false)
        .containsEntry("llmstreams.classification.source", "specialist")
        .containsEntry("llmstreams.classification.model", "banking77")
        .containsEntry("llmstreams.classification.model.version", "v1");
    assertThat(llmRequests.isEmpty()).isTrue();

    classify("e1", "my new card has still not arrived in the post, waiting for delivery", true);
    assertThat(spans.isEmpty()).as("a repeated request is not classified again").isTrue();
  }

  @Test
  void shouldAskTheLlmUnderTheEventsSpanAndEndItWithTheLlmsLabel() {
    start(true, "0.99");
    publish(model("v1", 2));
    classify("e1", "hello, what is the rate for euros today?", true);
    TestRecord<String, LlmRequest> asked = llmRequests.readRecord();
    SpanContext span = context(asked.headers());
    assertThat(span.getTraceId()).isEqualTo(TRACE);
    assertThat(span.getSpanId()).isNotEqualTo(PARENT);
    assertThat(spans.isEmpty()).as("the span ends with the final classification").isTrue();

    driver.advanceWallClockTime(Duration.ofMillis(850));
    replies.pipeInput(
        "e1", reply(asked.value(), "{\"label\":\"exchange_rate\",\"confidence\":0.93}", null));
    TestRecord<String, Classification> out = classifications.readRecord();
    assertThat(out.value().source()).isEqualTo(Classification.Source.LLM);
    assertThat(context(out.headers()).getSpanId()).isEqualTo(span.getSpanId());
    assertThat(context(labelsOut.readRecord().headers()).getSpanId())
        .as("the LLM's label, learned from, is written under the span too")
        .isEqualTo(span.getSpanId());
    SpanRecord s = spans.readValue();
    assertThat(spans.isEmpty()).isTrue();
    assertThat(s.spanId()).isEqualTo(span.getSpanId());
    assertThat(s.parentSpanId()).isEqualTo(PARENT);
    assertThat(s.name()).isEqualTo("classify banking77");
    assertThat(s.endEpochNanos() - s.startEpochNanos())
        .as("from the event's arrival to the LLM's answer")
        .isGreaterThanOrEqualTo(Duration.ofMillis(850).toNanos());
    assertThat(s.status()).isEqualTo("OK");
    assertThat(attributes(s))
        .containsEntry("llmstreams.classification.label", "exchange_rate")
        .containsEntry("llmstreams.classification.confidence", 0.93)
        .containsEntry("llmstreams.classification.escalated", true)
        .containsEntry("llmstreams.classification.source", "llm")
        .containsEntry("llmstreams.classification.model.version", "v1")
        .containsEntry("llmstreams.classification.llm.model", "openai/gpt-4o-mini")
        .containsEntry("llmstreams.llm.request.id", "e1/specialist.escalate")
        .containsKey("llmstreams.classification.specialist.label")
        .containsKey("llmstreams.classification.escalation.reason");

    replies.pipeInput(
        "e1", reply(asked.value(), "{\"label\":\"exchange_rate\",\"confidence\":0.93}", null));
    assertThat(spans.isEmpty()).as("a repeated reply records nothing").isTrue();
  }

  @Test
  void shouldMarkTheSpanFailedWhenTheEscalationFallsBackToTheModelsLabel() {
    start(true, "0.99");
    publish(model("v1", 2));
    classify("error", "the top up was declined", true);
    classify("silent", "what rate do you use for dollars", true);
    List<LlmRequest> asked = llmRequests.readValuesToList();
    replies.pipeInput(
        "error",
        reply(
            asked.get(0),
            null,
            new LlmError(
                LlmError.Code.DEADLINE_EXCEEDED, "the request's deadline passed", false, 3)));
    driver.advanceWallClockTime(Duration.ofMillis(2_000).plus(TICK));

    Map<String, SpanRecord> byEvent = new HashMap<>();
    spans
        .readValuesToList()
        .forEach(
            s -> byEvent.put((String) s.attributes().get("llmstreams.classification.event.id"), s));
    assertThat(byEvent).containsOnlyKeys("error", "silent");
    assertThat(byEvent.values())
        .allSatisfy(
            s -> {
              assertThat(s.status()).isEqualTo("ERROR");
              assertThat(s.traceId()).isEqualTo(TRACE);
              assertThat(s.parentSpanId()).isEqualTo(PARENT);
              assertThat(attributes(s))
                  .containsEntry("llmstreams.classification.escalated", true)
                  .containsEntry("llmstreams.classification.source", "specialist");
            });
    assertThat(byEvent.get("error").attributes()).containsEntry("error.type", "llm_error");
    assertThat(byEvent.get("error").statusMessage()).contains("deadline_exceeded");
    assertThat(byEvent.get("silent").attributes()).containsEntry("error.type", "no_reply");
    Map<String, String> writtenUnder = new HashMap<>();
    classifications
        .readRecordsToList()
        .forEach(r -> writtenUnder.put(r.key(), context(r.headers()).getSpanId()));
    assertThat(writtenUnder)
        .containsEntry("error", byEvent.get("error").spanId())
        .containsEntry("silent", byEvent.get("silent").spanId());
  }

  @Test
  void shouldStartANewTraceForARequestWithoutTraceparent() {
    start(true, "0.5");
    publish(model("v1", 20));
    classify("e1", "my new card has still not arrived in the post, waiting for delivery", false);
    SpanContext written = context(classifications.readRecord().headers());
    assertThat(written.getTraceId()).isNotEqualTo(TRACE);
    SpanRecord s = spans.readValue();
    assertThat(s.traceId()).isEqualTo(written.getTraceId());
    assertThat(s.spanId()).isEqualTo(written.getSpanId());
    assertThat(s.parentSpanId()).isNull();
  }

  @Test
  void shouldTimeAWaitingEventsSpanFromItsArrival() {
    start(true, "0.3");
    classify("w0", "my card has not arrived, still waiting for the delivery", true);
    driver.advanceWallClockTime(TICK.multipliedBy(5));
    assertThat(spans.isEmpty()).isTrue();
    publish(model("v1", 20));
    driver.advanceWallClockTime(TICK);
    TestRecord<String, Classification> out = classifications.readRecord();
    SpanRecord s = spans.readValue();
    assertThat(s.spanId()).isEqualTo(context(out.headers()).getSpanId());
    assertThat(s.parentSpanId()).isEqualTo(PARENT);
    assertThat(s.endEpochNanos() - s.startEpochNanos())
        .isGreaterThanOrEqualTo(TICK.multipliedBy(5).toNanos());
  }

  @Test
  void shouldReadEscalationsAndWaitingEventsStoredBeforeTracingExisted() {
    var escalations = dev.llmstreams.events.JsonSerde.of(Classify.Escalation.class);
    String stored =
        "{\"eventId\":\"e1\",\"requestId\":\"e1/specialist.escalate\",\"text\":\"t\","
            + "\"labels\":[\"a\"],\"specialistLabel\":\"a\",\"specialistConfidence\":0.4,"
            + "\"top\":[],\"modelVersion\":\"v1\",\"reason\":\"r\",\"arrivedAtMs\":1,"
            + "\"timestamp\":1,\"giveUpAtMs\":2}";
    assertThat(
            escalations
                .deserializer()
                .deserialize("t", stored.getBytes(StandardCharsets.UTF_8))
                .span())
        .isNull();
    var waiting = dev.llmstreams.events.JsonSerde.of(Classify.Waiting.class);
    String queued =
        "{\"request\":{\"eventId\":\"w0\",\"text\":\"t\"},\"arrivedAtMs\":1,\"timestamp\":1}";
    assertThat(waiting.deserializer().deserialize("t", queued.getBytes(StandardCharsets.UTF_8)))
        .satisfies(w -> assertThat(w.span()).isNull())
        .satisfies(w -> assertThat(w.request().eventId()).isEqualTo("w0"));
  }

  @Test
  void shouldWriteTraceparentButRecordNoSpanWhenTracingIsOff() {
    start(false, "0.99");
    publish(model("v1", 2));
    classify("e1", "hello, what is the rate for euros today?", true);
    TestRecord<String, LlmRequest> asked = llmRequests.readRecord();
    assertThat(context(asked.headers()).getTraceId()).isEqualTo(TRACE);
    replies.pipeInput(
        "e1", reply(asked.value(), "{\"label\":\"exchange_rate\",\"confidence\":0.93}", null));
    SpanContext written = context(classifications.readRecord().headers());
    assertThat(written.getTraceId()).isEqualTo(TRACE);
    assertThat(written.getSpanId()).isEqualTo(context(asked.headers()).getSpanId());
    assertThat(spans.isEmpty()).isTrue();
  }
}
