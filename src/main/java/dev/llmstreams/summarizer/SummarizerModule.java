package dev.llmstreams.summarizer;

import dev.llmstreams.app.PatternModule;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.StoreQuery;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.state.HostInfo;
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
    return new SummarizerTopology(catalog, chunker, config.getInt(AppConfig.SUMMARIZER_MAX_DOCUMENT_CHARS),
        config.getInt(AppConfig.SUMMARIZER_MERGE_FAN_IN), config.getInt(AppConfig.SUMMARIZER_MERGE_TOKEN_BUDGET),
        config.getLong(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS),
        new Windowing(config.getLong(AppConfig.SUMMARIZER_WINDOW_MS), config.getLong(AppConfig.SUMMARIZER_WINDOW_GRACE_MS)),
        registry)
        .build();
  }

  /** {@code GET /syntheses/{key}}: the latest synthesis of a key, from the state store of the instance that owns it. */
  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    StoreQuery.<SynthesisState>route(http, streams, self, "/syntheses/", SummarizerTopology.TREE_STORE, "summarizer",
        (key, state) -> state == null || state.latest() == null
            ? HttpApi.Reply.json(404, "{\"error\":\"no synthesis for this key yet\"}")
            : HttpApi.Reply.json(200, Json.writer().writeValueAsString(state.latest())));
  }
}
