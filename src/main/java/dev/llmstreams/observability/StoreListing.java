package dev.llmstreams.observability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.query.FailureReason;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.query.RangeQuery;
import org.apache.kafka.streams.query.StateQueryRequest;
import org.apache.kafka.streams.query.StateQueryResult;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;

/**
 * {@code GET <path>[?after=<key>&limit=<n>&<filters>]}: the keys of a key-value store on every
 * instance of an application, in pages, in the order the store keeps them (their UTF-8 bytes).
 *
 * <p>The instance asked lists the partitions it owns (IQv2 range queries, standbys left to their
 * active task) and asks each other instance for theirs ({@code ?local}), then merges. A page holds
 * at most {@code limit} entries (default {@value #DEFAULT_LIMIT}, at most {@value #MAX_LIMIT}) and,
 * when there may be more, {@code "next"}: the key to ask {@code after}. A filter that matches few
 * keys does not make one request read a whole store: each partition examines at most {@value
 * #SCAN_LIMIT} entries per request, and the page then ends where every partition has been read to
 * (it may hold fewer than {@code limit} entries, or none, and still have a {@code next}). When the
 * application rebalances or an instance does not answer, the listing is 503 (retry), never a page
 * with keys silently missing.
 *
 * @param path the route, e.g. {@code /syntheses}
 * @param store the key-value store keyed by String
 * @param what the pattern, for messages
 * @param field the name of the array of entries in the reply
 * @param keyField the name of the key in each entry
 * @param check the filter parameters' error, or null when they are valid
 * @param entry a key's entry
 * @param scanLimit entries one partition examines per request ({@value #SCAN_LIMIT} in the app)
 */
