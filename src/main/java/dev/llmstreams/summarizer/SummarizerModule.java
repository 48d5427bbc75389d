package dev.llmstreams.summarizer;

import dev.llmstreams.app.PatternModule;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.Topology;

/** The recursive summarizer as a pattern the runner starts. */
public final class SummarizerModule implements PatternModule {
  @Override
  public String name() {
    return "summarizer";
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    Chunker chunker = new Chunker(TokenCounter.cl100k(), config.getInt(AppConfig.SUMMARIZER_CHUNK_TOKENS),
        config.getInt(AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS));
    return new SummarizerTopology(catalog, chunker, config.getInt(AppConfig.SUMMARIZER_MAX_DOCUMENT_CHARS), registry)
        .build();
  }
}
