package dev.llmstreams.runtime;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.Topology;

/**
 * One pattern the runner can start: its name and the topology it runs as its own Streams
 * application.
 */
public interface PatternModule {
  String name();

  /**
   * Builds the topology; does no I/O (the same topology runs under the test driver and on a
   * broker).
   */
  Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry);

  /**
   * Streams settings this pattern needs beyond the common ones (e.g. a short poll for the gateway).
   */
  default java.util.Map<String, Object> streamsOverrides(AppConfig config) {
    return java.util.Map.of();
  }

  /**
   * How this pattern's application takes part in traces: W3C context on every record it writes, and
   * spans when tracing is on (see {@link dev.llmstreams.observability.tracing.TracingSettings}).
   */
  default dev.llmstreams.observability.tracing.Tracing tracing(AppConfig config) {
    return dev.llmstreams.observability.tracing.TracingSettings.of(config)
        .forService(StreamsSettings.applicationId(config, name()));
  }

  /** Adds this pattern's query routes to the HTTP server (interactive queries on its stores). */
  default void registerRoutes(
      dev.llmstreams.observability.HttpApi http,
      org.apache.kafka.streams.KafkaStreams streams,
      org.apache.kafka.streams.state.HostInfo self) {}

  /**
   * Called before the Streams instance closes, while it still runs: finish or hand off work in
   * flight.
   */
  default void beforeClose(java.time.Duration timeout) throws InterruptedException {}

  /** Called after the Streams instance closed: release what {@link #topology} opened. */
  default void afterClose() {}
}
