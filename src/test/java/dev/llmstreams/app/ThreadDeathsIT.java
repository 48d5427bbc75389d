package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real broker, exactly-once: a record whose processing throws an {@code Error} (which no
 * exception handler of Kafka Streams catches) kills its stream thread, and, its offset never
 * committed, kills each replacement too. The pattern replaces threads up to {@code
 * stream.thread.replacements.max}, then shuts down (ERROR, /health alive false) instead of
 * replacing them forever (ERROR is final: no thread runs again); the other patterns keep running.
 */
@WithKafka
class ThreadDeathsIT {
  private static final int LIMIT = 2;

  @Test
  void aThreadThatDiesAgainAtOnceStopsThePatternAfterTheLimit(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    TestDeployment deployment =
        TestDeployment.create(kafka, "deaths", dir)
            .with(
                Map.of(
                    AppConfig.STREAM_THREAD_REPLACEMENTS_MAX,
                    Integer.toString(LIMIT),
                    // A dead thread's member holds its partition until its session expires: the
                    // next thread meets the record then.
                    AppConfig.CLIENT_PREFIX + "session.timeout.ms",
                    "6000",
                    AppConfig.CLIENT_PREFIX + "heartbeat.interval.ms",
                    "1500"));
    Doomed doomed = new Doomed();
    try (Observability observability = new Observability();
        LlmStreamsApp app = deployment.start(observability, List.of(new GatewayModule(), doomed))) {
      assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        producer
            .send(
                new ProducerRecord<>(
                    deployment.catalog().spec(TopicRole.DOCUMENTS).name(), "k", "die"))
            .get();
      }
      await("the doomed pattern shut down")
          .dontCatchUncaughtExceptions() // the stream threads' deaths are the point
          .atMost(Duration.ofSeconds(90))
          .until(() -> "ERROR".equals(app.health().components().get("doomed")));
      assertThat(app.health().alive()).isFalse();
      assertThat(app.health().components()).containsEntry("gateway", "RUNNING");
      // GET /tasks still answers, and says what it cannot read of the stopped pattern.
      java.net.http.HttpResponse<String> tasks =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create("http://127.0.0.1:" + app.httpPort() + "/tasks"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(tasks.statusCode()).isEqualTo(200);
      com.fasterxml.jackson.databind.JsonNode patterns =
          dev.llmstreams.events.Json.tree(tasks.body()).path("patterns");
      assertThat(patterns.path("doomed").path("state").asText()).isEqualTo("ERROR");
      assertThat(patterns.path("gateway").path("instances").size()).isEqualTo(1);
      // The first thread and each of its LIMIT replacements met the record once.
      assertThat(doomed.deaths.get()).isEqualTo(LIMIT + 1);
      assertThat(
              observability
                  .registry()
                  .get("llmstreams.stream.threads.replaced")
                  .tag("pattern", "doomed")
                  .counter()
                  .count())
          .isEqualTo(LIMIT);
    }
  }

  /** A pattern that reads the documents and throws an Error on "die". */
  private static final class Doomed implements PatternModule {
    final AtomicInteger deaths = new AtomicInteger();

    @Override
    public String name() {
      return "doomed";
    }

    @Override
    public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
      Topology topology = new Topology();
      topology.addSource(
          "documents",
          Serdes.String().deserializer(),
          Serdes.String().deserializer(),
          catalog.spec(TopicRole.DOCUMENTS).name());
      topology.addProcessor(
          "die",
          () ->
              new org.apache.kafka.streams.processor.api.Processor<String, String, Void, Void>() {
                @Override
                public void process(
                    org.apache.kafka.streams.processor.api.Record<String, String> record) {
                  if ("die".equals(record.value())) {
                    deaths.incrementAndGet();
                    throw new AssertionError("an Error no handler catches");
                  }
                }
              },
          "documents");
      return topology;
    }
  }
}
