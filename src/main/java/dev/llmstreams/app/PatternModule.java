package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.Topology;

/** One pattern the runner can start: its name and the topology it runs as its own Streams application. */
public interface PatternModule {
  String name();

  /** Builds the topology; does no I/O (the same topology runs under the test driver and on a broker). */
  Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry);
}
