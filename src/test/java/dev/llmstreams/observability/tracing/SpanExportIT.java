package dev.llmstreams.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.otlp.OtlpReceiver;
import dev.llmstreams.testkit.otlp.OtlpReceiver.ReceivedSpan;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link SpanExport} between a real broker and a real OTLP receiver: spans produced to a spans
 * topic in transactions, some committed and some aborted, are shipped with the SDK's autoconfigured
 * OTLP exporter, configured by the {@code OTEL_*} settings handed to it. Only committed spans
 * arrive, each as it was recorded (ids, parent, links, attributes, status, times) with the resource
 * of the application that recorded it; a receiver that refuses a few requests gets the spans later.
 */
@WithKafka
class SpanExportIT {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c";

  private KafkaCluster kafka;
  private String topic;
  private final OtlpReceiver receiver = OtlpReceiver.start();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private SpanExport export;

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    topic = KafkaCluster.uniqueName("spans");
    kafka.createTopics(new NewTopic(topic, 3, (short) 1));
  }

  @AfterEach
  void tearDown() {
    if (export != null) {
      export.close();
    }
    receiver.close();
  }

  private static SpanRecord span(
      String traceId,
      String spanId,
      String parent,
      String name,
      String service,
      List<SpanRecord.Link> links) {
    Map<String, Object> attributes = new HashMap<>();
    attributes.put("gen_ai.operation.name", name.split(" ")[0]);
    attributes.put("gen_ai.usage.input_tokens", 21L);
    attributes.put("llmstreams.llm.cache_hit", false);
    attributes.put("llmstreams.goal.cost_usd", 0.5);
    attributes.put("gen_ai.response.finish_reasons", List.of("stop"));
    return new SpanRecord(
        traceId,
        spanId,
        parent,
        parent == null ? null : "vendor=abc",
        name,
        parent == null ? "INTERNAL" : "CLIENT",
        1_700_000_000_000_000_000L,
        1_700_000_001_500_000_000L,
        parent == null ? "OK" : "ERROR",
        parent == null ? null : "rate limited",
        attributes,
        links,
        service,
        "host-1/4242");
  }

  /** Produces the records in one transaction, committed or aborted. */
  private void transaction(boolean commit, List<byte[]> values, List<String> keys) {
    Properties props = kafka.producerProps();
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, KafkaCluster.uniqueName("spans-tx"));
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 0; i < values.size(); i++) {
        producer.send(new ProducerRecord<>(topic, keys.get(i), values.get(i)));
      }
      producer.flush();
      if (commit) {
        producer.commitTransaction();
      } else {
        producer.abortTransaction();
      }
    }
  }

  private void transaction(boolean commit, SpanRecord... spans) throws Exception {
    List<byte[]> values = new java.util.ArrayList<>();
    for (SpanRecord s : spans) {
      values.add(Json.writer().writeValueAsBytes(s));
    }
    transaction(commit, values, List.of(spans).stream().map(SpanRecord::traceId).toList());
  }

  private SpanExport start(Map<String, String> env, Properties properties) {
    export =
        new SpanExport(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            KafkaCluster.uniqueName("span-export"),
            topic,
            TracingSettings.otel(env, properties),
            meters);
    export.start();
    return export;
  }

  private Map<String, String> otlpEnv() {
    return new HashMap<>(receiver.exporterEnv());
  }

  private double counter(String name) {
    return meters.get(name).counter().count();
  }

  @Test
  void shouldShipCommittedSpansOnlyEachAsRecordedWithItsApplicationAsService() throws Exception {
    SpanRecord root =
        span(TRACE, "00f067aa0ba902b7", null, "invoke_agent controller", "app-controller", null);
    SpanRecord chat =
        span(
            TRACE,
            "b7ad6b7169203331",
            root.spanId(),
            "chat gpt-x",
            "app-gateway",
            List.of(
                new SpanRecord.Link(OTHER_TRACE, "53995c3f42cd8ad8", Map.of("why", "merge")),
                new SpanRecord.Link(OTHER_TRACE, "1f2e3d4c5b6a7988", null)));
    SpanRecord aborted =
        span(TRACE, "aaaaaaaaaaaaaaa1", root.spanId(), "execute_tool calc", "app-tools", null);
    SpanRecord later =
        span(OTHER_TRACE, "bbbbbbbbbbbbbbb2", null, "invoke_agent controller", "app-other", null);

    transaction(true, root, chat);
    transaction(false, aborted);
    // Not a span: counted and skipped, and the spans after it still go out.
    transaction(true, List.of("not a span".getBytes(StandardCharsets.UTF_8)), List.of(OTHER_TRACE));
    transaction(true, later);

    start(otlpEnv(), new Properties());

    receiver.awaitSpans(
        s -> s.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet()).size() >= 3,
        Duration.ofSeconds(60));
    // A moment more: the aborted span would come with or before the last committed one.
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(10))
        .until(() -> receiver.spans().size() == 3);
    Map<String, ReceivedSpan> byId =
        receiver.spans().stream()
            .collect(Collectors.toMap(ReceivedSpan::spanId, Function.identity()));
    assertThat(byId.keySet())
        .containsExactlyInAnyOrder(root.spanId(), chat.spanId(), later.spanId());

    ReceivedSpan r = byId.get(root.spanId());
    assertThat(r.traceId()).isEqualTo(TRACE);
    assertThat(r.parentSpanId()).isNull();
    assertThat(r.name()).isEqualTo("invoke_agent controller");
    assertThat(r.kind()).isEqualTo("INTERNAL");
    assertThat(r.status()).isEqualTo("OK");
    assertThat(r.service()).isEqualTo("app-controller");
    assertThat(r.resource())
        .containsEntry("service.instance.id", "host-1/4242")
        .containsEntry("llmstreams.application", "app-controller")
        .containsEntry("telemetry.sdk.language", "java");

    ReceivedSpan c = byId.get(chat.spanId());
    assertThat(c.traceId()).isEqualTo(TRACE);
    assertThat(c.parentSpanId()).isEqualTo(root.spanId());
    assertThat(c.kind()).isEqualTo("CLIENT");
    assertThat(c.status()).isEqualTo("ERROR");
    assertThat(c.statusMessage()).isEqualTo("rate limited");
    assertThat(c.traceState()).isEqualTo("vendor=abc");
    assertThat(c.startEpochNanos()).isEqualTo(chat.startEpochNanos());
    assertThat(c.endEpochNanos()).isEqualTo(chat.endEpochNanos());
    assertThat(c.service()).isEqualTo("app-gateway");
    assertThat(c.scope()).isEqualTo("dev.llmstreams");
    assertThat(c.attributes())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "gen_ai.operation.name",
                "chat",
                "gen_ai.usage.input_tokens",
                21L,
                "llmstreams.llm.cache_hit",
                false,
                "llmstreams.goal.cost_usd",
                0.5,
                "gen_ai.response.finish_reasons",
                List.of("stop")));
    assertThat(c.links())
        .containsExactly(
            new ReceivedSpan.Link(OTHER_TRACE, "53995c3f42cd8ad8", Map.of("why", "merge")),
            new ReceivedSpan.Link(OTHER_TRACE, "1f2e3d4c5b6a7988", Map.of()));

    assertThat(byId.get(later.spanId()).service()).isEqualTo("app-other");
    assertThat(receiver.trace(TRACE))
        .extracting(ReceivedSpan::spanId)
        .doesNotContain(aborted.spanId());
    assertThat(counter("llmstreams.tracing.spans.exported")).isEqualTo(3.0);
    assertThat(counter("llmstreams.tracing.spans.unreadable")).isEqualTo(1.0);
    assertThat(counter("llmstreams.tracing.export.failures")).isZero();
  }

  @Test
  void shouldSendTheSpansAgainWhenTheReceiverRefusedThem() throws Exception {
    SpanRecord root =
        span(TRACE, "00f067aa0ba902b7", null, "invoke_agent controller", "app-controller", null);
    SpanRecord chat =
        span(TRACE, "b7ad6b7169203331", root.spanId(), "chat gpt-x", "app-gateway", null);
    transaction(true, root, chat);
    receiver.failNext(2);
    // The SDK's own retry off: each refusal reaches the span export, which seeks back and sends
    // the batch again.
    Properties properties = new Properties();
    properties.setProperty("otel.java.exporter.otlp.retry.disabled", "true");
    start(otlpEnv(), properties);

    receiver.awaitSpans(s -> s.size() >= 2, Duration.ofSeconds(60));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> counter("llmstreams.tracing.spans.exported") == 2.0);
    assertThat(receiver.spans())
        .extracting(ReceivedSpan::spanId)
        .containsExactlyInAnyOrder(root.spanId(), chat.spanId());
    assertThat(receiver.failedCount()).isEqualTo(2);
    assertThat(counter("llmstreams.tracing.export.failures")).isEqualTo(2.0);
  }

  @Test
  void shouldLetTheSdksRetryAbsorbAShortOutageAndNameTheServiceAsOtelServiceNameSays()
      throws Exception {
    SpanRecord root =
        span(TRACE, "00f067aa0ba902b7", null, "invoke_agent controller", "app-controller", null);
    transaction(true, root);
    receiver.failNext(2);
    Map<String, String> env = otlpEnv();
    env.put("OTEL_SERVICE_NAME", "my-agents");
    start(env, new Properties());

    ReceivedSpan got =
        receiver.awaitSpan(s -> s.spanId().equals(root.spanId()), Duration.ofSeconds(60));
    assertThat(got.service()).isEqualTo("my-agents");
    assertThat(got.resource()).containsEntry("llmstreams.application", "app-controller");
    assertThat(receiver.failedCount()).isEqualTo(2);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> counter("llmstreams.tracing.spans.exported") == 1.0);
    // Retried inside the SDK's exporter: the span export saw one accepted batch.
    assertThat(counter("llmstreams.tracing.export.failures")).isZero();
    assertThat(receiver.spans()).hasSize(1);
  }
}
