package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real broker: the bytes a raw producer sends to an input topic that a running topology reads
 * land in dead-letters with the source headers, unchanged, and the app stays RUNNING and keeps
 * working.
 */
@WithKafka
class DeadLettersIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void shouldDeadLetterPoisonInputAndStayRunning(KafkaCluster kafka, @TempDir Path stateDir)
      throws Exception {
    String prefix = KafkaCluster.uniqueName("dlq") + ".";
    AppConfig config =
        AppConfig.load(
            null,
            Map.of("KAFKA_BOOTSTRAP", kafka.bootstrapServers()),
            Map.of(
                AppConfig.TOPICS_PREFIX,
                prefix,
                AppConfig.APPLICATION_ID,
                prefix + "app",
                AppConfig.STATE_DIR,
                stateDir.toString(),
                AppConfig.HTTP_PORT,
                "0"));
    TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    String documents = catalog.spec(TopicRole.DOCUMENTS).name();
    String deadLetters = catalog.spec(TopicRole.DEAD_LETTERS).name();
    String requests = catalog.spec(TopicRole.LLM_REQUESTS).name();

    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability)) {
      app.start(Patterns.select(List.of("summarizer"), true));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());

      byte[] key = "meeting-x".getBytes(StandardCharsets.UTF_8);
      byte[] poison = "not json".getBytes(StandardCharsets.UTF_8);
      byte[] good =
          "{\"docId\":\"ok-1\",\"text\":\"We agreed to ship in March.\",\"timestamp\":\"2026-11-02T09:00:00Z\"}"
              .getBytes(StandardCharsets.UTF_8);
      // 12 million characters: accepted by the topic (16 MiB records) but over
      // summarizer.max.document.chars
      byte[] huge =
          ("{\"docId\":\"huge-1\",\"text\":\""
                  + "word ".repeat(2_400_000)
                  + "\",\"timestamp\":\"2026-11-02T09:00:00Z\"}")
              .getBytes(StandardCharsets.UTF_8);
      Properties producerProps = kafka.producerProps();
      producerProps.put("max.request.size", 20 * 1024 * 1024);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              producerProps, new ByteArraySerializer(), new ByteArraySerializer())) {
        ProducerRecord<byte[], byte[]> bad = new ProducerRecord<>(documents, key, poison);
        bad.headers().add("trace-id", "abc".getBytes(StandardCharsets.UTF_8));
        producer.send(bad).get();
        producer.send(new ProducerRecord<>(documents, key, huge)).get();
        producer.send(new ProducerRecord<>(documents, key, good)).get();
      }

      List<ConsumerRecord<byte[], byte[]>> dead = readCommitted(kafka, deadLetters, 2);
      assertThat(dead).hasSize(2);
      ConsumerRecord<byte[], byte[]> tooLarge = dead.get(1);
      assertThat(tooLarge.value()).isEqualTo(huge);
      assertThat(header(tooLarge, DeadLetters.STAGE)).isEqualTo("processing");
      assertThat(header(tooLarge, DeadLetters.EXCEPTION_MESSAGE))
          .contains("huge-1")
          .contains("12,000,000 characters")
          .contains("summarizer.max.document.chars");
      ConsumerRecord<byte[], byte[]> d = dead.get(0);
      assertThat(d.key()).isEqualTo(key);
      assertThat(d.value()).isEqualTo(poison);
      assertThat(header(d, "trace-id")).isEqualTo("abc");
      assertThat(header(d, DeadLetters.SOURCE_TOPIC)).isEqualTo(documents);
      assertThat(header(d, DeadLetters.SOURCE_PARTITION)).matches("\\d+");
      assertThat(header(d, DeadLetters.SOURCE_OFFSET)).isEqualTo("0");
      assertThat(header(d, DeadLetters.EXCEPTION_CLASS))
          .isEqualTo("org.apache.kafka.common.errors.SerializationException");
      assertThat(header(d, DeadLetters.EXCEPTION_MESSAGE)).contains("Document");

      List<ConsumerRecord<byte[], byte[]>> out = readCommitted(kafka, requests, 1);
      assertThat(new String(out.get(0).value(), StandardCharsets.UTF_8)).contains("ok-1");
      assertThat(app.streams().get("summarizer").state()).isEqualTo(KafkaStreams.State.RUNNING);

      String base = "http://127.0.0.1:" + app.httpPort();
      assertThat(get(base + "/ready").statusCode()).isEqualTo(200);
      assertThat(get(base + "/health").body()).contains("\"summarizer\":\"RUNNING\"");
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                String metrics = get(base + "/metrics").body();
                assertThat(metrics)
                    .contains("llmstreams_dead_letters_total{")
                    .contains("source_topic=\"" + documents + "\"")
                    .contains("kafka_stream_")
                    .contains("llmstreams_summarizer_documents_total");
              });
    }
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<ConsumerRecord<byte[], byte[]>> readCommitted(
      KafkaCluster kafka, String topic, int n) {
    Properties props = kafka.consumerProps(KafkaCluster.uniqueName("reader"));
    props.put("max.partition.fetch.bytes", 32 * 1024 * 1024);
    List<ConsumerRecord<byte[], byte[]>> seen = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
                return seen.size() >= n;
              });
    }
    return seen;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
