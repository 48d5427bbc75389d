package dev.llmstreams.summarizer;

import dev.llmstreams.app.PatternModule;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.HttpApi;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

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
        config.getLong(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS), registry)
        .build();
  }

  /** {@code GET /syntheses/{key}}: the latest synthesis of a key, from this instance's state store. */
  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    http.route("/syntheses/", (rest, query) -> {
      String key = java.net.URLDecoder.decode(rest, java.nio.charset.StandardCharsets.UTF_8);
      if (key.isEmpty()) {
        return HttpApi.Reply.json(400, "{\"error\":\"GET /syntheses/{key}\"}");
      }
      if (streams.state() != KafkaStreams.State.RUNNING) {
        return HttpApi.Reply.json(503, "{\"error\":\"the summarizer is " + streams.state() + "\"}");
      }
      KeyQueryMetadata owner = streams.queryMetadataForKey(SummarizerTopology.TREE_STORE, key,
          Serdes.String().serializer());
      boolean local = owner == null || owner.activeHost() == null || owner.activeHost().port() == -1
          || owner.activeHost().equals(self);
      if (!local && !"local".equals(query)) {
        return forward(owner.activeHost(), rest);
      }
      ReadOnlyKeyValueStore<String, SynthesisState> store = streams.store(StoreQueryParameters.fromNameAndType(
          SummarizerTopology.TREE_STORE, QueryableStoreTypes.<String, SynthesisState>keyValueStore()));
      SynthesisState state = store.get(key);
      if (state == null || state.latest() == null) {
        return HttpApi.Reply.json(404, "{\"error\":\"no synthesis for this key yet\"}");
      }
      return HttpApi.Reply.json(200, Json.writer().writeValueAsString(state.latest()));
    });
  }

  private static final java.net.http.HttpClient PEERS = java.net.http.HttpClient.newBuilder()
      .connectTimeout(java.time.Duration.ofSeconds(2)).build();

  /** Asks the instance that owns the key (once: the peer answers from its own store, "?local"). */
  private static HttpApi.Reply forward(HostInfo host, String rest) throws Exception {
    java.net.http.HttpResponse<String> r = PEERS.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://" + host.host() + ":" + host.port() + "/syntheses/" + rest + "?local"))
        .timeout(java.time.Duration.ofSeconds(5)).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return HttpApi.Reply.json(r.statusCode(), r.body());
  }
}
