package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.llmstreams.events.Json;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A listing over two Streams instances on a real broker, each with a standby of the other's
 * partitions: every key once, in UTF-8 byte order, whichever instance is asked and however the
 * pages are cut: by the limit, by a filter, or by a scan bound much smaller than the store.
 */
@WithKafka
class StoreListingIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String STORE = "listed";

  @Test
  void everyKeyOnceInOrderWhicheverInstanceIsAskedAndHoweverThePagesAreCut(
      KafkaCluster kafka, @TempDir Path dir) throws Exception {
    String topic = KafkaCluster.uniqueName("listed");
    kafka.createTopic(topic, 4);
    // Keys whose UTF-8 order is not Java's String order (a supplementary character sorts after
    // U+FFFD in UTF-8, before it in UTF-16), spaces, '&', '=', '+' and '%' for the query string.
    List<String> keys = new ArrayList<>();
    IntStream.range(0, 60).forEach(i -> keys.add(String.format("k%02d", i)));
    keys.addAll(List.of("a b", "a&b=c", "x+y", "50%", "\uFFFD", "\uD83D\uDE00", "zoë"));
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
      for (String key : keys) {
        producer.send(new ProducerRecord<>(topic, key, Integer.toString(key.length()))).get();
      }
    }
    String app = KafkaCluster.uniqueName("listing");
    try (Observability observability = new Observability();
        Instance a = new Instance(kafka, app, topic, dir.resolve("a"), observability);
        Instance b = new Instance(kafka, app, topic, dir.resolve("b"), observability)) {
      await()
          .atMost(Duration.ofSeconds(90))
          .until(
              () ->
                  a.streams.state() == KafkaStreams.State.RUNNING
                      && b.streams.state() == KafkaStreams.State.RUNNING
                      && !a.streams
                          .metadataForLocalThreads()
                          .iterator()
                          .next()
                          .activeTasks()
                          .isEmpty()
                      && !b.streams
                          .metadataForLocalThreads()
                          .iterator()
                          .next()
                          .activeTasks()
                          .isEmpty());
      List<String> ordered =
          keys.stream()
              .sorted(Comparator.comparing(k -> Bytes.wrap(k.getBytes(StandardCharsets.UTF_8))))
              .toList();
      assertThat(ordered).isNotEqualTo(keys.stream().sorted().toList());

      // One page of everything, the same on both instances, once every key is in the store.
      String all =
          await()
              .atMost(Duration.ofSeconds(60))
              .until(
                  () -> {
                    HttpResponse<String> ra = a.get("/listed?limit=1000");
                    HttpResponse<String> rb = b.get("/listed?limit=1000");
                    return ra.statusCode() == 200 && ra.body().equals(rb.body()) ? ra.body() : null;
                  },
                  body -> body != null && Json.tree(body).path("items").size() == keys.size());
      assertThat(Json.tree(all).path("items").findValuesAsText("id")).isEqualTo(ordered);
      assertThat(Json.tree(all).has("next")).isFalse();
      assertThat(Json.tree(all).path("items").get(0).path("length").asInt())
          .isEqualTo(ordered.get(0).length());

      // Pages of 7, asked of each instance in turn: the same keys, in the same order.
      assertThat(walk(List.of(a, b), "limit=7")).isEqualTo(ordered);
      // A filter: only keys of length 3, in pages of 5, each page at most 5.
      assertThat(walk(List.of(b, a), "limit=5&length=3"))
          .isEqualTo(ordered.stream().filter(k -> k.length() == 3).toList());
      // A scan bound of 4 entries per partition: pages end early, the walk still sees every key.
      assertThat(walk(List.of(a.bounded, b.bounded), "limit=50")).isEqualTo(ordered);
      assertThat(walk(List.of(a.bounded, b.bounded), "limit=50&length=1"))
          .isEqualTo(ordered.stream().filter(k -> k.length() == 1).toList());

      for (String bad : List.of("limit=0", "limit=1001", "limit=ten", "length=x")) {
        HttpResponse<String> r = a.get("/listed?" + bad);
        assertThat(r.statusCode()).as(bad).isEqualTo(400);
        assertThat(Json.tree(r.body()).path("error").asText()).as(bad).isNotBlank();
      }
    }
  }

  /**
   * Follows {@code next} from the first page to the last, asking the instances in turn; checks each
   * page's size.
   */
  private static List<String> walk(List<?> askers, String query) throws Exception {
    int limit = Integer.parseInt(query.replaceAll(".*limit=(\\d+).*", "$1"));
    List<String> seen = new ArrayList<>();
    String after = null;
    for (int page = 0; page < 1000; page++) {
      Object asker = askers.get(page % askers.size());
      String path =
          (asker instanceof Instance i ? "/listed" : "/bounded")
              + "?"
              + query
              + (after == null ? "" : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8));
      Instance instance = asker instanceof Instance i ? i : ((Bounded) asker).instance;
      HttpResponse<String> r = instance.get(path);
      assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
      JsonNode body = Json.tree(r.body());
      assertThat(body.path("items").size()).as(path).isLessThanOrEqualTo(limit);
      seen.addAll(body.path("items").findValuesAsText("id"));
      if (!body.has("next")) {
        return seen;
      }
      String next = body.path("next").asText();
      assertThat(next).as("next after " + after).isNotEqualTo(after);
      after = next;
    }
    throw new AssertionError("no last page after 1000 pages of " + query);
  }

  /** The same instance's listing with a scan bound of 4, at {@code /bounded}. */
  record Bounded(Instance instance) {}

  /** One Streams instance of the application, with its HTTP server serving the listing. */
  private static final class Instance implements AutoCloseable {
    final HttpApi http;
    final KafkaStreams streams;
    final Bounded bounded = new Bounded(this);

    Instance(KafkaCluster kafka, String app, String topic, Path state, Observability observability)
        throws Exception {
      http =
          new HttpApi(
              "127.0.0.1",
              0,
              observability,
              () -> dev.llmstreams.observability.Health.of(Map.of("t", "RUNNING")));
      StreamsBuilder builder = new StreamsBuilder();
      builder.table(
          topic,
          Consumed.with(Serdes.String(), Serdes.String()),
          Materialized
              .<String, String, KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>as(STORE)
              .withKeySerde(Serdes.String())
              .withValueSerde(Serdes.String()));
      Properties props = kafka.streamsProps(app, state);
      props.put(StreamsConfig.APPLICATION_SERVER_CONFIG, "127.0.0.1:" + http.port());
      props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 1);
      streams = new KafkaStreams(builder.build(props), props);
      HostInfo self = new HostInfo("127.0.0.1", http.port());
      StoreListing.Entry<String> entry =
          (key, value, params) -> {
            String length = params.get("length");
            return length != null && !length.equals(value)
                ? null
                : JsonNodeFactory.instance.objectNode().put("length", Integer.parseInt(value));
          };
      java.util.function.Function<Map<String, String>, String> check =
          params ->
              params.containsKey("length") && !params.get("length").matches("\\d+")
                  ? "length must be a number"
                  : null;
      new StoreListing<>("/listed", STORE, "test app", "items", "id", check, entry)
          .register(http, streams, self);
      new StoreListing<>("/bounded", STORE, "test app", "items", "id", check, entry, 4)
          .register(http, streams, self);
      http.start();
      streams.start();
    }

    HttpResponse<String> get(String path) throws Exception {
      return HTTP.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
      streams.close(Duration.ofSeconds(10));
      http.close();
    }
  }
}
