package dev.llmstreams.observability.tracing;

import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpanRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships the spans topic to an OTLP endpoint: reads it {@code read_committed} (so only spans of
 * committed work), hands each batch to the span exporter the OpenTelemetry SDK configures from the
 * standard {@code OTEL_*} settings (OTLP over HTTP or gRPC, endpoint, headers, TLS, compression,
 * timeout), and commits the offsets once the receiver accepted the batch. A receiver that is down
 * holds the offsets back and the batch is sent again later: nothing is lost, and a span sent twice
 * has the same trace and span id, which trace backends treat as one span.
 */
public final class SpanExport implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SpanExport.class);
  private static final Duration EXPORT_TIMEOUT = Duration.ofSeconds(30);

  private final KafkaConsumer<String, byte[]> consumer;
  private final String topic;
  private final AutoConfiguredOpenTelemetrySdk sdk;
  private final SpanExporter exporter;
  private final Resource base;
  private final boolean serviceNamed;
  private final Map<String, Resource> resources = new ConcurrentHashMap<>();
  private final Counter exported;
  private final Counter failures;
  private final Counter unreadable;
  private final Thread thread;
  private volatile boolean running = true;

  /**
   * @param clientProperties bootstrap and the pass-through client settings
   * @param group the consumer group (all exporters of one deployment share it)
   * @param otel the {@code OTEL_*} / {@code otel.*} settings of the span exporter, handed to the
   *     SDK's autoconfiguration (this process's own environment and system properties still win
   *     over them, as the SDK reads those too)
   */
  public SpanExport(
      Map<String, Object> clientProperties,
      String group,
      String topic,
      TracingSettings.Otel otel,
      MeterRegistry registry) {
    this.topic = topic;
    AtomicReference<SpanExporter> captured = new AtomicReference<>();
    AtomicReference<Resource> resource = new AtomicReference<>();
    Map<String, String> defaults = new HashMap<>();
    defaults.put("otel.metrics.exporter", "none");
    defaults.put("otel.logs.exporter", "none");
    defaults.put("otel.traces.exporter", "otlp");
    defaults.put("otel.service.name", "llm-streams");
    this.sdk =
        AutoConfiguredOpenTelemetrySdk.builder()
            .addPropertiesSupplier(() -> defaults)
            .addPropertiesSupplier(otel::properties)
            .addSpanExporterCustomizer(
                (e, config) -> {
                  captured.set(e);
                  return e;
                })
            .addResourceCustomizer(
                (r, config) -> {
                  resource.set(r);
                  return r;
                })
            .disableShutdownHook()
            .build();
    if (captured.get() == null) {
      sdk.getOpenTelemetrySdk().close();
      throw new IllegalStateException(
          "tracing is on but OTEL_TRACES_EXPORTER names no span exporter; set it to otlp");
    }
    this.exporter = captured.get();
    this.base = resource.get() == null ? Resource.getDefault() : resource.get();
    String attrs = otel.apply("otel.resource.attributes");
    this.serviceNamed =
        otel.apply("otel.service.name") != null
            || (attrs != null && attrs.contains("service.name="));
    this.exported =
        Counter.builder("llmstreams.tracing.spans.exported")
            .description("Spans read from the spans topic and accepted by the OTLP receiver")
            .register(registry);
    this.failures =
        Counter.builder("llmstreams.tracing.export.failures")
            .description("Batches of spans the OTLP receiver did not accept; sent again later")
            .register(registry);
    this.unreadable =
        Counter.builder("llmstreams.tracing.spans.unreadable")
            .description("Records on the spans topic that are not spans; skipped")
            .register(registry);
    Properties props = new Properties();
    props.putAll(clientProperties);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 512);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-" + ProcessHandle.current().pid());
    this.consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "llm-streams-span-export");
    this.thread.setDaemon(true);
  }

  public void start() {
    consumer.subscribe(List.of(topic));
    thread.start();
  }

  private void run() {
    long backoffMs = 500;
    while (running) {
      try {
        backoffMs = exportOnce() ? 500 : Math.min(30_000, backoffMs * 2);
        if (backoffMs > 500) {
          Thread.sleep(backoffMs);
        }
      } catch (WakeupException e) {
        return; // closing
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // A broker that is away or a rebalance: the offsets were not committed, the spans come
        // again.
        LOG.warn("span export: {}; trying again in {} ms", e.toString(), backoffMs);
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
        backoffMs = Math.min(30_000, backoffMs * 2);
      }
    }
  }

  /** Reads one batch and ships it; false when the receiver refused it (the batch is read again). */
  private boolean exportOnce() {
    ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
    if (records.isEmpty()) {
      return true;
    }
    List<SpanData> batch = new ArrayList<>(records.count());
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    Map<TopicPartition, Long> first = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : records) {
      TopicPartition tp = new TopicPartition(r.topic(), r.partition());
      first.putIfAbsent(tp, r.offset());
      next.put(tp, new OffsetAndMetadata(r.offset() + 1));
      SpanRecord span = read(r);
      if (span != null) {
        batch.add(new RecordedSpanData(span, resourceOf(span)));
      }
    }
    CompletableResultCode result =
        batch.isEmpty()
            ? CompletableResultCode.ofSuccess()
            : exporter.export(batch).join(EXPORT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    if (!result.isSuccess()) {
      failures.increment();
      LOG.warn(
          "span export: the OTLP receiver did not accept {} spans; they will be sent again",
          batch.size());
      first.forEach(consumer::seek);
      return false;
    }
    consumer.commitSync(next);
    exported.increment(batch.size());
    return true;
  }

  private SpanRecord read(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      unreadable.increment();
      return null;
    }
    try {
      return Json.readerFor(SpanRecord.class).readValue(r.value());
    } catch (java.io.IOException | RuntimeException e) {
      unreadable.increment();
      LOG.warn(
          "span export: skipped {}-{}@{}: not a span ({})",
          r.topic(),
          r.partition(),
          r.offset(),
          e.getMessage());
      return null;
    }
  }

  private Resource resourceOf(SpanRecord span) {
    String service = span.service() == null ? "" : span.service();
    String instance = span.instance() == null ? "" : span.instance();
    return resources.computeIfAbsent(
        service + "\n" + instance,
        k -> {
          var b = base.toBuilder();
          if (!serviceNamed && !service.isEmpty()) {
            b.put("service.name", service);
          }
          if (!service.isEmpty()) {
            b.put("llmstreams.application", service);
          }
          if (!instance.isEmpty()) {
            b.put("service.instance.id", instance);
          }
          return b.build();
        });
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close();
    sdk.getOpenTelemetrySdk().shutdown().join(10, TimeUnit.SECONDS);
  }
}
