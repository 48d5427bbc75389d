package dev.llmstreams.observability;

import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The app's meter registry: JVM, Kafka Streams and client meters plus our own under {@code
 * llmstreams.}.
 */
public final class Observability implements AutoCloseable {
  // Latency histograms carry the trace id of a sampled span as an exemplar (OpenMetrics format),
  // on their buckets only: Micrometer also puts it on _count by default, which Prometheus before
  // 2.43 (Debian 12's is 2.42) refuses, dropping the whole scrape until the exemplar expires.
  private static final PrometheusConfig CONFIG =
      new PrometheusConfig() {
        @Override
        public String get(String key) {
          return null;
        }

        @Override
        public Properties prometheusProperties() {
          Properties properties = PrometheusConfig.super.prometheusProperties();
          properties.setProperty("io.prometheus.exporter.exemplarsOnAllMetricTypes", "false");
          return properties;
        }
      };
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(
          CONFIG,
          new io.prometheus.metrics.model.registry.PrometheusRegistry(),
          io.micrometer.core.instrument.Clock.SYSTEM,
          new dev.llmstreams.observability.tracing.CurrentSpan());
  private final List<AutoCloseable> binders = new ArrayList<>();
  private final JvmGcMetrics gc = new JvmGcMetrics();

  public Observability() {
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    binders.add(gc);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Binds a Streams instance's metrics (its own and its embedded clients'), tagged by pattern. */
  public void bind(KafkaStreams streams, String pattern) {
    KafkaStreamsMetrics metrics =
        new KafkaStreamsMetrics(streams, List.of(Tag.of("pattern", pattern)));
    metrics.bindTo(registry);
    binders.add(metrics);
  }

  public String scrape() {
    return registry.scrape();
  }

  /**
   * The meters in the format the scraper asks for: OpenMetrics (with exemplars) when its {@code
   * Accept} header names {@code application/openmetrics-text}, else the Prometheus text format.
   */
  public String scrape(String accept) {
    return registry.scrape(contentType(accept));
  }

  /** The content type {@link #scrape(String)} answers in. */
  public static String contentType(String accept) {
    return accept != null && accept.contains("application/openmetrics-text")
        ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
        : "text/plain; version=0.0.4; charset=utf-8";
  }

  @Override
  public void close() {
    for (AutoCloseable binder : binders) {
      try {
        binder.close();
      } catch (Exception ignored) {
        // closing meters on shutdown: nothing useful to do with a failure
      }
    }
    registry.close();
  }
}
