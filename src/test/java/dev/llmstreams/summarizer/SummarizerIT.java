package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.io.BufferedReader;
import java.io.InputStreamReader;
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
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The summarizer end to end on a real broker, with the gateway answering from the offline engine:
 * meeting transcript parts become a synthesis on the syntheses topic and at GET /syntheses/{key}.
 */
@WithKafka
class SummarizerIT {
  @Test
  void shouldTurnTranscriptPartsIntoASynthesisServedOverHttp(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    TestDeployment deployment =
        TestDeployment.create(kafka, "sum", dir)
            .with(
                Map.of(
                    AppConfig.SUMMARIZER_MERGE_FAN_IN,
                    "4",
                    AppConfig.SUMMARIZER_MERGE_TOKEN_BUDGET,
                    "600"));
    TopicCatalog catalog = deployment.catalog();
    List<String> parts = new ArrayList<>();
    try (var in =
        new BufferedReader(
            new InputStreamReader(
                getClass().getClassLoader().getResourceAsStream("demo/qmsum-documents.jsonl"),
                StandardCharsets.UTF_8))) {
      in.lines().filter(l -> l.contains("\"ES2004a-part-")).limit(6).forEach(parts::add);
    }
    assertThat(parts).hasSize(6);

    try (Observability observability = new Observability();
        LlmStreamsApp app =
            deployment.start(observability, List.of(new GatewayModule(), new SummarizerModule()))) {
      String documents = catalog.spec(TopicRole.DOCUMENTS).name();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
        for (String part : parts) {
          producer
              .send(
                  new ProducerRecord<>(
                      documents,
                      "ES2004a".getBytes(StandardCharsets.UTF_8),
                      part.getBytes(StandardCharsets.UTF_8)))
              .get();
        }
      }
      String synthesesTopic = catalog.spec(TopicRole.SYNTHESES).name();
      JsonSerde<Synthesis> serde = JsonSerde.of(Synthesis.class);
      List<Synthesis> seen = new ArrayList<>();
      try (KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("s")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(synthesesTopic));
        await()
            .atMost(Duration.ofSeconds(180))
            .until(
                () -> {
                  consumer
                      .poll(Duration.ofMillis(200))
                      .forEach(
                          r ->
                              seen.add(
                                  serde.deserializer().deserialize(synthesesTopic, r.value())));
                  return !seen.isEmpty() && seen.get(seen.size() - 1).documents() == 6;
                });
      }
      Synthesis last = seen.get(seen.size() - 1);
      assertThat(last.key()).isEqualTo("ES2004a");
      assertThat(last.text()).isNotBlank();
      assertThat(last.sourceDocIds()).hasSize(6).allMatch(id -> id.startsWith("ES2004a-part-"));
      assertThat(last.llmInputTokens()).isPositive();
      assertThat(last.chunks()).isGreaterThanOrEqualTo(6);

      HttpResponse<String> http =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + app.httpPort() + "/syntheses/ES2004a"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(http.statusCode()).isEqualTo(200);
      Synthesis served = Json.readerFor(Synthesis.class).readValue(http.body());
      assertThat(served.key()).isEqualTo("ES2004a");
      assertThat(served.documents()).isEqualTo(6);
      HttpResponse<String> missing =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://127.0.0.1:" + app.httpPort() + "/syntheses/no-such-key"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(missing.statusCode()).isEqualTo(404);
    }
  }
}
