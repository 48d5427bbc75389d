package dev.llmstreams.observability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.query.FailureReason;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.query.RangeQuery;
import org.apache.kafka.streams.query.StateQueryRequest;
import org.apache.kafka.streams.query.StateQueryResult;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

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

  /**
   * One key's entry in a listing: a JSON object about the value stored under the key, or null to
   * leave the key out (e.g. nothing to show yet).
   */
  @FunctionalInterface
  public interface Entry<V> {
    ObjectNode of(String key, V value) throws Exception;
  }

  /** The most entries one listing page holds, and how many it holds unless asked for fewer. */
  public static final int MAX_LIMIT = 1000;

  public static final int DEFAULT_LIMIT = 100;

  private static final HttpApi.Reply MALFORMED_QUERY =
      HttpApi.Reply.json(400, "{\"error\":\"malformed percent-encoding in the query string\"}");

  private StoreQuery() {}

  private static HttpApi.Reply notRunning(KafkaStreams streams, String what) {
    return HttpApi.Reply.json(503, "{\"error\":\"the " + what + " is " + streams.state() + "\"}");
  }

  /**
   * Registers {@code GET <path>[?after=<key>&limit=<n>]}: the keys of {@code store} on every
   * instance, in the order of their UTF-8 bytes, at most {@code limit} (default {@value
   * #DEFAULT_LIMIT}, at most {@value #MAX_LIMIT}) after the key {@code after}, each as {@code
   * entry} makes it, under {@code field}; with {@code "next"}, the key to ask {@code after} for the
   * next page, when there may be more. The instance asked lists its own active partitions and asks
   * each other instance of the application for theirs ({@code ?local}); when one cannot answer, the
   * listing is 503 (retry), never a page with keys silently missing.
   */
  public static <V> void list(
      HttpApi http,
      KafkaStreams streams,
      HostInfo self,
      String path,
      String store,
      String what,
      String field,
      Entry<V> entry) {
    http.route(
        path,
        (rest, query) -> {
          Map<String, String> params;
          try {
            params = params(query);
          } catch (IllegalArgumentException malformed) {
            return MALFORMED_QUERY;
          }
          int limit;
          try {
            limit =
                params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : DEFAULT_LIMIT;
          } catch (NumberFormatException e) {
            limit = -1;
          }
          // a peer is asked for one more than the page, to tell whether there is a next one
          if (limit < 1 || limit > MAX_LIMIT + (params.containsKey(LOCAL) ? 1 : 0)) {
            return HttpApi.Reply.json(
                400, "{\"error\":\"limit must be a whole number from 1 to " + MAX_LIMIT + "\"}");
          }
          String after = params.get("after");
          if (streams.state() != KafkaStreams.State.RUNNING) {
            return notRunning(streams, what);
          }
          List<ObjectNode> page;
          try {
            page = localPage(streams, store, after, limit + 1, entry);
          } catch (InvalidStateStoreException e) {
            return unavailable(
                "the "
                    + what
                    + " state of this instance is being moved or restored; retry shortly");
          }
          if (!params.containsKey(LOCAL)) {
            String forwarded =
                path
                    + "?"
                    + LOCAL
                    + "&limit="
                    + (limit + 1)
                    + (after == null
                        ? ""
                        : "&after=" + java.net.URLEncoder.encode(after, StandardCharsets.UTF_8));
            for (StreamsMetadata peer : streams.streamsMetadataForStore(store)) {
              HostInfo host = peer.hostInfo();
              if (host == null || host.port() == -1 || host.equals(self)) {
                continue;
              }
              HttpApi.Reply reply =
                  forward(
                      http.client(), http.scheme(), HttpApi.callerAuthorization(), host, forwarded);
              if (reply.status() != 200) {
                return reply.status() == 503
                    ? reply
                    : unavailable(
                        "the instance at "
                            + host.host()
                            + ":"
                            + host.port()
                            + " answered "
                            + reply.status()
                            + " for its part of the list; retry shortly");
              }
              for (JsonNode e : dev.llmstreams.events.Json.tree(reply.body()).path(field)) {
                if (e instanceof ObjectNode o) {
                  page.add(o);
                }
              }
            }
          }
          if (streams.state() != KafkaStreams.State.RUNNING) {
            // a rebalance began while listing: a partition may have been listed twice or not at all
            return notRunning(streams, what);
          }
          page.sort(BY_KEY);
          ObjectNode body = JsonNodeFactory.instance.objectNode();
          ArrayNode items = body.putArray(field);
          boolean more = page.size() > limit;
          List<ObjectNode> shown = more ? page.subList(0, limit) : page;
          shown.forEach(items::add);
          if (more) {
            body.put("next", shown.get(shown.size() - 1).path("key").asText());
          }
          return HttpApi.Reply.json(200, body.toString());
        });
  }

  /** Keys in the order a store keeps them: by their UTF-8 bytes (Java's String order differs). */
  private static final Comparator<ObjectNode> BY_KEY =
      Comparator.comparing(
          (ObjectNode o) -> Bytes.wrap(o.path("key").asText().getBytes(StandardCharsets.UTF_8)));

  /**
   * The first {@code n} entries after {@code after} of this instance's active partitions of {@code
   * store}, in key order.
   */
  static <V> List<ObjectNode> localPage(
      KafkaStreams streams, String store, String after, int n, Entry<V> entry) throws Exception {
    RangeQuery<String, V> range =
        (after == null
                ? RangeQuery.<String, V>withNoBounds()
                : RangeQuery.<String, V>withLowerBound(after))
            .withAscendingKeys();
    StateQueryResult<KeyValueIterator<String, V>> result =
        streams.query(StateQueryRequest.inStore(store).withQuery(range).requireActive());
    List<ObjectNode> page = new ArrayList<>();
    Exception failed = null;
    for (QueryResult<KeyValueIterator<String, V>> part : result.getPartitionResults().values()) {
      if (part.isFailure()) {
        if (part.getFailureReason() == FailureReason.NOT_ACTIVE) {
          continue; // a standby here: its active task, on another instance, lists it
        }
        failed =
            new InvalidStateStoreException(
                part.getFailureReason() + ": " + part.getFailureMessage());
        continue;
      }
      try (KeyValueIterator<String, V> it = part.getResult()) {
        int taken = 0;
        while (taken < n && it.hasNext()) {
          var kv = it.next();
          if (kv.key.equals(after)) {
            continue;
          }
          ObjectNode o = entry.of(kv.key, kv.value);
          if (o != null) {
            ObjectNode keyed = JsonNodeFactory.instance.objectNode().put("key", kv.key);
            keyed.setAll(o);
            page.add(keyed);
            taken++;
          }
        }
      }
    }
    if (failed != null) {
      throw failed;
    }
    page.sort(BY_KEY);
    return page.size() > n ? new ArrayList<>(page.subList(0, n)) : page;
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
    http.route(
        prefix,
        (rest, query) -> {
          // rest is the request's path, already percent-decoded once: decoding it again read a
          // key's "+" as a space and refused its "%"
          String key = rest;
          if (key.isEmpty()) {
            return HttpApi.Reply.json(400, "{\"error\":\"GET " + prefix + "{key}\"}");
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
          // KeyedInput), and entries
          // stored under derived keys (a window's key@start) sit with it, not where their own hash
          // would put them.
          Integer partition = owner == null || owner.partition() < 0 ? null : owner.partition();
          try {
            return answer.of(
                key,
                params,
                (name, storeKey) -> {
                  StoreQueryParameters<ReadOnlyKeyValueStore<String, V>> where =
                      StoreQueryParameters.fromNameAndType(
                          name, QueryableStoreTypes.<String, V>keyValueStore());
                  return streams
                      .store(partition == null ? where : where.withPartition(partition))
                      .get(storeKey);
                });
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

  private static HttpApi.Reply unavailable(String why) {
    return HttpApi.Reply.json(
        503, dev.llmstreams.events.Json.toTree(Map.of("error", why)).toString());
  }
}
