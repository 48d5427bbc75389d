package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Json;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.Counter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real broker, exactly-once: an instance stopped cleanly (SIGTERM, a rolling deploy) starts
 * again from its local state. Not one changelog record is restored into any store of any pattern,
 * including a task that holds an event waiting for a model while its recent-labels window store is
 * still empty (Kafka Streams 4.4 found no committed offset in a window store without segments and
 * wiped the whole task as corrupted on every restart).
 */
@WithKafka
class CleanRestartIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static List<PatternModule> everyPattern() {
    return List.of(
        new GatewayModule(),
        new ControllerModule(),
        new ToolsModule(),
        new SummarizerModule(),
        new SpecialistModule());
  }

  @Test
  void aCleanRestartRestoresNothingFromTheChangelogs(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    TestDeployment deployment =
        TestDeployment.create(kafka, "restart", dir)
            .with(
                Map.of(
                    AppConfig.SPECIALIST_TICK_MS, "100",
                    AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "0"));
    try (Observability observability = new Observability();
        LlmStreamsApp app = deployment.start(observability, everyPattern())) {
      String base = "http://127.0.0.1:" + app.httpPort();
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        producer
            .send(
                new ProducerRecord<>(
                    deployment.catalog().spec(TopicRole.GOALS).name(),
                    "g1",
                    "{\"goalId\":\"g1\",\"goal\":\"What is 6 times 7?\"}"))
            .get();
        producer
            .send(
                new ProducerRecord<>(
                    deployment.catalog().spec(TopicRole.DOCUMENTS).name(),
                    "meeting-1",
                    "{\"docId\":\"d1\",\"text\":\"We agreed to ship release 2 in March.\","
                        + "\"timestamp\":\"2026-11-02T09:00:00Z\"}"))
            .get();
        // No model is published: the event waits in its task's store.
        producer
            .send(
                new ProducerRecord<>(
                    deployment.catalog().spec(TopicRole.CLASSIFICATION_REQUESTS).name(),
                    "e1",
                    "{\"eventId\":\"e1\",\"text\":\"my new card has not arrived yet\"}"))
            .get();
      }
      awaitState(base);
    }

    try (Observability observability = new Observability();
        LlmStreamsApp app = deployment.start(observability, everyPattern())) {
      awaitState("http://127.0.0.1:" + app.httpPort());
      Map<String, Double> restored = new TreeMap<>();
      for (Counter c :
          observability.registry().find("llmstreams.state.restored.records").counters()) {
        restored.merge(
            c.getId().getTag("pattern") + "/" + c.getId().getTag("store"), c.count(), Double::sum);
      }
      assertThat(restored)
          .as("stores registered")
          .containsKeys(
              "specialist/specialist-waiting",
              "controller/controller-goal-log",
              "summarizer/summarizer-merge-tree");
      assertThat(restored)
          .as("changelog records restored after a clean restart, by pattern/store")
          .allSatisfy((store, records) -> assertThat(records).as(store).isZero());
    }
  }

  /** The goal, the synthesis and the waiting event are in the stores, and served. */
  private static void awaitState(String base) {
    await()
        .atMost(Duration.ofSeconds(90))
        .untilAsserted(
            () -> {
              assertThat(get(base + "/goals/g1").statusCode()).isEqualTo(200);
              assertThat(get(base + "/syntheses/meeting-1").statusCode()).isEqualTo(200);
              assertThat(Json.tree(get(base + "/specialist").body()).path("waiting").asInt())
                  .isEqualTo(1);
            });
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }
}
