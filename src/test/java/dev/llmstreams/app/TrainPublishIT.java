package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.testkit.CommittedReads;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promotion gate of {@code train --publish} on a real broker, with the specialist serving: a
 * model trained on shuffled labels is rejected (exit status 3, recorded under {@code
 * banking77/rejected} with its scores) and the model in service keeps serving; a better one goes in
 * service without a restart. The recent labels the gate scores on are produced with kcat, as any
 * client would.
 */
@WithKafka
class TrainPublishIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final JsonSerde<SpecialistModel> MODELS = JsonSerde.of(SpecialistModel.class);

  @TempDir Path dir;
  private KafkaCluster kafka;
  private TopicCatalog catalog;
  private Map<String, String> settings;
  private Path config;

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    TestDeployment deployment =
        TestDeployment.create(kafka, "tpub", dir)
            .with(
                Map.of(
                    AppConfig.SPECIALIST_TICK_MS,
                    "200",
                    // Only the command line trains here: the in-app trainer waits for far more
                    // labels.
                    AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS,
                    "1000000",
                    AppConfig.SPECIALIST_PROMOTION_MIN_EXAMPLES,
                    "100",
                    // No gateway runs here: an escalation times out and keeps the model's label.
                    AppConfig.SPECIALIST_ESCALATION_TIMEOUT_MS,
                    "500"));
    catalog = deployment.catalog();
    settings = deployment.settings();
    config = deployment.writeProperties(dir.resolve("app.properties"));
  }

  @Test
  void shouldRejectAModelTrainedOnShuffledLabelsAndPromoteABetterOneWithoutARestart()
      throws Exception {
    Set<String> labels = new TreeSet<>();
    Map<String, List<LabeledText>> byLabel = new LinkedHashMap<>();
    for (LabeledText e : LabeledData.classpath(LabeledData.BANKING77_TRAIN)) {
      if (byLabel.size() < 10 || byLabel.containsKey(e.label())) {
        byLabel.computeIfAbsent(e.label(), l -> new ArrayList<>()).add(e);
      }
    }
    labels.addAll(byLabel.keySet());
    List<LabeledText> weak = take(byLabel, 0, 6);
    List<LabeledText> strong = take(byLabel, 6, 60);
    List<LabeledText> test =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> labels.contains(e.label()))
            .toList();

    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
      app.start(List.of(new SpecialistModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      String status = "http://127.0.0.1:" + app.httpPort() + "/specialist";

      // Nothing in service: the first model goes in.
      CliRun first = train("weak", weak, test, false);
      assertThat(first.exit()).as(first.err()).isZero();
      SpecialistModel v1 = latest("banking77");
      assertThat(v1.promotion().decision()).isEqualTo(ModelPromotion.Decision.PROMOTED);
      assertThat(v1.promotion().reason()).isEqualTo("no model in service");
      await().atMost(Duration.ofSeconds(30)).until(() -> served(status).equals(v1.version()));

      // People label the test questions after v1 was built, with kcat.
      List<Map.Entry<String, String>> recent = new ArrayList<>();
      int i = 0;
      for (LabeledText e : test) {
        LabelEvent label =
            new LabelEvent(
                "recent-" + i, e.text(), e.label(), LabelEvent.Source.HUMAN, Instant.now());
        recent.add(Map.entry("recent-" + i++, Json.writer().writeValueAsString(label)));
      }
      Kcat.produce(kafka.bootstrapServers(), catalog.spec(TopicRole.LABELS).name(), recent);

      // The same texts with their labels shuffled among them: rejected, nothing changes in service.
      List<String> shuffledLabels =
          new ArrayList<>(strong.stream().map(LabeledText::label).toList());
      Collections.shuffle(shuffledLabels, new Random(3));
      List<LabeledText> shuffled = new ArrayList<>();
      for (int k = 0; k < strong.size(); k++) {
        shuffled.add(new LabeledText(strong.get(k).text(), shuffledLabels.get(k)));
      }
      CliRun bad = train("shuffled", shuffled, test, false);
      assertThat(bad.exit()).as(bad.err()).isEqualTo(TrainCommand.REJECTED);
      assertThat(bad.err()).contains("not published: worse than " + v1.version());
      SpecialistModel rejected = latest("banking77/rejected");
      ModelPromotion verdict = rejected.promotion();
      assertThat(verdict.decision()).isEqualTo(ModelPromotion.Decision.REJECTED);
      assertThat(verdict.decidedBy()).isEqualTo("train --publish");
      assertThat(verdict.incumbentVersion()).isEqualTo(v1.version());
      assertThat(verdict.examples()).isEqualTo(test.size());
      assertThat(verdict.candidate().accuracy()).isLessThan(verdict.incumbent().accuracy());
      assertThat(latest("banking77").version()).isEqualTo(v1.version());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  rejected.version().equals(get(status).path("rejected").path("version").asText()));
      assertThat(served(status)).isEqualTo(v1.version());

      // Ten times the examples: at least as good, so it goes in, and the app swaps to it.
      CliRun better = train("strong", strong, test, false);
      assertThat(better.exit()).as(better.err()).isZero();
      SpecialistModel v2 = latest("banking77");
      assertThat(v2.version()).isNotEqualTo(v1.version());
      assertThat(v2.promotion().decision()).isEqualTo(ModelPromotion.Decision.PROMOTED);
      assertThat(v2.promotion().candidate().coverage())
          .isGreaterThanOrEqualTo(v2.promotion().incumbent().coverage());
      await().atMost(Duration.ofSeconds(30)).until(() -> served(status).equals(v2.version()));
      JsonNode shown = get(status).path("promotion");
      assertThat(shown.path("decision").asText()).isEqualTo("promoted");
      assertThat(shown.path("incumbentVersion").asText()).isEqualTo(v1.version());

      replayTheRejectedCandidateOnRecordedRequests(status, test, rejected);

      // --force skips the gate, and says so on the record.
      CliRun forced = train("forced", shuffled, test, true);
      assertThat(forced.exit()).as(forced.err()).isZero();
      assertThat(latest("banking77").promotion().decision())
          .isEqualTo(ModelPromotion.Decision.FORCED);
    }
  }

  /**
   * {@code replay classifications --rejected}: the rejected candidate labels recorded requests
   * beside their recorded labels, into its own topic, and the report matches what this test
   * computes from the topics itself.
   */
  private void replayTheRejectedCandidateOnRecordedRequests(
      String status, List<LabeledText> test, SpecialistModel rejected) throws Exception {
    Instant from = Instant.now().minusSeconds(1);
    String requests = catalog.spec(TopicRole.CLASSIFICATION_REQUESTS).name();
    List<Map.Entry<String, String>> sent = new ArrayList<>();
    Map<String, LabeledText> byId = new LinkedHashMap<>();
    for (int k = 0; k < 40; k++) {
      LabeledText e = test.get(k * 10 % test.size());
      String id = "replay-" + k;
      byId.put(id, e);
      sent.add(
          Map.entry(id, Json.writer().writeValueAsString(Map.of("eventId", id, "text", e.text()))));
    }
    Kcat.produce(kafka.bootstrapServers(), requests, sent);
    String classifications = catalog.spec(TopicRole.CLASSIFICATIONS).name();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> committed(classifications).keySet().containsAll(byId.keySet()));
    Map<String, JsonNode> recorded = committed(classifications);
    // People label the first ten events afterwards (their true intents), with the Java client.
    List<String> labelled = new ArrayList<>(byId.keySet()).subList(0, 10);
    String labelsTopic = catalog.spec(TopicRole.LABELS).name();
    try (var producer =
        new org.apache.kafka.clients.producer.KafkaProducer<String, String>(
            kafka.producerProps(),
            new org.apache.kafka.common.serialization.StringSerializer(),
            new org.apache.kafka.common.serialization.StringSerializer())) {
      for (String id : labelled) {
        LabeledText e = byId.get(id);
        producer
            .send(
                new org.apache.kafka.clients.producer.ProducerRecord<>(
                    labelsTopic,
                    id,
                    Json.writer()
                        .writeValueAsString(
                            new LabelEvent(
                                id, e.text(), e.label(), LabelEvent.Source.HUMAN, Instant.now()))))
            .get();
      }
    }

    Path report = dir.resolve("replay.json");
    Path md = dir.resolve("replay.md");
    CliRun run =
        CliRun.of(
            "--config",
            config.toString(),
            "replay",
            "classifications",
            "--rejected",
            "--from",
            from.toString(),
            "--run",
            "r1",
            "--json",
            report.toString(),
            "--markdown",
            md.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    JsonNode r = Json.tree(Files.readString(report));
    assertThat(r.path("candidate_version").asText()).isEqualTo(rejected.version());

    // Independently: the rejected model from the topic labels the same texts.
    var candidate = dev.llmstreams.specialist.model.SpecialistModels.load(rejected);
    int agree = 0;
    for (Map.Entry<String, LabeledText> e : byId.entrySet()) {
      String label = candidate.predict(e.getValue().text()).label();
      agree += label.equals(recorded.get(e.getKey()).path("label").asText()) ? 1 : 0;
    }
    assertThat(r.path("totals").path("requests").asInt()).isEqualTo(byId.size());
    assertThat(r.path("totals").path("recorded").asInt()).isEqualTo(byId.size());
    assertThat(r.path("totals").path("agreement").asDouble())
        .isEqualTo((double) agree / byId.size());
    int right = 0;
    for (String id : labelled) {
      LabeledText e = byId.get(id);
      right += candidate.predict(e.text()).label().equals(e.label()) ? 1 : 0;
    }
    assertThat(r.path("totals").path("human_labels").asInt()).isEqualTo(labelled.size());
    assertThat(r.path("totals").path("candidate_accuracy_on_human_labels").asDouble())
        .isEqualTo((double) right / labelled.size());
    assertThat(Files.readString(md)).contains("# Replay of classifications: candidate");

    // Its labels are in its own topic, read committed; the production topic got none of them.
    Map<String, JsonNode> replayed =
        committed(settings.get(AppConfig.TOPICS_PREFIX) + "replay.r1.classifications");
    assertThat(replayed.keySet()).containsExactlyInAnyOrderElementsOf(byId.keySet());
    assertThat(replayed.values())
        .allSatisfy(c -> assertThat(c.path("modelVersion").asText()).isEqualTo(rejected.version()));
    assertThat(committedCount(classifications)).isEqualTo(recorded.size());
    assertThat(get(status).path("version").asText()).isNotEqualTo(rejected.version());

    // A run is written once.
    CliRun again =
        CliRun.of(
            "--config",
            config.toString(),
            "replay",
            "classifications",
            "--rejected",
            "--run",
            "r1");
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("run r1 was written already");
  }

  private Map<String, JsonNode> committed(String topic) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    readCommitted(
        topic, (k, v) -> out.putIfAbsent(k, Json.tree(new String(v, StandardCharsets.UTF_8))));
    return out;
  }

  private long committedCount(String topic) {
    long[] n = {0};
    readCommitted(topic, (k, v) -> n[0]++);
    return n[0];
  }

  private static List<LabeledText> take(Map<String, List<LabeledText>> byLabel, int from, int n) {
    List<LabeledText> out = new ArrayList<>();
    byLabel.values().forEach(l -> out.addAll(l.subList(from, Math.min(l.size(), from + n))));
    return out;
  }

  private CliRun train(String name, List<LabeledText> train, List<LabeledText> test, boolean force)
      throws Exception {
    Path trainFile = csv(name + "-train.csv", train);
    Path testFile = csv(name + "-test.csv", test);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--config",
                config.toString(),
                "train",
                "--train",
                trainFile.toString(),
                "--test",
                testFile.toString(),
                "--kind",
                "hashed",
                "--out-of-scope-groups",
                "0",
                "--out",
                dir.resolve(name).toString(),
                "--publish"));
    if (force) {
      args.add("--force");
    }
    return CliRun.of(args.toArray(String[]::new));
  }

  private Path csv(String file, List<LabeledText> rows) throws Exception {
    StringBuilder s = new StringBuilder("text,category\n");
    for (LabeledText r : rows) {
      s.append('"').append(r.text().replace("\"", "\"\"")).append("\",").append(r.label());
      s.append('\n');
    }
    return Files.writeString(dir.resolve(file), s.toString());
  }

  /** The latest committed record under {@code key} on specialist-models, as a user reads it. */
  private SpecialistModel latest(String key) {
    String topic = catalog.spec(TopicRole.SPECIALIST_MODELS).name();
    Map<String, byte[]> last = new HashMap<>();
    readCommitted(topic, last::put);
    byte[] value = last.get(key);
    assertThat(value).as("a record under %s", key).isNotNull();
    return MODELS.deserializer().deserialize(topic, value);
  }

  /** Every committed record of {@code topic} (key as text, value bytes), as a user reads it. */
  private void readCommitted(String topic, java.util.function.BiConsumer<String, byte[]> each) {
    CommittedReads.each(
        kafka, topic, r -> each.accept(new String(r.key(), StandardCharsets.UTF_8), r.value()));
  }

  private static JsonNode get(String url) throws Exception {
    return Json.tree(
        HTTP.send(
                HttpRequest.newBuilder(URI.create(url)).GET().build(),
                HttpResponse.BodyHandlers.ofString())
            .body());
  }

  private static String served(String url) throws Exception {
    return get(url).path("version").asText();
  }
}
