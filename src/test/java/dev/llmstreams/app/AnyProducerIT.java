package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.bench.LibrdkafkaPartitioner;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.Partitions;
import dev.llmstreams.testkit.PrometheusText;
import dev.llmstreams.testkit.RecordLog;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 15 end to end: users produce with any client, not only Java's. librdkafka clients (kcat,
 * Python, Go, .NET, Node) put a keyed record on CRC32(key) % N, producers with explicit partitions
 * or partitioners of their own put it anywhere, while the app's own Java producers put LLM replies,
 * tool results and LLM labels on murmur2(key) % N. The app must bring every keyed input record to
 * the task that holds its key's state, so that the outcome does not depend on the client.
 *
 * <p>Each test runs one pattern on a real broker and sends the same logical inputs three ways, in
 * turn, with ids of their own ({@link Way}): the Java default producer, {@code kcat} with its
 * default partitioner, and a Java producer that writes every record to an explicit partition that
 * is not murmur2's (a different wrong one from record to record, so one key's records are
 * scattered). Each way must get every output exactly once (read_committed), the outputs of the
 * three ways must be the same but for the ids, and {@code llmstreams_records_rerouted_total} must
 * count exactly the records that were off their murmur2 partition: none of the Java default way's.
 */
@WithKafka
class AnyProducerIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** How long one way's outputs may take; every hop is on loopback and the LLM answers at once. */
  private static final Duration SETTLE = Duration.ofSeconds(90);

  private static final String REROUTED = "llmstreams_records_rerouted_total";
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<Synthesis> SYNTHESES = JsonSerde.of(Synthesis.class);
  private static final JsonSerde<Classification> CLASSIFICATIONS =
      JsonSerde.of(Classification.class);
  private static final JsonSerde<LabelEvent> LABELS = JsonSerde.of(LabelEvent.class);
  private static final JsonSerde<SpecialistModel> MODELS = JsonSerde.of(SpecialistModel.class);
  private static final String SUMMARY =
      "Summary: the team agreed to ship the release in March within budget.";
  private static final Pattern GOAL_TEXT =
      Pattern.compile("^Goal (\\S+): compute ([0-9+*/() -]+)\\.");
  private static final Pattern VALUE = Pattern.compile("\"value\"\\s*:\\s*\"([^\"]+)\"");
  private static final Pattern FENCED_TEXT = Pattern.compile("<text>(.*)</text>");

  /** How a user's client places a record; the tag starts every id the way sends. */
  enum Way {
    JAVA_DEFAULT("jd"),
    KCAT("kc"),
    WRONG_PARTITION("wp");

    final String tag;

    Way(String tag) {
      this.tag = tag;
    }

    String id(String base) {
      return tag + "-" + base;
    }

    boolean owns(String id) {
      return id != null && id.startsWith(tag + "-");
    }

    /** The text with this way's ids made neutral, to compare the outputs of the ways. */
    String neutral(String text) {
      return text == null ? null : text.replace(tag + "-", "*-");
    }
  }

  @TempDir Path dir;
  private KafkaCluster kafka;
  private TestDeployment deployment;
  private TopicCatalog catalog;
  private ScriptedLlmServer llm;
  private KafkaProducer<String, String> producer;
  private String newsTopic = "?";

  /** Varies the wrong partition from record to record. */
  private final AtomicInteger salt = new AtomicInteger();

  private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();

  /**
   * Every record a way sent, as {@link #sentRecord}: the read-back tells them from the app's (its
   * LLM labels).
   */
  private final Set<String> sentRecords = ConcurrentHashMap.newKeySet();

  /** The true label of each event text, as the scripted LLM answers an escalation of it. */
  private final Map<String, String> trueLabels = new ConcurrentHashMap<>();

  @BeforeAll
  static void kcatIsInstalled() {
    System.out.println("any producer: " + Kcat.requireInstalled());
  }

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    deployment = TestDeployment.create(kafka, "anyp", dir);
    catalog = deployment.catalog();
    llm = ScriptedLlmServer.start();
    llm.setDefault(request -> ScriptedLlmServer.Reply.json(answer(request.json())));
    deployment.with(
        Map.of(
            AppConfig.LLM_ROUTE_DEFAULT,
            "openai",
            AppConfig.provider("openai", "base.url"),
            llm.openAiBaseUrl().toString(),
            AppConfig.provider("openai", "api.key"),
            "sk-test-not-a-secret"));
    // Users' producers compress; the Java ways send lz4 batches, kcat zstd ones.
    java.util.Properties props = kafka.producerProps();
    props.put(org.apache.kafka.clients.producer.ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    producer = new KafkaProducer<>(props);
  }

  @AfterEach
  void tearDown() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    if (llm != null) {
      llm.close();
    }
  }

  // ---- controller

  @Test
  void everyGoalEndsExactlyOnceWhicheverClientSentItAndItsApproval() throws Exception {
    newsTopic = deployment.prefix() + "team-news";
    kafka.createTopics(newsTopic);
    deployment.with(
        Map.of(
            AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS,
            newsTopic,
            AppConfig.CONTROLLER_TICK_MS,
            "100"));
    String goals = topic(TopicRole.GOALS);
    String approvals = topic(TopicRole.APPROVALS);
    String results = topic(TopicRole.GOAL_RESULTS);
    String events = topic(TopicRole.GOAL_EVENTS);
    // g5 and g6 also publish to the team: the publish tool requires approval, which the way sends
    // as well.
    List<String> bases = List.of("g1", "g2", "g3", "g4", "g5", "g6");
    Set<String> publishing = Set.of("g5", "g6");
    Map<Way, Map<String, String>> outcomes = new EnumMap<>(Way.class);
    Set<String> approved = ConcurrentHashMap.newKeySet();
    try (Observability observability = new Observability();
        LlmStreamsApp app =
            new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability);
        RecordLog log = new RecordLog(kafka, List.of(results, events, newsTopic))) {
      app.start(List.of(new GatewayModule(), new ControllerModule(), new ToolsModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      for (Way way : Way.values()) {
        double before = rerouted(app, goals, approvals);
        List<String> ids = bases.stream().map(way::id).toList();
        List<Map.Entry<String, String>> records = new ArrayList<>();
        for (int i = 0; i < bases.size(); i++) {
          String id = ids.get(i);
          String expression = "(" + (i + 2) + " + 5) * 7";
          boolean publish = publishing.contains(bases.get(i));
          records.add(
              Map.entry(
                  id,
                  json(
                      new Goal(
                          id,
                          "Goal "
                              + id
                              + ": compute "
                              + expression
                              + "."
                              + (publish ? " Then tell the team the result." : ""),
                          publish ? List.of("calculator", "publish") : List.of("calculator"),
                          null,
                          null,
                          null,
                          Map.of("way", way.tag),
                          null))));
        }
        send(way, goals, records);
        awaitNothingMissing(
            way + ": goals with no goal-result (the last goal-event of each in brackets)",
            () -> {
              approvePending(way, log, events, approvals, approved);
              Set<String> finished =
                  values(log, results, RESULTS).stream()
                      .map(GoalResult::goalId)
                      .collect(Collectors.toSet());
              return ids.stream()
                  .filter(id -> !finished.contains(id))
                  .map(id -> id + " [" + lastEvent(log, events, id) + "]")
                  .toList();
            });
        int misplaced = misplaced(goals, way) + misplaced(approvals, way);
        assertRerouted(
            way, misplaced, rerouted(app, goals, approvals) - before, goals + ", " + approvals);
        outcomes.put(way, goalOutcomes(way, values(log, results, RESULTS)));
      }
      // a little longer: no late duplicate may arrive for 3 s
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(() -> distinct(values(log, results, RESULTS), GoalResult::goalId));
      List<GoalResult> all = values(log, results, RESULTS);
      assertThat(all)
          .extracting(GoalResult::goalId)
          .as("exactly one goal-result per goal")
          .doesNotHaveDuplicates()
          .hasSize(Way.values().length * bases.size());
      assertThat(all)
          .allSatisfy(
              r ->
                  assertThat(r.status())
                      .as(r.goalId() + ": " + r.reason())
                      .isEqualTo(GoalStatus.SUCCEEDED));
      // Each result carries its goal's metadata back, whichever way the goal came.
      assertThat(all)
          .allSatisfy(
              r ->
                  assertThat(r.metadata())
                      .as(r.goalId())
                      .containsOnlyKeys("way")
                      .containsEntry("way", r.goalId().substring(0, 2)));
      assertSameOutcomes(outcomes);
      List<GoalEvent> trail = values(log, events, EVENTS);
      List<String> published = log.of(newsTopic).stream().map(RecordLog::key).toList();
      for (Way way : Way.values()) {
        for (String base : publishing) {
          String id = way.id(base);
          assertThat(trail)
              .as(id + " had its call released by the approval it sent")
              .anySatisfy(
                  e -> {
                    assertThat(e.goalId()).isEqualTo(id);
                    assertThat(e.type()).isEqualTo(GoalEventType.APPROVAL_RECEIVED);
                  });
          assertThat(published).as("what " + id + " published").containsOnlyOnce(id);
        }
      }
      assertThat(published).hasSize(Way.values().length * publishing.size());
    }
  }

  /** Approves, through {@code way}, each call of the way's goals that waits for approval, once. */
  private void approvePending(
      Way way, RecordLog log, String events, String approvals, Set<String> approved)
      throws Exception {
    List<Map.Entry<String, String>> decisions = new ArrayList<>();
    for (GoalEvent e : values(log, events, EVENTS)) {
      if (e.type() == GoalEventType.APPROVAL_REQUESTED
          && way.owns(e.goalId())
          && approved.add(e.causationId())) {
        decisions.add(
            Map.entry(
                e.goalId(),
                json(
                    new Approval(
                        e.goalId(),
                        e.causationId(),
                        Approval.Decision.APPROVE,
                        "the result is right",
                        "it-approver",
                        null))));
      }
    }
    if (!decisions.isEmpty()) {
      send(way, approvals, decisions);
    }
  }

  private static String lastEvent(RecordLog log, String events, String goalId) {
    GoalEvent last = null;
    for (GoalEvent e : values(log, events, EVENTS)) {
      if (e.goalId().equals(goalId)) {
        last = e;
      }
    }
    return last == null ? "no goal-event" : last.type() + ": " + cut(last.summary(), 160);
  }

  private static Map<String, String> goalOutcomes(Way way, List<GoalResult> results) {
    Map<String, String> out = new TreeMap<>();
    for (GoalResult r : results) {
      if (way.owns(r.goalId())) {
        out.put(
            way.neutral(r.goalId()),
            r.status() + " after " + r.steps() + " steps: " + way.neutral(r.answer()));
      }
    }
    return out;
  }

  // ---- summarizer

  /**
   * @param windowMs one-day windows (the default: the documents' open window and the all-time tree
   *     both hold every document), or none (the all-time tree alone)
   */
  @ParameterizedTest(name = "summarizer.window.ms={0}")
  @ValueSource(strings = {"86400000", "0"})
  void everyKeyGetsItsSynthesisWhicheverClientSentItsDocuments(String windowMs) throws Exception {
    deployment.with(
        Map.of(
            AppConfig.SUMMARIZER_WINDOW_MS,
            windowMs,
            AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
            "0"));
    String documents = topic(TopicRole.DOCUMENTS);
    String syntheses = topic(TopicRole.SYNTHESES);
    List<String> meetings = List.of("m1", "m2", "m3", "m4");
    int parts = 3;
    Map<Way, Map<String, String>> outcomes = new EnumMap<>(Way.class);
    try (Observability observability = new Observability();
        LlmStreamsApp app =
            new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability);
        RecordLog log = new RecordLog(kafka, List.of(syntheses))) {
      app.start(List.of(new GatewayModule(), new SummarizerModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      String base = "http://127.0.0.1:" + app.httpPort();
      for (Way way : Way.values()) {
        double before = rerouted(app, documents);
        List<String> keys = meetings.stream().map(way::id).toList();
        List<Map.Entry<String, String>> records = new ArrayList<>();
        for (int p = 1; p <= parts; p++) {
          for (String key : keys) {
            records.add(
                Map.entry(
                    key,
                    json(
                        new Document(
                            key + "-part-" + p,
                            "Meeting "
                                + way.neutral(key)
                                + ", part "
                                + p
                                + ". We agreed to ship release 2."
                                + p
                                + " in March. The budget for it is "
                                + (p * 10)
                                + " thousand euros. Open question: who writes the notes for part "
                                + p
                                + "?",
                            Instant.parse("2026-03-02T09:00:00Z").plusSeconds(60L * p),
                            Map.of()))));
          }
        }
        send(way, documents, records);
        awaitNothingMissing(
            way + ": keys whose latest synthesis does not cover their " + parts + " documents",
            () ->
                keys.stream()
                    .filter(
                        k -> {
                          Synthesis s = latest(log, syntheses).get(k);
                          return s == null || s.documents() != parts;
                        })
                    .map(k -> k + " (" + describe(latest(log, syntheses).get(k)) + ")")
                    .toList());
        for (String key : keys) {
          HttpResponse<String> served = get(base + "/syntheses/" + key);
          assertThat(served.statusCode())
              .as("GET /syntheses/" + key + ": " + served.body())
              .isEqualTo(200);
          Synthesis s = Json.readerFor(Synthesis.class).readValue(served.body());
          assertThat(s.key()).isEqualTo(key);
          assertThat(s.documents())
              .as("documents of " + key + " at GET /syntheses")
              .isEqualTo(parts);
        }
        assertRerouted(
            way, misplaced(documents, way), rerouted(app, documents) - before, documents);
        Map<String, String> seen = new TreeMap<>();
        latest(log, syntheses)
            .forEach(
                (key, s) -> {
                  if (way.owns(key)) {
                    seen.put(
                        way.neutral(key),
                        s.documents()
                            + " documents "
                            + way.neutral(s.sourceDocIds().stream().sorted().toList().toString())
                            + ": "
                            + s.text());
                  }
                });
        outcomes.put(way, seen);
      }
      assertSameOutcomes(outcomes);
      assertThat(outcomes.get(Way.JAVA_DEFAULT)).hasSize(meetings.size());
    }
  }

  /** The latest all-time synthesis of each key, as a reader of the compacted topic sees it. */
  private static Map<String, Synthesis> latest(RecordLog log, String syntheses) {
    Map<String, Synthesis> out = new HashMap<>();
    for (Synthesis s : values(log, syntheses, SYNTHESES)) {
      if (s.window() == null) {
        out.put(s.key(), s);
      }
    }
    return out;
  }

  private static String describe(Synthesis s) {
    return s == null ? "no synthesis" : "a synthesis of " + s.documents() + " documents";
  }

  // ---- specialist

  @Test
  void everyEventIsLabelledOnceAndEveryLabelArrivesWhicheverClientSentThem() throws Exception {
    String modelName = "any-producer";
    SpecialistModel model =
        ModelTrainer.train(
                modelName,
                trainingExamples(),
                TrainingOptions.defaults().withKind(ModelKind.HASHED),
                m -> {})
            .record();
    TextClassifier served = SpecialistModels.load(model);
    List<String> texts = List.copyOf(EVENTS_TO_LABEL.keySet());
    trueLabels.putAll(EVENTS_TO_LABEL);
    List<Prediction> predictions = texts.stream().map(served::predict).toList();
    double threshold = median(predictions.stream().map(Prediction::confidence).toList());
    List<Boolean> escalates = predictions.stream().map(p -> p.confidence() < threshold).toList();
    assertThat(escalates)
        .as("the threshold sends some events to the LLM and keeps others: " + predictions)
        .contains(true, false);
    int n = texts.size();
    deployment.with(
        Map.of(
            AppConfig.SPECIALIST_MODEL_NAME,
            modelName,
            AppConfig.SPECIALIST_THRESHOLD,
            Double.toString(threshold),
            AppConfig.SPECIALIST_TICK_MS,
            "100",
            // One retraining once the labels of all three ways are in, and not before: each event
            // adds one example.
            AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS,
            Integer.toString(Way.values().length * n)));
    String requests = topic(TopicRole.CLASSIFICATION_REQUESTS);
    String labels = topic(TopicRole.LABELS);
    String classifications = topic(TopicRole.CLASSIFICATIONS);
    String models = topic(TopicRole.SPECIALIST_MODELS);
    producer
        .send(
            new ProducerRecord<>(
                models,
                modelName,
                new String(
                    MODELS.serializer().serialize(models, model),
                    java.nio.charset.StandardCharsets.UTF_8)))
        .get();
    Map<Way, Map<String, String>> outcomes = new EnumMap<>(Way.class);
    try (Observability observability = new Observability();
        LlmStreamsApp app =
            new LlmStreamsApp(AppConfig.of(deployment.settings()), catalog, observability);
        RecordLog log = new RecordLog(kafka, List.of(classifications, labels))) {
      app.start(List.of(new GatewayModule(), new SpecialistModule()));
      await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
      String base = "http://127.0.0.1:" + app.httpPort();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> get(base + "/specialist").statusCode() == 200);
      int done = 0;
      for (Way way : Way.values()) {
        double before = rerouted(app, requests, labels);
        double scoredBefore = metric(app, "llmstreams_specialist_online_labels_total", Map.of());
        List<String> ids = new ArrayList<>();
        List<Map.Entry<String, String>> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          String id = way.id("e" + i);
          ids.add(id);
          events.add(
              Map.entry(
                  id,
                  json(
                      new ClassificationRequest(
                          id,
                          texts.get(i),
                          Json.tree("{\"channel\":\"chat\",\"way\":\"" + way.tag + "\"}")))));
        }
        send(way, requests, events);
        awaitNothingMissing(
            way + ": events with no classification",
            () -> {
              Set<String> labelled =
                  values(log, classifications, CLASSIFICATIONS).stream()
                      .map(Classification::eventId)
                      .collect(Collectors.toSet());
              return ids.stream().filter(id -> !labelled.contains(id)).toList();
            });
        Map<String, Classification> byId =
            values(log, classifications, CLASSIFICATIONS).stream()
                .filter(c -> way.owns(c.eventId()))
                .collect(Collectors.toMap(Classification::eventId, c -> c));
        for (int i = 0; i < n; i++) {
          Classification c = byId.get(ids.get(i));
          // Kept or escalated, the classification carries the request's payload back.
          assertThat(c.payload())
              .as(c.toString())
              .isEqualTo(Json.tree("{\"channel\":\"chat\",\"way\":\"" + way.tag + "\"}"));
          if (escalates.get(i)) {
            assertThat(c.source())
                .as(
                    c
                        + ": escalated (confidence "
                        + predictions.get(i).confidence()
                        + " < "
                        + threshold
                        + "), so the LLM's label")
                .isEqualTo(Classification.Source.LLM);
            assertThat(c.label()).as(c.toString()).isEqualTo(trueLabels.get(texts.get(i)));
            assertThat(c.modelVersion()).as(c.toString()).startsWith("openai/");
            assertThat(c.escalationReason()).as(c.toString()).startsWith("confidence ");
          } else {
            assertThat(c.source()).as(c.toString()).isEqualTo(Classification.Source.SPECIALIST);
            assertThat(c.label()).as(c.toString()).isEqualTo(predictions.get(i).label());
            assertThat(c.modelVersion()).as(c.toString()).isEqualTo(model.version());
          }
        }
        // The LLM's answers are training data: one label each on labels.
        List<String> escalatedIds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          if (escalates.get(i)) {
            escalatedIds.add(ids.get(i));
          }
        }
        awaitNothingMissing(
            way + ": escalated events with no LLM label on " + labels,
            () -> {
              Set<String> llmLabelled =
                  values(log, labels, LABELS).stream()
                      .filter(l -> l.source() == LabelEvent.Source.LLM)
                      .map(LabelEvent::eventId)
                      .collect(Collectors.toSet());
              return escalatedIds.stream().filter(id -> !llmLabelled.contains(id)).toList();
            });

        // People label every event, through the same client.
        List<Map.Entry<String, String>> people = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          people.add(
              Map.entry(
                  ids.get(i),
                  json(
                      new LabelEvent(
                          ids.get(i),
                          texts.get(i),
                          trueLabels.get(texts.get(i)),
                          LabelEvent.Source.HUMAN,
                          Instant.now()))));
        }
        send(way, labels, people);
        done++;
        int examples = done * n;
        // Each person's label meets its event's classification (online accuracy) on the event's
        // task ...
        awaitNothingMissing(
            way + ": people's labels not compared with their event's classification",
            () -> {
              double scored =
                  metric(app, "llmstreams_specialist_online_labels_total", Map.of()) - scoredBefore;
              return scored == n ? List.of() : List.of("compared " + scored + " of " + n);
            });
        // ... and reaches the trainer, which keeps one example per event (an LLM's answer, or a
        // person's label).
        awaitNothingMissing(
            way + ": examples in the trainer's store",
            () -> {
              double kept =
                  metric(
                      app,
                      "llmstreams_store_entries",
                      Map.of("pattern", "specialist", "store", "specialist-examples"));
              return kept == examples
                  ? List.of()
                  : List.of(kept + " examples kept, " + examples + " expected");
            });
        assertRerouted(
            way,
            misplaced(requests, way) + misplaced(labels, way),
            rerouted(app, requests, labels) - before,
            requests + ", " + labels);
        if (done < Way.values().length) {
          assertThat(metric(app, "llmstreams_specialist_retrains_total", Map.of()))
              .as("no retraining before the labels of every way are in")
              .isZero();
        }
        Map<String, String> seen = new TreeMap<>();
        byId.forEach(
            (id, c) ->
                seen.put(
                    way.neutral(id),
                    c.label()
                        + " "
                        + c.source()
                        + " "
                        + c.modelVersion()
                        + " "
                        + String.format(Locale.ROOT, "%.6f", c.confidence())
                        + (c.escalationReason() == null ? "" : " escalated")));
        outcomes.put(way, seen);
      }
      // The labels of all three ways are in: the trainer retrains (its outcome depends on the data,
      // not on the ways).
      awaitNothingMissing(
          "a retraining from the labels of every way",
          () ->
              metric(app, "llmstreams_specialist_retrains_total", Map.of()) >= 1
                  ? List.of()
                  : List.of("no retraining"));
      // a little longer: no late duplicate may arrive for 3 s
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  distinct(values(log, classifications, CLASSIFICATIONS), Classification::eventId));
      assertThat(values(log, classifications, CLASSIFICATIONS))
          .extracting(Classification::eventId)
          .as("exactly one classification per event")
          .doesNotHaveDuplicates()
          .hasSize(Way.values().length * n);
      assertThat(
              values(log, labels, LABELS).stream().filter(l -> l.source() == LabelEvent.Source.LLM))
          .extracting(LabelEvent::eventId)
          .as("one LLM label per escalated event")
          .doesNotHaveDuplicates()
          .hasSize(Way.values().length * (int) escalates.stream().filter(e -> e).count());
      assertSameOutcomes(outcomes);
    }
  }

  /**
   * Customer messages to label, and their true labels (what the scripted LLM and the people
   * answer).
   */
  private static final Map<String, String> EVENTS_TO_LABEL =
      orderedMap(
          "my new card still has not arrived in the post", "card_arrival",
          "when will the card you shipped me be delivered", "card_arrival",
          "is there tracking for the card, it has been weeks", "card_arrival",
          "what exchange rate do you use for dollars to euros", "exchange_rate",
          "how much is the margin when I convert pounds abroad", "exchange_rate",
          "is the currency conversion rate the same at the weekend", "exchange_rate",
          "someone stole my wallet, please block my card", "lost_or_stolen_card",
          "I lost my card on the train yesterday", "lost_or_stolen_card",
          "my card is missing and I think it was taken from my bag", "lost_or_stolen_card",
          "my top up was declined again", "top_up_failed",
          "adding money from my bank failed with an error", "top_up_failed",
          "the card top up did not go through and the rate looks wrong", "top_up_failed");

  private static Map<String, String> orderedMap(String... pairs) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put(pairs[i], pairs[i + 1]);
    }
    return out;
  }

  /**
   * Training texts for the served model: words of each label's vocabulary among filler, from a
   * seeded generator.
   */
  private static List<LabeledText> trainingExamples() {
    Map<String, List<String>> vocabulary =
        Map.of(
            "card_arrival",
                List.of(
                    "card",
                    "arrive",
                    "arrived",
                    "delivery",
                    "post",
                    "shipped",
                    "weeks",
                    "new",
                    "tracking",
                    "delivered",
                    "when"),
            "exchange_rate",
                List.of(
                    "rate",
                    "exchange",
                    "currency",
                    "euros",
                    "dollars",
                    "pounds",
                    "convert",
                    "margin",
                    "abroad",
                    "conversion",
                    "weekend"),
            "lost_or_stolen_card",
                List.of(
                    "lost", "stolen", "wallet", "block", "missing", "taken", "bag", "train",
                    "stole", "card", "freeze"),
            "top_up_failed",
                List.of(
                    "top",
                    "up",
                    "declined",
                    "failed",
                    "money",
                    "adding",
                    "bank",
                    "error",
                    "through",
                    "again",
                    "balance"));
    List<String> filler =
        List.of(
            "please", "help", "my", "the", "i", "is", "why", "it", "today", "can", "you", "what");
    Random random = new Random(15);
    List<LabeledText> out = new ArrayList<>();
    for (String label : new TreeMap<>(vocabulary).keySet()) {
      for (int i = 0; i < 30; i++) {
        List<String> words = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
          words.add(vocabulary.get(label).get(random.nextInt(vocabulary.get(label).size())));
        }
        for (int w = 0; w < 3; w++) {
          words.add(filler.get(random.nextInt(filler.size())));
        }
        java.util.Collections.shuffle(words, random);
        out.add(new LabeledText(String.join(" ", words), label));
      }
    }
    return out;
  }

  /** A threshold between the middle two confidences, so about half the events escalate. */
  private static double median(List<Double> confidences) {
    List<Double> sorted = confidences.stream().sorted().toList();
    int mid = sorted.size() / 2;
    return (sorted.get(mid - 1) + sorted.get(mid)) / 2;
  }

  // ---- the scripted LLM

  /**
   * Answers the gateway like an obedient model, the same way whatever the ids: a controller turn
   * calls the calculator for the goal's expression, then publish when the goal asks to tell the
   * team, then answers with the result; an escalation answers the event's true label; anything else
   * (chunk, merge and synthesis requests) gets one summary.
   */
  private JsonNode answer(JsonNode request) {
    JsonNode messages = request.path("messages");
    JsonNode tools = request.path("tools");
    if (tools.isArray() && !tools.isEmpty()) {
      String goal = firstUserMessage(messages);
      Matcher m = GOAL_TEXT.matcher(goal);
      if (!m.find()) {
        return ScriptedLlmServer.openAiText("I cannot read the goal: " + goal);
      }
      String goalId = m.group(1);
      int turns = 0;
      String value = null;
      for (JsonNode message : messages) {
        turns += "assistant".equals(message.path("role").asText()) ? 1 : 0;
        Matcher v = VALUE.matcher(message.path("content").asText(""));
        if ("tool".equals(message.path("role").asText()) && v.find()) {
          value = v.group(1);
        }
      }
      boolean publish = goal.contains("tell the team");
      if (turns == 0) {
        return ScriptedLlmServer.openAiToolCalls(
            new ToolCallRequest(
                "call_calc", "calculator", Json.toTree(Map.of("expression", m.group(2)))));
      }
      if (turns == 1 && publish) {
        return ScriptedLlmServer.openAiToolCalls(
            new ToolCallRequest(
                "call_publish",
                "publish",
                Json.toTree(
                    Map.of(
                        "topic",
                        newsTopic,
                        "key",
                        goalId,
                        "record",
                        Map.of("goal", goalId, "value", String.valueOf(value))))));
      }
      return ScriptedLlmServer.openAiText(
          m.group(2) + " = " + value + (publish ? "; the team has been told." : "."));
    }
    JsonNode enumLabels = request.at("/response_format/json_schema/schema/properties/label/enum");
    if (enumLabels.isArray() && !enumLabels.isEmpty()) {
      Matcher t =
          FENCED_TEXT.matcher(messages.path(messages.size() - 1).path("content").asText(""));
      String label = t.find() ? trueLabels.get(t.group(1)) : null;
      return ScriptedLlmServer.openAiText(
          "{\"label\":\""
              + (label != null ? label : enumLabels.get(0).asText())
              + "\",\"confidence\":0.9}");
    }
    return ScriptedLlmServer.openAiText(SUMMARY);
  }

  private static String firstUserMessage(JsonNode messages) {
    for (JsonNode m : messages) {
      if ("user".equals(m.path("role").asText())) {
        return m.path("content").asText("");
      }
    }
    return "";
  }

  // ---- the three ways

  /** Sends keyed records (key, JSON value) to {@code topic} as a client of {@code way} would. */
  private void send(Way way, String topic, List<Map.Entry<String, String>> records)
      throws Exception {
    records.forEach(r -> sentRecords.add(sentRecord(topic, r.getKey(), r.getValue())));
    switch (way) {
      case KCAT ->
          Kcat.produce(
              kafka.bootstrapServers(),
              topic,
              records,
              Map.of(),
              Map.of("compression.codec", "zstd"));
      case JAVA_DEFAULT -> {
        for (Map.Entry<String, String> r : records) {
          producer.send(new ProducerRecord<>(topic, r.getKey(), r.getValue())).get();
        }
      }
      case WRONG_PARTITION -> {
        int n = partitions(topic);
        for (Map.Entry<String, String> r : records) {
          producer
              .send(
                  new ProducerRecord<>(
                      topic,
                      Partitions.elsewhere(r.getKey(), n, salt.getAndIncrement()),
                      r.getKey(),
                      r.getValue()))
              .get();
        }
      }
      default -> throw new IllegalArgumentException(way.toString());
    }
  }

  private static String sentRecord(String topic, String key, String value) {
    return topic + "\n" + key + "\n" + value;
  }

  private int partitions(String topic) {
    return partitionCounts.computeIfAbsent(
        topic,
        t -> {
          try {
            return kafka
                .admin()
                .describeTopics(List.of(t))
                .allTopicNames()
                .get()
                .get(t)
                .partitions()
                .size();
          } catch (Exception e) {
            throw new IllegalStateException("cannot describe " + t, e);
          }
        });
  }

  /**
   * How many of the records the way sent to {@code topic} are off their key's murmur2 partition,
   * read back from it: all of the wrong-partition way's, kcat's whose CRC32 partition differs, none
   * of the Java default way's. Fails when a client that should misplace records misplaced none,
   * since the test would then prove nothing.
   */
  private int misplaced(String topic, Way way) {
    int n = partitions(topic);
    int mine = 0;
    int off = 0;
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(kafka.consumerProps(KafkaCluster.uniqueName("placement")))) {
      List<TopicPartition> all = new ArrayList<>();
      for (int p = 0; p < n; p++) {
        all.add(new TopicPartition(topic, p));
      }
      consumer.assign(all);
      consumer.seekToBeginning(all);
      Map<TopicPartition, Long> end = consumer.endOffsets(all);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (all.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        assertThat(System.nanoTime()).as("reading " + topic + " back").isLessThan(deadline);
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          if (way.owns(r.key()) && sentRecords.contains(sentRecord(topic, r.key(), r.value()))) {
            if (way == Way.KCAT) {
              assertThat(r.partition())
                  .as("kcat's default partitioner puts " + r.key() + " on CRC32's partition")
                  .isEqualTo(LibrdkafkaPartitioner.partition(r.key(), n));
            }
            mine++;
            off += r.partition() != Partitions.murmur2(r.key(), n) ? 1 : 0;
          }
        }
      }
    }
    assertThat(mine).as(way + "'s records on " + topic).isPositive();
    if (way == Way.JAVA_DEFAULT) {
      assertThat(off).as("Java's default partitioner is murmur2's").isZero();
    } else if (way == Way.WRONG_PARTITION) {
      assertThat(off)
          .as("every record of the wrong-partition way is off murmur2's partition")
          .isEqualTo(mine);
    }
    return off;
  }

  /**
   * The re-route counter moved by exactly the records of the way that were off their partition:
   * none for the Java default producer, every misplaced one once for the others.
   */
  private static void assertRerouted(Way way, int misplaced, double counted, String topics) {
    if (way == Way.KCAT) {
      assertThat(misplaced)
          .as(
              "precondition: kcat's CRC32 partitioner put some of its records on "
                  + topics
                  + " off murmur2's partition (choose other ids if not)")
          .isPositive();
    }
    assertThat(counted)
        .as(
            REROUTED
                + " on "
                + topics
                + " for the "
                + way
                + " way, whose "
                + misplaced
                + " records were off their murmur2 partition")
        .isEqualTo(misplaced);
  }

  /** The three ways' outputs are the same once their ids are made neutral. */
  private static void assertSameOutcomes(Map<Way, Map<String, String>> outcomes) {
    Map<String, String> reference = outcomes.get(Way.JAVA_DEFAULT);
    assertThat(reference).isNotEmpty();
    for (Way way : Way.values()) {
      assertThat(outcomes.get(way))
          .as("the outputs of " + way + " against those of " + Way.JAVA_DEFAULT)
          .containsExactlyEntriesOf(reference);
    }
  }

  // ---- reading

  private String topic(TopicRole role) {
    return catalog.spec(role).name();
  }

  private static <T> List<T> values(RecordLog log, String topic, JsonSerde<T> serde) {
    return log.of(topic).stream()
        .map(r -> serde.deserializer().deserialize(topic, r.value()))
        .toList();
  }

  /** {@value #REROUTED} summed over the series of these topics, as {@code /metrics} shows it. */
  private static double rerouted(LlmStreamsApp app, String... topics) throws Exception {
    double sum = 0;
    for (String t : topics) {
      sum += metric(app, REROUTED, Map.of("topic", t));
    }
    return sum;
  }

  private static double metric(LlmStreamsApp app, String name, Map<String, String> labels)
      throws Exception {
    HttpResponse<String> metrics = get("http://127.0.0.1:" + app.httpPort() + "/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    return PrometheusText.sum(metrics.body(), name, labels);
  }

  /** True when no two values share an id. */
  private static <V> boolean distinct(List<V> values, java.util.function.Function<V, String> id) {
    return values.stream().map(id).distinct().count() == values.size();
  }

  /** Polls until {@code missing} answers nothing; fails with what it last answered. */
  private static void awaitNothingMissing(String what, Callable<Collection<String>> missing) {
    AtomicReference<Collection<String>> last = new AtomicReference<>(List.of("not checked yet"));
    try {
      await()
          .atMost(SETTLE)
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                last.set(missing.call());
                return last.get().isEmpty();
              });
    } catch (ConditionTimeoutException e) {
      fail(what + ", after " + SETTLE.toSeconds() + " s: " + last.get());
    }
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String json(Object value) throws JsonProcessingException {
    return Json.writer().writeValueAsString(value);
  }

  private static String cut(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max) + "…";
  }
}
