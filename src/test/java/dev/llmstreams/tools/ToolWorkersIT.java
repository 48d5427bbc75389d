package dev.llmstreams.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool workers on a real broker under exactly-once: a call is answered once on tool-results
 * (read committed), the same callId again gets the same result without a second run, a publish
 * lands on its topic with its result, and an unreadable call goes to dead-letters with the reason
 * while the next call is still answered.
 */
@WithKafka
class ToolWorkersIT {
  @Test
  void shouldAnswerEachCallIdOnceAndRepeatTheSameResult(KafkaCluster kafka, @TempDir Path dir)
      throws Exception {
    TestDeployment deployment = TestDeployment.create(kafka, "tools", dir);
    TopicCatalog catalog = deployment.catalog();
    String alerts = deployment.prefix() + "alerts";
    kafka.createTopics(alerts);
    deployment.with(Map.of(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS, alerts));
    String calculatorTopic = catalog.toolCalls("calculator", ToolCall.class).name();
    String publishTopic = catalog.toolCalls("publish", ToolCall.class).name();
    String resultsTopic = catalog.topic(Topics.TOOL_RESULTS).name();
    String deadLetters = catalog.spec(TopicRole.DEAD_LETTERS).name();
    JsonSerde<ToolCall> calls = JsonSerde.of(ToolCall.class);
    JsonSerde<ToolResult> results = JsonSerde.of(ToolResult.class);
    ToolCall first =
        new ToolCall(
            "g1/0/0",
            "g1",
            0,
            0,
            "calculator",
            Json.tree("{\"expression\":\"0.1 + 0.2\"}"),
            1,
            10_000,
            null);
    ToolCall retry =
        new ToolCall("g1/0/0", "g1", 0, 0, "calculator", first.arguments(), 2, 10_000, null);

    try (Observability observability = new Observability();
        LlmStreamsApp app = deployment.start(observability, List.of(new ToolsModule()));
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer());
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(
                kafka.consumerProps(KafkaCluster.uniqueName("r")),
                new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(resultsTopic, deadLetters, alerts));
      List<ConsumerRecord<byte[], byte[]>> seen = new ArrayList<>();

      producer
          .send(
              new ProducerRecord<>(
                  calculatorTopic,
                  bytes("g1"),
                  calls.serializer().serialize(calculatorTopic, first)))
          .get();
      List<ToolResult> answers = readResults(consumer, seen, resultsTopic, results, 1);
      assertThat(answers.get(0).ok()).isTrue();
      assertThat(answers.get(0).callId()).isEqualTo("g1/0/0");
      assertThat(answers.get(0).result().get("value").asText()).isEqualTo("0.3");

      producer
          .send(
              new ProducerRecord<>(
                  calculatorTopic,
                  bytes("g1"),
                  calls.serializer().serialize(calculatorTopic, retry)))
          .get();
      answers = readResults(consumer, seen, resultsTopic, results, 2);
      assertThat(answers.get(1)).isEqualTo(answers.get(0));
      var registry = observability.registry();
      assertThat(
              registry
                  .get("llmstreams.tools.calls")
                  .tags("tool", "calculator", "outcome", "ok")
                  .counter()
                  .count())
          .isEqualTo(1.0);
      assertThat(registry.get("llmstreams.tools.repeats").counter().count()).isEqualTo(1.0);

      // An unreadable call is dead-lettered with the reason; the next call is still answered, with
      // its publication.
      producer
          .send(new ProducerRecord<>(calculatorTopic, bytes("g2"), bytes("{\"callId\": nope")))
          .get();
      ToolCall publish =
          new ToolCall(
              "g2/0/0",
              "g2",
              0,
              0,
              "publish",
              Json.tree(
                  "{\"topic\":\""
                      + alerts
                      + "\",\"key\":\"team-a\",\"record\":{\"text\":\"build is red\"}}"),
              1,
              10_000,
              null);
      producer
          .send(
              new ProducerRecord<>(
                  publishTopic, bytes("g2"), calls.serializer().serialize(publishTopic, publish)))
          .get();
      answers = readResults(consumer, seen, resultsTopic, results, 3);
      assertThat(answers.get(2).callId()).isEqualTo("g2/0/0");
      assertThat(answers.get(2).ok()).as(answers.get(2).error()).isTrue();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
                return seen.stream().anyMatch(r -> r.topic().equals(alerts))
                    && seen.stream().anyMatch(r -> r.topic().equals(deadLetters));
              });
      ConsumerRecord<byte[], byte[]> published =
          seen.stream().filter(r -> r.topic().equals(alerts)).findFirst().orElseThrow();
      assertThat(new String(published.key(), StandardCharsets.UTF_8)).isEqualTo("team-a");
      assertThat(Json.tree(new String(published.value(), StandardCharsets.UTF_8)))
          .isEqualTo(Json.tree("{\"text\":\"build is red\"}"));
      ConsumerRecord<byte[], byte[]> dead =
          seen.stream().filter(r -> r.topic().equals(deadLetters)).findFirst().orElseThrow();
      assertThat(new String(dead.value(), StandardCharsets.UTF_8)).isEqualTo("{\"callId\": nope");
      assertThat(header(dead, DeadLetters.SOURCE_TOPIC)).isEqualTo(calculatorTopic);
      assertThat(header(dead, DeadLetters.STAGE)).isEqualTo("deserialization");
      assertThat(header(dead, DeadLetters.EXCEPTION_MESSAGE)).contains("cannot read ToolCall");
      assertThat(seen.stream().filter(r -> r.topic().equals(alerts)).count()).isEqualTo(1);
      assertThat(app.health().ready()).isTrue();
    }
  }

  private static List<ToolResult> readResults(
      KafkaConsumer<byte[], byte[]> consumer,
      List<ConsumerRecord<byte[], byte[]>> seen,
      String topic,
      JsonSerde<ToolResult> serde,
      int count) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
              return seen.stream().filter(r -> r.topic().equals(topic)).count() >= count;
            });
    return seen.stream()
        .filter(r -> r.topic().equals(topic))
        .map(r -> serde.deserializer().deserialize(topic, r.value()))
        .toList();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
