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
          send(producer, documents, "ES2004a", part);
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

      HttpResponse<String> http = get(app, "/syntheses/ES2004a");
      assertThat(http.statusCode()).isEqualTo(200);
      Synthesis served = Json.readerFor(Synthesis.class).readValue(http.body());
      assertThat(served.key()).isEqualTo("ES2004a");
      assertThat(served.documents()).isEqualTo(6);
      HttpResponse<String> missing = get(app, "/syntheses/no-such-key");
      assertThat(missing.statusCode()).isEqualTo(404);

      // The listing: every key with a synthesis, as /syntheses/{key} serves it, and the windows
      // that ?window= reads.
      com.fasterxml.jackson.databind.JsonNode list = Json.tree(get(app, "/syntheses").body());
      assertThat(list.path("syntheses")).hasSize(1);
      assertThat(list.has("next")).isFalse();
      com.fasterxml.jackson.databind.JsonNode entry = list.path("syntheses").get(0);
      assertThat(entry.path("key").asText()).isEqualTo("ES2004a");
      assertThat(entry.path("documents").asLong()).isEqualTo(6);
      assertThat(entry.path("updatedAt").asText()).isEqualTo(served.updatedAt().toString());
      List<String> listedWindows = entry.path("windows").findValuesAsText("start");
      assertThat(listedWindows)
          .as("windows of the documents' times")
          .isNotEmpty()
          .containsAll(
              seen.stream()
                  .filter(s -> s.window() != null)
                  .map(s -> s.window().start().toString())
                  .distinct()
                  .toList());
      for (String start : listedWindows) {
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> get(app, "/syntheses/ES2004a?window=" + start).statusCode() == 200);
      }
      assertThat(Json.tree(get(app, "/syntheses?after=ES2004a").body()).path("syntheses"))
          .isEmpty();
      assertThat(Json.tree(get(app, "/syntheses?after=E").body()).path("syntheses")).hasSize(1);
      for (String bad : List.of("limit=0", "limit=1001", "limit=x", "limit=-5")) {
        HttpResponse<String> refused = get(app, "/syntheses?" + bad);
        assertThat(refused.statusCode()).as(bad).isEqualTo(400);
        assertThat(Json.tree(refused.body()).path("error").asText()).as(bad).isNotBlank();
      }
      assertThat(get(app, "/synthesesX").statusCode()).isEqualTo(404);
      HttpResponse<String> noKey = get(app, "/syntheses/");
      assertThat(noKey.statusCode()).isEqualTo(400);
      assertThat(Json.tree(noKey.body()).path("error").asText())
          .isEqualTo("GET /syntheses/{key} for one key; GET /syntheses lists them");
    }
  }

  /**
   * A document whose chunk summary failed is retried by sending it again, as its dead letter says:
   * the gateway keeps the failure under the chunk's request id, so only a new id reaches the LLM.
   * The same document with other text is refused.
   */
  @Test
  void shouldRetryTheFailedChunkOfADocumentSentAgainAndRefuseOtherTextUnderItsDocId(
      KafkaCluster kafka, @TempDir Path dir) throws Exception {
    String kcat = dev.llmstreams.testkit.Kcat.requireInstalled();
    java.util.concurrent.atomic.AtomicInteger asked =
        new java.util.concurrent.atomic.AtomicInteger();
    try (dev.llmstreams.llm.ScriptedLlmServer llm = dev.llmstreams.llm.ScriptedLlmServer.start()) {
      llm.setDefault(
          request ->
              request.body().contains("RETRY-ME") && asked.getAndIncrement() == 0
                  ? dev.llmstreams.llm.ScriptedLlmServer.Reply.json(
                      400,
                      dev.llmstreams.llm.ScriptedLlmServer.openAiError(
                          "invalid_request_error", "scripted: refused once"))
                  : dev.llmstreams.llm.ScriptedLlmServer.Reply.json(
                      dev.llmstreams.llm.ScriptedLlmServer.openAiText(
                          "Summary: the team agreed to ship in March.")));
      TestDeployment deployment =
          TestDeployment.create(kafka, "sumretry", dir).withOpenAi(llm.openAiBaseUrl());
      TopicCatalog catalog = deployment.catalog();
      String documents = catalog.spec(TopicRole.DOCUMENTS).name();
      String deadLetters = catalog.spec(TopicRole.DEAD_LETTERS).name();
      String synthesesTopic = catalog.spec(TopicRole.SYNTHESES).name();
      String doc =
          "{\"docId\":\"d1\",\"text\":\"RETRY-ME. We agreed to ship in March.\","
              + "\"timestamp\":\"2026-11-02T09:00:00Z\"}";
      try (Observability observability = new Observability();
          LlmStreamsApp app =
              deployment.start(
                  observability, List.of(new GatewayModule(), new SummarizerModule()));
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
        send(producer, documents, "retry-meeting", doc);
        await()
            .atMost(Duration.ofSeconds(90))
            .until(
                () ->
                    deadLetterMessages(kafka, deadLetters).stream()
                        .anyMatch(m -> m.contains("failed")));
        assertThat(deadLetterMessages(kafka, deadLetters))
            .singleElement()
            .asString()
            .contains("the summary of chunk retry-meeting@")
            .contains("/d1/0 failed")
            .contains("send the document again (same docId and text) to retry");

        // Sent again as a user would, with kcat (librdkafka's partitioner).
        dev.llmstreams.testkit.Kcat.produce(
            kafka.bootstrapServers(), documents, List.of(Map.entry("retry-meeting", doc)));
        await()
            .atMost(Duration.ofSeconds(90))
            .until(() -> allTime(kafka, synthesesTopic, "retry-meeting") != null);
        Synthesis synthesis = allTime(kafka, synthesesTopic, "retry-meeting");
        assertThat(synthesis.documents()).isEqualTo(1);
        assertThat(synthesis.sourceDocIds()).containsExactly("d1");
        HttpResponse<String> served = get(app, "/syntheses/retry-meeting");
        assertThat(Json.readerFor(Synthesis.class).<Synthesis>readValue(served.body()).documents())
            .isEqualTo(1);
        // The failed call and the retry under its new id; the gateway answered nothing from a
        // cached failure.
        assertThat(llm.requests().stream().filter(r -> r.body().contains("RETRY-ME")).count())
            .as("LLM calls with the document's text (%s)", kcat)
            .isEqualTo(2);

        // Other text under the same docId: refused, and never sent to the LLM.
        send(producer, documents, "retry-meeting", doc.replace("ship in March", "cut the budget"));
        await()
            .atMost(Duration.ofSeconds(90))
            .until(() -> deadLetterMessages(kafka, deadLetters).size() == 2);
        assertThat(deadLetterMessages(kafka, deadLetters).get(1))
            .startsWith("document d1 of key retry-meeting was sent before with other text");
        assertThat(llm.requests()).noneMatch(r -> r.body().contains("cut the budget"));
      }
    }
  }

  private static void send(
      KafkaProducer<byte[], byte[]> producer, String topic, String key, String value)
      throws Exception {
    producer
        .send(
            new ProducerRecord<>(
                topic,
                key.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8)))
        .get();
  }

  private static HttpResponse<String> get(LlmStreamsApp app, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> deadLetterMessages(KafkaCluster kafka, String topic) {
    List<String> out = new ArrayList<>();
    dev.llmstreams.testkit.CommittedReads.each(
        kafka,
        topic,
        r ->
            out.add(
                dev.llmstreams.testkit.RecordLog.header(
                    r, dev.llmstreams.topics.DeadLetters.EXCEPTION_MESSAGE)));
    return out;
  }

  /** The latest all-time synthesis of {@code key}, read committed; null before the first. */
  private static Synthesis allTime(KafkaCluster kafka, String topic, String key) {
    Synthesis[] latest = {null};
    dev.llmstreams.testkit.CommittedReads.eachValue(
        kafka,
        topic,
        Synthesis.class,
        s -> {
          if (s.key().equals(key) && s.window() == null) {
            latest[0] = s;
          }
        });
    return latest[0];
  }
}