public record StoreListing<V>(
    String path,
    String store,
    String what,
    String field,
    String keyField,
    Function<Map<String, String>, String> check,
    Entry<V> entry,
    int scanLimit) {

  /** A listing whose partitions examine at most {@value #SCAN_LIMIT} entries per request. */
  public StoreListing(
      String path,
      String store,
      String what,
      String field,
      String keyField,
      Function<Map<String, String>, String> check,
      Entry<V> entry) {
    this(path, store, what, field, keyField, check, entry, SCAN_LIMIT);
  }

  /** The most entries one page holds. */
  public static final int MAX_LIMIT = 1000;

  /** The entries of a page unless asked for fewer. */
  public static final int DEFAULT_LIMIT = 100;

  /** Entries one partition examines for one request, whatever its filters leave out. */
  public static final int SCAN_LIMIT = 10_000;

  /** The reply's field, in a peer's answer, up to which its partitions were read. */
  private static final String SCANNED_TO = "scannedTo";

  /**
   * One key's entry: a JSON object about the value stored under the key (without the key, which the
   * listing adds), or null to leave the key out (nothing to show yet, or filtered out).
   */
  @FunctionalInterface
  public interface Entry<V> {
    ObjectNode of(String key, V value, Map<String, String> params) throws Exception;
  }

  /** Serves the listing on {@code http} for the application {@code streams} at {@code self}. */
  public void register(HttpApi http, KafkaStreams streams, HostInfo self) {
    http.route(path, (rest, query) -> answer(http, streams, self, query));
  }

  private HttpApi.Reply answer(HttpApi http, KafkaStreams streams, HostInfo self, String query)
      throws Exception {
    Map<String, String> params;
    try {
      params = StoreQuery.params(query);
    } catch (IllegalArgumentException malformed) {
      return StoreQuery.MALFORMED_QUERY;
    }
    boolean local = params.containsKey(StoreQuery.LOCAL);
    int limit;
    try {
      limit = params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : DEFAULT_LIMIT;
    } catch (NumberFormatException e) {
      limit = -1;
    }
    // a peer is asked for one more than the page, to tell whether there is a next one
    if (limit < 1 || limit > MAX_LIMIT + (local ? 1 : 0)) {
      return HttpApi.Reply.error(400, "limit must be a whole number from 1 to " + MAX_LIMIT);
    }
    String invalid = check.apply(params);
    if (invalid != null) {
      return HttpApi.Reply.error(400, invalid);
    }
    String after = params.get("after");
    if (streams.state() != KafkaStreams.State.RUNNING) {
      return StoreQuery.notRunning(streams, what);
    }
    Page page;
    try {
      page = localPage(streams, after, local ? limit : limit + 1, params);
    } catch (InvalidStateStoreException e) {
      return StoreQuery.unavailable(
          "the " + what + " state of this instance is being moved or restored; retry shortly");
    }
    if (!local) {
      for (StreamsMetadata peer : streams.streamsMetadataForStore(store)) {
        HostInfo host = peer.hostInfo();
        if (host == null || host.port() == -1 || host.equals(self)) {
          continue;
        }
        HttpApi.Reply reply =
            StoreQuery.forward(
                http.client(),
                http.scheme(),
                HttpApi.callerAuthorization(),
                host,
                forwarded(params, limit + 1));
        if (reply.status() != 200) {
          return reply.status() == 503
              ? reply
              : StoreQuery.unavailable(
                  "the instance at "
                      + host.host()
                      + ":"
                      + host.port()
                      + " answered "
                      + reply.status()
                      + " for its part of the list; retry shortly");
        }
        JsonNode body = Json.tree(reply.body());
        for (JsonNode e : body.path(field)) {
          if (e instanceof ObjectNode o) {
            page.entries.add(o);
          }
        }
        if (body.hasNonNull(SCANNED_TO)) {
          page.scannedTo(body.get(SCANNED_TO).asText());
        }
      }
    }
    if (streams.state() != KafkaStreams.State.RUNNING) {
      // a rebalance began while listing: a partition may have been listed twice or not at all
      return StoreQuery.notRunning(streams, what);
    }
    return HttpApi.Reply.json(200, (local ? page.asPart() : page.asPage(limit)).toString());
  }

  /** The request to a peer: this one's parameters, its own part of one more than the page. */
  private String forwarded(Map<String, String> params, int n) {
    StringBuilder q = new StringBuilder(path).append('?').append(StoreQuery.LOCAL);
    q.append("&limit=").append(n);
    params.forEach(
        (name, value) -> {
          if (!name.equals("limit") && !name.equals(StoreQuery.LOCAL)) {
            q.append('&')
                .append(URLEncoder.encode(name, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
          }
        });
    return q.toString();
  }

  /**
   * This instance's part: at most {@code n} entries after {@code after} from each of its active
   * partitions of the store, and how far the partitions whose scan bound ran out were read.
   */
  private Page localPage(KafkaStreams streams, String after, int n, Map<String, String> params)
      throws Exception {
    RangeQuery<String, V> range =
        (after == null
                ? RangeQuery.<String, V>withNoBounds()
                : RangeQuery.<String, V>withLowerBound(after))
            .withAscendingKeys();
    StateQueryResult<KeyValueIterator<String, V>> result =
        streams.query(StateQueryRequest.inStore(store).withQuery(range).requireActive());
    Page page = new Page();
    for (QueryResult<KeyValueIterator<String, V>> part : result.getPartitionResults().values()) {
      if (part.isFailure()) {
        if (part.getFailureReason() == FailureReason.NOT_ACTIVE) {
          continue; // a standby here: its active task, on another instance, lists it
        }
        throw new InvalidStateStoreException(
            part.getFailureReason() + ": " + part.getFailureMessage());
      }
      try (KeyValueIterator<String, V> it = part.getResult()) {
        int taken = 0;
        int examined = 0;
        String last = null;
        while (taken < n && it.hasNext()) {
          if (examined == scanLimit) {
            page.scannedTo(last);
            break;
          }
          var kv = it.next();
          examined++;
          last = kv.key;
          if (kv.key.equals(after)) {
            continue;
          }
          ObjectNode o = entry.of(kv.key, kv.value, params);
          if (o != null) {
            ObjectNode keyed = JsonNodeFactory.instance.objectNode().put(keyField, kv.key);
            keyed.setAll(o);
            page.entries.add(keyed);
            taken++;
          }
        }
      }
    }
    return page;
  }

  private static Bytes utf8(String key) {
    return Bytes.wrap(key.getBytes(StandardCharsets.UTF_8));
  }

  /** Entries gathered so far, and the lowest key up to which a partition stopped reading. */
  private final class Page {
    final List<ObjectNode> entries = new ArrayList<>();
    String scannedTo;

    void scannedTo(String key) {
      if (scannedTo == null || utf8(key).compareTo(utf8(scannedTo)) < 0) {
        scannedTo = key;
      }
    }

    private List<ObjectNode> sorted() {
      // keys past where a partition stopped reading could be missing the partition's own
      List<ObjectNode> out = new ArrayList<>();
      for (ObjectNode e : entries) {
        if (scannedTo == null || utf8(key(e)).compareTo(utf8(scannedTo)) <= 0) {
          out.add(e);
        }
      }
      out.sort(Comparator.comparing(e -> utf8(key(e))));
      return out;
    }

    private String key(ObjectNode e) {
      return e.path(keyField).asText();
    }

    /** A peer's part: every entry (the asking instance cuts the page), and where it stopped. */
    ObjectNode asPart() {
      ObjectNode body = JsonNodeFactory.instance.objectNode();
      ArrayNode items = body.putArray(field);
      entries.forEach(items::add);
      if (scannedTo != null) {
        body.put(SCANNED_TO, scannedTo);
      }
      return body;
    }

    /** The page the caller gets. */
    ObjectNode asPage(int limit) {
      List<ObjectNode> all = sorted();
      ObjectNode body = JsonNodeFactory.instance.objectNode();
      ArrayNode items = body.putArray(field);
      List<ObjectNode> shown = all.size() > limit ? all.subList(0, limit) : all;
      shown.forEach(items::add);
      if (all.size() > limit) {
        body.put("next", key(shown.get(shown.size() - 1)));
      } else if (scannedTo != null) {
        body.put("next", scannedTo);
      }
      return body;
    }
  }
}
