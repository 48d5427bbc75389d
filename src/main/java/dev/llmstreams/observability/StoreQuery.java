package dev.llmstreams.observability;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;

/**
 * A GET route over one key-value store keyed by String: answered from this instance's store when it
 * owns the key, else forwarded once to the instance that does (found through {@code
 * application.server}), which answers from its own store ({@code ?local}).
 */
public final class StoreQuery {
  /**
   * Marks a request forwarded by a peer: answer from this instance's store, do not forward again.
   */
  static final String LOCAL = "local";

  private static final HttpClient PEERS =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Turns the value stored under a key into the reply; null value: the key is not in the store. */
  @FunctionalInterface
  public interface Answer<V> {
    HttpApi.Reply of(String key, V value) throws Exception;
  }

  /**
   * Turns a key and the query parameters into the reply, reading any store of the key's task:
   * {@code lookup} takes a store name and a key in that store (stored under another key than the
   * record key, on the same partition).
   */
  @FunctionalInterface
  public interface QueryAnswer<V> {
    HttpApi.Reply of(String key, Map<String, String> params, BiFunction<String, String, V> lookup)
        throws Exception;
  }

  static final HttpApi.Reply MALFORMED_QUERY =
      HttpApi.Reply.json(400, "{\"error\":\"malformed percent-encoding in the query string\"}");

  private StoreQuery() {}

  static HttpApi.Reply notRunning(KafkaStreams streams, String what) {
    return HttpApi.Reply.json(503, "{\"error\":\"the " + what + " is " + streams.state() + "\"}");
  }

  /** Registers {@code GET <prefix>{key}} for {@code store}. */
  public static <V> void route(
      HttpApi http,
      KafkaStreams streams,
      HostInfo self,
      String prefix,
      String store,
      String what,
      Answer<V> answer) {
    route(
        http,
        streams,
        self,
        prefix,
        store,
        what,
        (QueryAnswer<V>) (key, params, lookup) -> answer.of(key, lookup.apply(store, key)));
  }

  /**
   * Registers {@code GET <prefix>{key}[?params]}: the instance that owns {@code key} in {@code
   * store} answers, with the parameters forwarded to it, plus {@code local}.
   */
  public static <V> void route(
      HttpApi http,
      KafkaStreams streams,
      HostInfo self,
      String prefix,
      String store,
      String what,
      QueryAnswer<V> answer) {
    routeByPartition(
        http,
        streams,
        self,
        prefix,
        store,
        what,
        (key, params, partition) ->
            answer.of(
                key,
                params,
                (name, storeKey) ->
                    store(streams, name, QueryableStoreTypes.<String, V>keyValueStore(), partition)
                        .get(storeKey)));
  }

  /**
   * {@code name}'s store of this instance, of the key's partition only when {@code partition} is
   * not null.
   */
  public static <T> T store(
      KafkaStreams streams,
      String name,
      org.apache.kafka.streams.state.QueryableStoreType<T> type,
      Integer partition) {
    StoreQueryParameters<T> where = StoreQueryParameters.fromNameAndType(name, type);
    return streams.store(partition == null ? where : where.withPartition(partition));
  }

  /**
   * Turns a key and the query parameters into the reply, reading the stores of the key's partition
   * ({@code partition}; null when Streams does not know it, e.g. before the first assignment).
   */
  @FunctionalInterface
  public interface PartitionAnswer {
    HttpApi.Reply of(String key, Map<String, String> params, Integer partition) throws Exception;
  }

  /**
   * Registers {@code GET <prefix>{key}[?params]} answered by the instance that owns {@code key} in
   * {@code store}, from any store of the key's partition.
   */
  public static void routeByPartition(
      HttpApi http,
      KafkaStreams streams,
      HostInfo self,
      String prefix,
      String store,
      String what,
      PartitionAnswer answer) {
    http.route(
        prefix,
        (rest, query) -> {
          // rest is the request's path, already percent-decoded once: decoding it again read a
          // key's "+" as a space and refused its "%"
          String key = rest;
          if (key.isEmpty()) {
            String list = prefix.substring(0, prefix.length() - 1);
            return HttpApi.Reply.error(
                400,
                "GET "
                    + prefix
                    + "{key} for one key"
                    + (http.serves(list) ? "; GET " + list + " lists them" : ""));
          }
          if (streams.state() != KafkaStreams.State.RUNNING) {
            return notRunning(streams, what);
          }
          Map<String, String> params;
          try {
            params = params(query);
          } catch (IllegalArgumentException malformed) {
            return MALFORMED_QUERY;
          }
          KeyQueryMetadata owner =
              streams.queryMetadataForKey(store, key, Serdes.String().serializer());
          boolean local =
              owner == null
                  || owner.activeHost() == null
                  || owner.activeHost().port() == -1
                  || owner.activeHost().equals(self);
          if (!local && !params.containsKey(LOCAL)) {
            return forward(
                http.client(),
                http.scheme(),
                HttpApi.callerAuthorization(),
                owner.activeHost(),
                prefix
                    + HttpApi.pathSegment(key)
                    + "?"
                    + (query == null || query.isEmpty() ? LOCAL : query + "&" + LOCAL));
          }
          // The key's own partition only: its state lives there (records are placed on it, see
          // KeyedInput), and entries stored under derived keys (a window's key@start) sit with it,
          // not where their own hash would put them.
          Integer partition = owner == null || owner.partition() < 0 ? null : owner.partition();
          try {
            return answer.of(key, params, partition);
          } catch (InvalidStateStoreException e) {
            // The key's task is moving here or restoring: a moment later it answers, so say
            // "retry", not "error".
            return unavailable(
                "the " + what + " state of this key is being moved or restored; retry shortly");
          }
        });
  }

  /** The parameters of a raw query string, decoded; a name without {@code =} maps to "". */
  static Map<String, String> params(String query) {
    Map<String, String> params = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return params;
    }
    for (String part : query.split("&")) {
      if (part.isEmpty()) {
        continue;
      }
      int eq = part.indexOf('=');
      String name =
          URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
      params.put(
          name, eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return params;
  }

  static HttpApi.Reply forward(HostInfo host, String pathAndQuery) throws InterruptedException {
    return forward(PEERS, "http", null, host, pathAndQuery);
  }

  /**
   * Asks the peer at {@code host} over {@code client} with {@code scheme}, sending the caller's
   * {@code authorization} on (every instance accepts the same tokens).
   */
  static HttpApi.Reply forward(
      HttpClient client, String scheme, String authorization, HostInfo host, String pathAndQuery)
      throws InterruptedException {
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(
                  URI.create(scheme + "://" + host.host() + ":" + host.port() + pathAndQuery))
              .timeout(Duration.ofSeconds(5))
              .GET();
      if (authorization != null) {
        request.header("Authorization", authorization);
      }
      HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return HttpApi.Reply.json(r.statusCode(), r.body());
    } catch (IOException e) {
      // The owner stopped and the group has not moved its partitions yet (or it is unreachable): a
      // retry will find
      // the new owner once the rebalance is over.
      return unavailable(
          "the instance that owns this key ("
              + host.host()
              + ":"
              + host.port()
              + ") did not answer ("
              + e.getClass().getSimpleName()
              + "); its partitions move to another instance if it stopped; retry shortly");
    }
  }

  static HttpApi.Reply unavailable(String why) {
    return HttpApi.Reply.error(503, why);
  }
}
