package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelDigest;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The specialist end to end on a real broker with the gateway answering escalations through the
 * offline engine (the default provider, not an LLM: it picks the label nearest to the text among
 * those the request's response format allows), so escalations work with no LLM configured. The
 * model is the test stand-in ({@link TestBayesClassifier}).
 */
@WithKafka
class SpecialistIT {
  private static final JsonSerde<ClassificationRequest> REQUESTS =
      JsonSerde.of(ClassificationRequest.class);
  private static final JsonSerde<SpecialistModel> MODELS = JsonSerde.of(SpecialistModel.class);
  private static final JsonSerde<Classification> CLASSIFICATIONS =
      JsonSerde.of(Classification.class);
  private static final JsonSerde<LabelEvent> LABELS = JsonSerde.of(LabelEvent.class);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dir;
  private KafkaCluster kafka;
  private TopicCatalog catalog;
  private Map<String, String> settings;
  private Watcher watcher;

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    TestDeployment deployment =
        TestDeployment.create(kafka, "spc", dir).with(Map.of(AppConfig.SPECIALIST_TICK_MS, "100"));
    catalog = deployment.catalog();
    settings = deployment.settings();
    watcher = new Watcher();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (watcher != null) {
      watcher.close();
    }
  }

  private static TestBayesClassifier model(String version, int perLabel, double threshold) {
    Intents intents = new Intents(7);
    List<LabeledText> examples = new ArrayList<>();
    for (String label : Intents.LABELS) {
      for (int i = 0; i < perLabel; i++) {
        examples.add(intents.next(label));
      }
    }
    return TestBayesClassifier.train("banking77", version, threshold, Intents.LABELS, examples);
  }

  private String topic(TopicRole role) {
    return catalog.spec(role).name();
  }

  private void send(List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    Properties props = kafka.producerProps();
    props.put("max.request.size", 16 * 1024 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        producer.send(r).get();
      }
    }
  }

  private ProducerRecord<byte[], byte[]> request(String eventId, String text) {
    String t = topic(TopicRole.CLASSIFICATION_REQUESTS);
    return new ProducerRecord<>(
        t,
        bytes(eventId),
        REQUESTS
            .serializer()
            .serialize(
                t, new ClassificationRequest(eventId, text, Json.tree("{\"channel\":\"chat\"}"))));
  }

  private ProducerRecord<byte[], byte[]> model(TestBayesClassifier model) {
    return model(model, 0);
  }

  private ProducerRecord<byte[], byte[]> model(TestBayesClassifier model, int paddingBytes) {
    String t = topic(TopicRole.SPECIALIST_MODELS);
    return new ProducerRecord<>(
        t, bytes(model.name()), MODELS.serializer().serialize(t, model.record(paddingBytes)));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldWaitForAModelEscalateThroughTheGatewayAndHotSwapToASecondModel() throws Exception {
    try (Observability observability = new Observability();
        LlmStreamsApp app = startReady(observability)) {
      String base = "http://127.0.0.1:" + app.httpPort();

      // No model yet: the events wait, bad input goes to dead-letters, and /specialist says why
      // nothing happens.
      String requests = topic(TopicRole.CLASSIFICATION_REQUESTS);
      send(
          List.of(
              request("w0", "my new card has not arrived in the post yet"),
              new ProducerRecord<>(requests, bytes("bad"), bytes("{\"eventId\":\"bad\",\"text\":")),
              request("w1", "what exchange rate do you use for dollars to euros"),
              request("huge", "card ".repeat(3_000)),
              request("w2", "someone stole my wallet, block my card")));
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                HttpResponse<String> status = get(base + "/specialist");
                assertThat(status.statusCode()).isEqualTo(503);
                assertThat(Json.tree(status.body()).path("waiting").asInt()).isEqualTo(3);
                assertThat(status.body()).contains("no model 'banking77'").contains("--publish");
              });
      assertThat(watcher.classifications).isEmpty();
      JsonNode waiting = Json.tree(get(base + "/classifications/w0").body());
      assertThat(waiting.path("status").asText()).isEqualTo("waiting");
      assertThat(waiting.path("reason").asText()).contains("no model");
      assertThat(get(base + "/classifications/w").statusCode()).isEqualTo(404);

      // v1 is never confident enough (threshold 1): the waiting events escalate, the offline engine
      // answers.
      send(List.of(model(model("v1", 2, 1.0))));
      await().atMost(Duration.ofSeconds(120)).until(() -> watcher.classifications.size() >= 3);
      assertThat(watcher.classifications)
          .extracting(Classification::eventId)
          .containsExactlyInAnyOrder("w0", "w1", "w2");
      assertThat(watcher.classifications)
          .allSatisfy(
              c -> {
                assertThat(c.source()).isEqualTo(Classification.Source.OFFLINE_ENGINE);
                assertThat(c.modelVersion()).isEqualTo("offline/offline-engine");
                assertThat(Intents.LABELS).contains(c.label());
                assertThat(c.escalationReason()).startsWith("confidence ").contains(" < 1");
                assertThat(c.usage().inputTokens()).isPositive();
              });
      await().atMost(Duration.ofSeconds(30)).until(() -> watcher.labels.size() >= 3);
      for (Classification c : watcher.classifications) {
        JsonNode where = Json.tree(get(base + "/classifications/" + c.eventId()).body());
        assertThat(where.path("status").asText()).isEqualTo("labelled");
        assertThat(where.path("label").asText()).isEqualTo(c.label());
        assertThat(where.path("source").asText()).isEqualTo("offline-engine");
      }
      assertThat(watcher.labels)
          .allSatisfy(l -> assertThat(l.source()).isEqualTo(LabelEvent.Source.OFFLINE_ENGINE));
      assertThat(watcher.labels)
          .extracting(LabelEvent::eventId)
          .containsExactlyInAnyOrder("w0", "w1", "w2");

      // v2 trusts itself (threshold 0): later events are labelled inline and name v2. Its record is
      // 6.7 MB, near the
      // topic's 8 MiB limit, as a real model's weights can be.
      send(List.of(model(model("v2", 20, 0.0), 5 * 1024 * 1024)));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  Json.tree(get(base + "/specialist").body())
                      .path("version")
                      .asText()
                      .equals("v2"));
      List<ProducerRecord<byte[], byte[]>> after = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        after.add(request("a" + i, "my card is lost, please block it"));
      }
      send(after);
      await().atMost(Duration.ofSeconds(60)).until(() -> watcher.classifications.size() >= 8);
      assertThat(watcher.classifications.subList(3, 8))
          .allSatisfy(
              c -> {
                assertThat(c.source()).isEqualTo(Classification.Source.SPECIALIST);
                assertThat(c.modelVersion()).isEqualTo("v2");
                assertThat(c.label()).isEqualTo("lost_or_stolen_card");
              });
      assertThat(watcher.classifications)
          .extracting(Classification::eventId)
          .doesNotHaveDuplicates();

      await().atMost(Duration.ofSeconds(30)).until(() -> watcher.deadLetters.size() >= 2);
      assertThat(watcher.deadLetters)
          .anySatisfy(d -> assertThat(d).contains("malformed JSON"))
          .anySatisfy(
              d ->
                  assertThat(d)
                      .contains("event huge has 15,000 characters")
                      .contains("specialist.max.text.chars"));
      assertThat(get(base + "/specialist").statusCode()).isEqualTo(200);
      String metrics = get(base + "/metrics").body();
      assertThat(metrics)
          .contains("llmstreams_specialist_escalations_total")
          .contains(
              "llmstreams_specialist_predictions_total{label=\"lost_or_stolen_card\",source=\"specialist\"}")
          .contains("llmstreams_specialist_model{name=\"banking77\",version=\"v2\"}")
          .contains("llmstreams_specialist_waiting");
      assertThat(app.health().ready()).isTrue();
    }
  }

  /**
   * GET /classifications/{eventId} follows an event: unknown before, escalated while the LLM holds
   * its answer, labelled once it answers, as the event's record on classifications says.
   */
  @Test
  void shouldSayWhereAnEventIsWhileItsEscalationWaitsAndOnceItIsLabelled() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (dev.llmstreams.llm.ScriptedLlmServer llm = dev.llmstreams.llm.ScriptedLlmServer.start()) {
      llm.setDefault(
          request -> {
            try {
              release.await(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return dev.llmstreams.llm.ScriptedLlmServer.Reply.json(
                dev.llmstreams.llm.ScriptedLlmServer.openAiText(
                    "{\"label\":\"card_arrival\",\"confidence\":0.9}"));
          });
      settings.put(AppConfig.LLM_ROUTE_DEFAULT, "openai");
      settings.put(AppConfig.provider("openai", "base.url"), llm.openAiBaseUrl().toString());
      settings.put(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret");
      try (Observability observability = new Observability();
          LlmStreamsApp app = startReady(observability)) {
        String base = "http://127.0.0.1:" + app.httpPort() + "/classifications/";
        assertThat(get(base + "e1").statusCode()).isEqualTo(404);
        // v1 is never confident enough (threshold 1): the event escalates, and the LLM holds its
        // answer.
        send(List.of(model(model("v1", 2, 1.0)), request("e1", "my card has not arrived yet")));
        JsonNode escalated =
            await()
                .atMost(Duration.ofSeconds(60))
                .until(
                    () -> Json.tree(get(base + "e1").body()),
                    body -> body.path("status").asText().equals("escalated"));
        assertThat(escalated.path("modelVersion").asText()).isEqualTo("v1");
        assertThat(Intents.LABELS).contains(escalated.path("specialistLabel").asText());
        assertThat(escalated.path("reason").asText()).startsWith("confidence ");
        assertThat(watcher.classifications).isEmpty();

        release.countDown();
        await().atMost(Duration.ofSeconds(60)).until(() -> watcher.classifications.size() >= 1);
        Classification c = watcher.classifications.get(0);
        JsonNode labelled =
            await()
                .atMost(Duration.ofSeconds(30))
                .until(
                    () -> Json.tree(get(base + "e1").body()),
                    body -> body.path("status").asText().equals("labelled"));
        assertThat(labelled.path("eventId").asText()).isEqualTo("e1");
        assertThat(labelled.path("label").asText()).isEqualTo(c.label()).isEqualTo("card_arrival");
        assertThat(labelled.path("source").asText()).isEqualTo("llm");
        assertThat(labelled.path("confidence").asDouble()).isEqualTo(c.confidence());
        assertThat(labelled.path("specialistLabel").asText())
            .isEqualTo(escalated.path("specialistLabel").asText());
        assertThat(labelled.path("modelVersion").asText()).isEqualTo(c.modelVersion());
        assertThat(get(base + "never-sent").statusCode()).isEqualTo(404);
        assertThat(Json.tree(get(base + "never-sent").body()).path("error").asText())
            .contains("specialist.accuracy.retention.ms");
        assertThat(get(base).statusCode()).isEqualTo(400);
        assertThat(Json.tree(get(base).body()).path("error").asText())
            .isEqualTo("GET /classifications/{key} for one key");
      }
    }
  }

  @Test
  void shouldRetrainFromLabelsPublishTheBetterModelAndServeIt() throws Exception {
    settings.put(AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS, "80");
    // About 20 of the 100 labels are held out to compare: the gate decides on as few as 10.
    settings.put(AppConfig.SPECIALIST_PROMOTION_MIN_EXAMPLES, "10");
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
      app.start(
          List.of(
              new GatewayModule(),
              new SpecialistModule(
                  TestBayesClassifier.loader(),
                  TestBayesClassifier.retrainer(Intents.LABELS, 0.0))));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      String base = "http://127.0.0.1:" + app.httpPort();
      send(List.of(model(model("seed", 1, 0.5))));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  "seed"
                      .equals(
                          Json.tree(get(base + "/specialist").body()).path("version").asText()));

      // People label 100 examples (no event behind them: keyed by nothing); they all reach the one
      // trainer task.
      String labels = topic(TopicRole.LABELS);
      List<ProducerRecord<byte[], byte[]>> examples = new ArrayList<>();
      for (LabeledText e : new Intents(9).take(100)) {
        examples.add(
            new ProducerRecord<>(
                labels,
                null,
                LABELS
                    .serializer()
                    .serialize(
                        labels,
                        new LabelEvent(
                            null,
                            e.text(),
                            e.label(),
                            LabelEvent.Source.HUMAN,
                            java.time.Instant.now()))));
      }
      send(examples);
      await()
          .atMost(Duration.ofSeconds(120))
          .until(
              () ->
                  Json.tree(get(base + "/specialist").body())
                      .path("version")
                      .asText()
                      .startsWith("retrained-"));
      String metrics = get(base + "/metrics").body();
      assertThat(metrics)
          .contains("llmstreams_specialist_retrains_total{outcome=\"published\"} 1.0");

      send(List.of(request("after-retrain", "my card is lost, please block it")));
      await().atMost(Duration.ofSeconds(60)).until(() -> !watcher.classifications.isEmpty());
      assertThat(watcher.classifications.get(0).modelVersion()).startsWith("retrained-");
    }
  }

  private ProducerRecord<byte[], byte[]> model(SpecialistModel record) {
    String t = topic(TopicRole.SPECIALIST_MODELS);
    return new ProducerRecord<>(t, bytes(record.name()), MODELS.serializer().serialize(t, record));
  }

  private static void deleteRecursively(Path root) throws java.io.IOException {
    if (Files.exists(root)) {
      try (var paths = Files.walk(root)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static String servedVersion(String base) throws Exception {
    return Json.tree(get(base + "/specialist").body()).path("version").asText();
  }

  /** Labels {@code eventId} and returns the version of the model that labelled it. */
  private String labelledBy(String eventId) throws Exception {
    send(List.of(request(eventId, "my card is lost, please block it")));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> watcher.classifications.stream().anyMatch(c -> c.eventId().equals(eventId)));
    Classification c =
        watcher.classifications.stream()
            .filter(x -> x.eventId().equals(eventId))
            .findFirst()
            .orElseThrow();
    assertThat(c.source()).isEqualTo(Classification.Source.SPECIALIST);
    return c.modelVersion();
  }

  @Test
  void shouldServeOnlySignedModelsAndKeepServingTheOldOneAcrossARestart() throws Exception {
    KeyPair trainer = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Path verifyKey =
        Files.writeString(
            dir.resolve("model-verify.pem"),
            "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getEncoder().encodeToString(trainer.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
    settings.put(AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE, verifyKey.toString());
    ModelTrust signer = ModelTrust.of(trainer.getPrivate(), List.of());
    ModelTrust forger =
        ModelTrust.of(
            KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate(), List.of());

    try (Observability observability = new Observability();
        LlmStreamsApp app = startReady(observability)) {
      String base = "http://127.0.0.1:" + app.httpPort();
      send(List.of(model(signer.seal(model("v1", 20, 0.0).record()))));
      await().atMost(Duration.ofSeconds(30)).until(() -> servedVersion(base).equals("v1"));
      assertThat(labelledBy("before")).isEqualTo("v1");

      // A signed v2 whose artifact was changed after signing, an unsigned v3 (good digest), a v4
      // signed by a key the app does not trust.
      SpecialistModel v2 = signer.seal(model("v2", 20, 0.0).record());
      byte[] artifact = Base64.getDecoder().decode(v2.artifact());
      artifact[artifact.length / 2] ^= 1;
      SpecialistModel tampered =
          new SpecialistModel(
              v2.name(),
              v2.version(),
              v2.createdAt(),
              v2.labels(),
              v2.trainingDataDigest(),
              v2.metrics(),
              v2.config(),
              v2.format(),
              Base64.getEncoder().encodeToString(artifact),
              v2.artifactSha256(),
              v2.digest(),
              v2.signature(),
              v2.keyId());
      send(
          List.of(
              model(tampered),
              model(ModelDigest.digested(model("v3", 20, 0.0).record())),
              model(forger.seal(model("v4", 20, 0.0).record()))));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  Json.tree(get(base + "/specialist").body()).path("refused").path("count").asInt()
                      >= 3);
      JsonNode status = Json.tree(get(base + "/specialist").body());
      assertThat(status.path("version").asText()).isEqualTo("v1");
      assertThat(status.path("signaturesRequired").asBoolean()).isTrue();
      assertThat(status.path("refused").path("last").path("version").asText()).isEqualTo("v4");
      assertThat(status.path("refused").path("last").path("reason").asText())
          .isEqualTo("unknown_key");
      assertThat(labelledBy("after-refusals"))
          .as("the model in service keeps serving")
          .isEqualTo("v1");
      assertThat(get(base + "/metrics").body())
          .contains("llmstreams_specialist_models_refused_total{reason=\"digest_mismatch\"} 1.0")
          .contains("llmstreams_specialist_models_refused_total{reason=\"unsigned\"} 1.0")
          .contains("llmstreams_specialist_models_refused_total{reason=\"unknown_key\"} 1.0")
          .contains("llmstreams_specialist_models_refused_total{reason=\"bad_signature\"} 0.0");
    }

    // A restart: the latest record on the topic is refused; the last one that verifies is served,
    // from the store (kept state), then from the topic (state wiped: every record is checked
    // again).
    try (Observability observability = new Observability();
        LlmStreamsApp app = startServing(observability, "v1")) {
      assertThat(app.health().ready()).isTrue();
      assertThat(labelledBy("after-restart")).isEqualTo("v1");
    }
    deleteRecursively(Path.of(settings.get(AppConfig.STATE_DIR)));
    try (Observability observability = new Observability();
        LlmStreamsApp app = startServing(observability, "v1")) {
      String base = "http://127.0.0.1:" + app.httpPort();
      assertThat(Json.tree(get(base + "/specialist").body()).path("refused").path("count").asInt())
          .as("v2, v3 and v4 read again from the topic and refused again")
          .isEqualTo(3);
      assertThat(labelledBy("after-wiped-restart")).isEqualTo("v1");

      // A properly signed newer model is served.
      send(List.of(model(signer.seal(model("v5", 20, 0.0).record()))));
      await().atMost(Duration.ofSeconds(30)).until(() -> servedVersion(base).equals("v5"));
      assertThat(labelledBy("after-v5")).isEqualTo("v5");
    }
    assertThat(watcher.classifications).extracting(Classification::eventId).doesNotHaveDuplicates();
  }

  /** The gateway and the specialist (test loader, no retraining), once ready. */
  private LlmStreamsApp startReady(Observability observability) throws Exception {
    LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
    app.start(
        List.of(
            new GatewayModule(),
            new SpecialistModule(TestBayesClassifier.loader(), ModelRetrainer.none())));
    await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
    return app;
  }

  /**
   * The gateway and the specialist (test loader, no retraining), once it serves {@code version}.
   */
  private LlmStreamsApp startServing(Observability observability, String version) throws Exception {
    LlmStreamsApp app = startReady(observability);
    String base = "http://127.0.0.1:" + app.httpPort();
    await().atMost(Duration.ofSeconds(30)).until(() -> servedVersion(base).equals(version));
    return app;
  }

  @Test
  void shouldLabelEveryEventExactlyOnceAcrossAHardKill() throws Exception {
    settings.putAll(TestDeployment.SHORT_SESSIONS);
    Path config = ChildJvm.writeConfig(dir.resolve("specialist.properties"), settings);
    // A model unsure of most events: most go through the gateway, so escalations are in flight at
    // the kill.
    send(List.of(model(model("v1", 3, 0.9))));
    int n = 200;
    Intents intents = new Intents(5);
    List<ProducerRecord<byte[], byte[]>> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      events.add(request("k" + i, intents.next().text()));
    }
    Process first = startChild(config, "first");
    int atKill;
    try {
      send(events);
      await().atMost(Duration.ofSeconds(180)).until(() -> watcher.classifications.size() >= n / 3);
      first.destroyForcibly(); // SIGKILL: no shutdown hook, no commit
      first.waitFor();
      atKill = watcher.classifications.size();
    } finally {
      first.destroyForcibly();
    }
    Process second = startChild(config, "second");
    try {
      await()
          .atMost(Duration.ofSeconds(240))
          .until(
              () ->
                  watcher.classifications.stream()
                          .map(Classification::eventId)
                          .collect(Collectors.toSet())
                          .size()
                      >= n);
      // a little longer: no late duplicate may arrive for 3 s
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  watcher.classifications.size()
                      == watcher.classifications.stream()
                          .map(Classification::eventId)
                          .distinct()
                          .count());
    } finally {
      second.destroy();
      second.waitFor();
    }
    long escalated = watcher.classifications.stream().filter(c -> c.source().escalated()).count();
    System.out.printf(
        "specialist hard kill: %d of %d events labelled before the kill; %d by the LLM path%n",
        atKill, n, escalated);
    assertThat(atKill).isLessThan(n);
    assertThat(watcher.classifications).hasSize(n);
    Set<String> ids =
        watcher.classifications.stream().map(Classification::eventId).collect(Collectors.toSet());
    assertThat(ids).hasSize(n);
    assertThat(escalated).isPositive();
    assertThat(watcher.labels)
        .extracting(LabelEvent::eventId)
        .doesNotHaveDuplicates()
        .hasSize((int) escalated);
  }

  private Process startChild(Path config, String name) throws Exception {
    return ChildJvm.start(dir, name, SpecialistTestApp.class.getName(), config.toString());
  }

  /** Reads what a user would see (read_committed): classifications, labels, dead letters. */
  private final class Watcher implements AutoCloseable {
    final List<Classification> classifications = new CopyOnWriteArrayList<>();
    final List<LabelEvent> labels = new CopyOnWriteArrayList<>();
    final List<String> deadLetters = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;

    Watcher() {
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("watch")),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      consumer.subscribe(
          List.of(
              topic(TopicRole.CLASSIFICATIONS),
              topic(TopicRole.LABELS),
              topic(TopicRole.DEAD_LETTERS)));
      thread = new Thread(this::loop, "specialist-it-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.topic().equals(topic(TopicRole.CLASSIFICATIONS))) {
            classifications.add(CLASSIFICATIONS.deserializer().deserialize(r.topic(), r.value()));
          } else if (r.topic().equals(topic(TopicRole.LABELS))) {
            labels.add(LABELS.deserializer().deserialize(r.topic(), r.value()));
          } else {
            var h = r.headers().lastHeader(DeadLetters.EXCEPTION_MESSAGE);
            deadLetters.add(h == null ? "?" : new String(h.value(), StandardCharsets.UTF_8));
          }
        }
      }
    }

    @Override
    public void close() {
      try {
        running.set(false);
        thread.join(5_000);
        consumer.close(
            org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
      }
    }
  }
}
