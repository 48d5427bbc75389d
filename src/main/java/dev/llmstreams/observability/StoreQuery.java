package dev.llmstreams.observability;

import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * A GET route over one key-value store keyed by String: answered from this instance's store when it owns the key,
 * else forwarded once to the instance that does (found through {@code application.server}), which answers from its
 * own store ({@code ?local}).
 */
public final class StoreQuery {
  private static final HttpClient PEERS = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Turns the value stored under a key into the reply; null value: the key is not in the store. */
  @FunctionalInterface
  public interface Answer<V> {
    HttpApi.Reply of(String key, V value) throws Exception;
  }

  private StoreQuery() {}

  /** Registers {@code GET <prefix>{key}} for {@code store}. */
  public static <V> void route(HttpApi http, KafkaStreams streams, HostInfo self, String prefix, String store,
      String what, Answer<V> answer) {
    http.route(prefix, (rest, query) -> {
      String key = URLDecoder.decode(rest, StandardCharsets.UTF_8);
      if (key.isEmpty()) {
        return HttpApi.Reply.json(400, "{\"error\":\"GET " + prefix + "{key}\"}");
      }
      if (streams.state() != KafkaStreams.State.RUNNING) {
        return HttpApi.Reply.json(503, "{\"error\":\"the " + what + " is " + streams.state() + "\"}");
      }
      KeyQueryMetadata owner = streams.queryMetadataForKey(store, key, Serdes.String().serializer());
      boolean local = owner == null || owner.activeHost() == null || owner.activeHost().port() == -1
          || owner.activeHost().equals(self);
      if (!local && !"local".equals(query)) {
        return forward(owner.activeHost(), prefix + rest);
      }
      ReadOnlyKeyValueStore<String, V> kv = streams.store(
          StoreQueryParameters.fromNameAndType(store, QueryableStoreTypes.<String, V>keyValueStore()));
      return answer.of(key, kv.get(key));
    });
  }

  private static HttpApi.Reply forward(HostInfo host, String path) throws Exception {
    HttpResponse<String> r = PEERS.send(HttpRequest.newBuilder(
            URI.create("http://" + host.host() + ":" + host.port() + path + "?local"))
        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
    return HttpApi.Reply.json(r.statusCode(), r.body());
  }
}
