package dev.llmstreams.summarizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.StoreListing;
import dev.llmstreams.observability.StoreQuery;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.runtime.text.TokenCounter;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.HostInfo;

/** The recursive summarizer as a pattern the runner starts. */
public final class SummarizerModule implements PatternModule {
  @Override
  public String name() {
    return "summarizer";
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    Chunker chunker =
        new Chunker(
            TokenCounter.cl100k(),
            config.getInt(AppConfig.SUMMARIZER_CHUNK_TOKENS),
            config.getInt(AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS));
    return new SummarizerTopology(
            catalog,
            chunker,
            config.getInt(AppConfig.SUMMARIZER_MAX_DOCUMENT_CHARS),
            config.getInt(AppConfig.SUMMARIZER_MERGE_FAN_IN),
            config.getInt(AppConfig.SUMMARIZER_MERGE_TOKEN_BUDGET),
            config.getLong(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS),
            new Windowing(
                config.getLong(AppConfig.SUMMARIZER_WINDOW_MS),
                config.getLong(AppConfig.SUMMARIZER_WINDOW_GRACE_MS),
                config.getLong(AppConfig.SUMMARIZER_WINDOW_RETENTION_MS),
                config.getLong(AppConfig.SUMMARIZER_TIMESTAMP_AFTER_MAX_MS)),
            registry,
            tracing(config),
            Prompts.of(config))
        .build();
  }

  /**
   * {@code GET /syntheses/{key}[?window=<start>]}: the latest all-time synthesis of a key, or of
   * its window starting at {@code start} (ISO-8601 or epoch ms), from the state store of the
   * instance that owns the key.
   */
  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    new StoreListing<SynthesisState>(
            "/syntheses",
            SummarizerTopology.TREE_STORE,
            "summarizer",
            "syntheses",
            "key",
            params -> null,
            (key, state, params) -> listed(state))
        .register(http, streams, self);
    StoreQuery.<SynthesisState>route(
        http,
        streams,
        self,
        "/syntheses/",
        SummarizerTopology.TREE_STORE,
        "summarizer",
        (StoreQuery.QueryAnswer<SynthesisState>)
            (key, params, lookup) -> {
              String window = params.get("window");
              if (window == null) {
                return latest(
                    lookup.apply(SummarizerTopology.TREE_STORE, key),
                    "no synthesis for this key yet");
              }
              Long start = windowStartMs(window);
              if (start == null) {
                return HttpApi.Reply.json(
                    400,
                    "{\"error\":\"window must be the window's start, ISO-8601 (2026-11-02T00:00:00Z)"
                        + " or epoch milliseconds\"}");
              }
              return latest(
                  lookup.apply(SummarizerTopology.WINDOW_STORE, Windowing.treeKey(key, start)),
                  "no synthesis for this key in a window starting at "
                      + Instant.ofEpochMilli(start)
                      + " (windows start at"
                      + " multiples of summarizer.window.ms; documents of that window may not be summarized yet, or it closed more"
                      + " than summarizer.window.retention.ms ago)");
            });
  }

  /**
   * A key's entry in {@code GET /syntheses}: its all-time synthesis's size and time, and the
   * windows {@code ?window=} can read (open, or closed and still kept); null while the key has no
   * synthesis yet.
   */
  static ObjectNode listed(SynthesisState state) {
    Synthesis latest = state == null ? null : state.latest();
    if (latest == null) {
      return null;
    }
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("documents", latest.documents());
    o.put("chunks", latest.chunks());
    o.put("updatedAt", latest.updatedAt().toString());
    ArrayNode windows = o.putArray("windows");
    SynthesisState.Windows w = state.windows();
    if (w != null) {
      java.util.TreeMap<Long, Boolean> starts = new java.util.TreeMap<>();
      w.retained().forEach(s -> starts.put(s, true));
      w.open().forEach(s -> starts.put(s, false));
      starts.forEach(
          (start, closed) ->
              windows
                  .addObject()
                  .put("start", Instant.ofEpochMilli(start).toString())
                  .put("closed", closed));
    }
    return o;
  }

  private static HttpApi.Reply latest(SynthesisState state, String whenNone) throws Exception {
    return state == null || state.latest() == null
        ? HttpApi.Reply.error(404, whenNone)
        : HttpApi.Reply.json(200, Json.writer().writeValueAsString(state.latest()));
  }

  /** A window start given as ISO-8601 or epoch milliseconds; null when it is neither. */
  static Long windowStartMs(String value) {
    try {
      return value.chars().allMatch(c -> Character.isDigit(c) || c == '-')
          ? Long.parseLong(value)
          : Instant.parse(value).toEpochMilli();
    } catch (NumberFormatException | DateTimeParseException e) {
      return null;
    }
  }
}
