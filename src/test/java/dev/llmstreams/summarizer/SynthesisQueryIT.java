package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two instances share the application id and split the keys; GET /syntheses/{key} answers on
 * either, from the instance that owns the key. Keys with characters a URL must encode ({@code +},
 * {@code %}, a space, {@code /}, non-ASCII) are found too, also when forwarded.
 */
@WithKafka
class SynthesisQueryIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final List<String> KEYS =
      List.of(
          "alpha",
          "bravo",
          "charlie",
          "delta",
          "echo",
          "foxtrot",
          "c++ team",
          "100% done",
          "r\u00e9union/\u00e9quipe",
          "a%2Fb");

  private static AppConfig config(KafkaCluster kafka, String prefix, Path state) {
    return AppConfig.of(
        Map.of(
            AppConfig.KAFKA_BOOTSTRAP,
            kafka.bootstrapServers(),
            AppConfig.TOPICS_PREFIX,
            prefix,
            AppConfig.APPLICATION_ID,
            prefix + "app",
            AppConfig.STATE_DIR,
            state.toString(),
            AppConfig.HTTP_PORT,
            "0"));
  }

  private static HttpResponse<String> get(LlmStreamsApp app, String key) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + app.httpPort()
                        + "/syntheses/"
                        + dev.llmstreams.observability.HttpApi.pathSegment(key)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldAnswerForEveryKeyOnEitherInstance(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    String prefix = KafkaCluster.uniqueName("iq") + ".";
    TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    try (Observability o1 = new Observability();
        Observability o2 = new Observability();
        LlmStreamsApp a = new LlmStreamsApp(config(kafka, prefix, dir.resolve("a")), catalog, o1);
        LlmStreamsApp b = new LlmStreamsApp(config(kafka, prefix, dir.resolve("b")), catalog, o2)) {
      a.start(List.of(new GatewayModule(), new SummarizerModule()));
      b.start(List.of(new GatewayModule(), new SummarizerModule()));
      await().atMost(Duration.ofSeconds(120)).until(() -> a.health().ready() && b.health().ready());
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        for (String key : KEYS) {
          producer
              .send(
                  new ProducerRecord<>(
                      catalog.spec(TopicRole.DOCUMENTS).name(),
                      key,
                      "{\"docId\":\""
                          + key
                          + "-1\",\"text\":\"The "
                          + key
                          + " team agreed to ship in March. The budget is"
                          + " twelve euros per unit.\",\"timestamp\":\"2026-11-02T09:00:00Z\"}"))
              .get();
        }
      }
      for (String key : KEYS) {
        for (LlmStreamsApp app : List.of(a, b)) {
          await()
              .atMost(Duration.ofSeconds(120))
              .untilAsserted(
                  () -> {
                    HttpResponse<String> r = get(app, key);
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    Synthesis s = Json.readerFor(Synthesis.class).readValue(r.body());
                    assertThat(s.key()).isEqualTo(key);
                    assertThat(s.text()).contains(key);
                  });
        }
      }
      // Each key lives on one instance, so for every key one of the two answers above was
      // forwarded.
      for (String key : KEYS) {
        var owner =
            a.streams()
                .get("summarizer")
                .queryMetadataForKey(SummarizerTopology.TREE_STORE, key, new StringSerializer());
        assertThat(owner.activeHost().port()).isIn(a.httpPort(), b.httpPort());
      }
    }
  }
}
