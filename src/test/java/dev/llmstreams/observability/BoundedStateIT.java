package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRef;
import dev.llmstreams.topics.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every pattern in one app on a real broker, with the simulated LLM over HTTP, under a steady load
 * (goals that finish, documents over many one-second windows of document time, classification
 * requests, people's labels) with retention, grace and TTLs set short. {@code
 * llmstreams_store_entries} is scraped from {@code /metrics} along the run: each store's size must
 * stop growing (the max over the last third of the run is not above the max before it plus a
 * slack), and once the load stops, what is finished or expired must be gone.
 *
 * <p>Why it fails on a store that grows: under a steady load an unbounded store grows about
 * linearly, so its max over the last third is about 1.5 times the max before it, above the 20% + 5
 * slack once that passes about 17 entries, which every store the load fills reaches in this run (45
 * goals, documents and labels, 90 requests); the end-of-run checks see the rest. The slack absorbs
 * the bursts of a store that is bounded (replies answered in a batch after a pause).
 */
@WithKafka
class BoundedStateIT {
  private static final Duration TICK = Duration.ofMillis(1000);
  private static final int LOAD_TICKS = 45;
  private static final Duration SAMPLE_EVERY = Duration.ofMillis(1000);
  private static final int KEYS = 2;
  private static final Pattern SERIES =
      Pattern.compile("^llmstreams_store_entries\\{([^}]*)}\\s+(\\S+)$");
  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  /**
   * Stores a steady load fills: each must hold something during the run, or its bound would be
   * shown vacuously.
   */
  private static final List<String> FILLED =
      List.of(
          "controller/controller-goal-log",
          "controller/controller-timers",
          "tools/tools-executed",
          "gateway/gateway-replies",
          "summarizer/summarizer-merge-tree",
          "summarizer/summarizer-window-trees",
          "specialist/specialist-recent",
          "specialist/specialist-examples",
          "specialist/specialist-models");

  @TempDir Path dir;

  @Test
  void shouldKeepEveryStateStoreBoundedUnderASteadyLoad(KafkaCluster kafka) throws Exception {
    TestDeployment deployment = TestDeployment.create(kafka, "bounded", dir);
    TopicCatalog catalog = deployment.catalog();
    try (SimulatedLlmServer sim =
        new SimulatedLlmServer(
                SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofMillis(20)))
            .start()) {
      Map<String, String> settings =
          deployment
              .with(
                  Map.ofEntries(
                      Map.entry(AppConfig.LLM_ROUTE_DEFAULT, "openai"),
                      // Fewer transactions than the 5 ms default: the machine running the suite is
                      // shared.
                      Map.entry(AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS, "100"),
                      Map.entry(AppConfig.provider("openai", "base.url"), sim.baseUrl().toString()),
                      Map.entry(AppConfig.provider("openai", "model"), "simulated"),
                      Map.entry(AppConfig.CONTROLLER_RETENTION_MS, "3000"),
                      Map.entry(AppConfig.CONTROLLER_TICK_MS, "100"),
                      Map.entry(AppConfig.TOOLS_RETENTION_MS, "3000"),
                      Map.entry(AppConfig.LLM_CACHE_TTL_MS, "3000"),
                      Map.entry(AppConfig.SUMMARIZER_WINDOW_MS, "1000"),
                      Map.entry(AppConfig.SUMMARIZER_WINDOW_GRACE_MS, "500"),
                      Map.entry(AppConfig.SUMMARIZER_WINDOW_RETENTION_MS, "2000"),
                      Map.entry(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "1000"),
                      Map.entry(AppConfig.SPECIALIST_THRESHOLD, "0.99"),
                      Map.entry(AppConfig.SPECIALIST_ACCURACY_RETENTION_MS, "2000"),
                      Map.entry(AppConfig.SPECIALIST_EXAMPLES_MAX, "20"),
                      Map.entry(AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS, "1000000"),
                      Map.entry(AppConfig.SPECIALIST_TICK_MS, "200")))
              .settings();
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
          Load load = new Load(kafka, catalog)) {
        app.start(
            List.of(
                new GatewayModule(),
                new ToolsModule(),
                new ControllerModule(),
                new SummarizerModule(),
                new SpecialistModule()));
        await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
        load.publishModel();

        List<Map<String, Double>> samples = new ArrayList<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try {
          // Fixed delay, not rate: a tick held up by a slow broker must not be caught up by a burst
          // of them.
          timer.scheduleWithFixedDelay(load::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
          // One sample per poll, for as long as the load runs.
          await()
              .atMost(TICK.multipliedBy(LOAD_TICKS * 4L))
              .pollDelay(SAMPLE_EVERY)
              .pollInterval(SAMPLE_EVERY)
              .until(
                  () -> {
                    samples.add(scrape(app.httpPort()));
                    return load.ticks() >= LOAD_TICKS;
                  });
        } finally {
          timer.shutdownNow();
          timer.awaitTermination(10, TimeUnit.SECONDS);
        }
        assertThat(load.failures()).as("the load generator's sends").isEmpty();
        System.out.println(table(samples));

        Map<String, List<Double>> series = bySeries(samples);
        assertThat(series.keySet())
            .containsAll(FILLED)
            .contains(
                "gateway/gateway-pending",
                "specialist/specialist-waiting",
                "specialist/specialist-escalations",
                "specialist/specialist-trainer");
        assertThat(samples).as("samples along the load").hasSizeGreaterThanOrEqualTo(12);
        SoftAssertions.assertSoftly(
            soft -> {
              for (String store : FILLED) {
                soft.assertThat(max(series.get(store), 0, series.get(store).size()))
                    .as("%s held entries during the run", store)
                    .isGreaterThan(0);
              }
              series.forEach(
                  (store, values) -> {
                    int n = values.size();
                    double before = max(values, 0, 2 * n / 3);
                    double last = max(values, 2 * n / 3, n);
                    soft.assertThat(last)
                        .as(
                            "%s: max over the last third of the run against the max before it (%s)",
                            store, values)
                        .isLessThanOrEqualTo(before * 1.2 + 5);
                  });
            });
        assertThat(max(series.get("specialist/specialist-examples"), 0, samples.size()))
            .as("trimmed at the trainer's tick: at most a tick's labels past the limit")
            .isLessThanOrEqualTo(22);
        assertThat(last(series, "summarizer/summarizer-window-trees"))
            .as("open and retained windows only")
            .isLessThanOrEqualTo(KEYS * 6)
            .isLessThan(load.windowsCreated());

        // Load stopped: finished goals, answered calls and cached replies expire by wall clock.
        await()
            .atMost(Duration.ofSeconds(40))
            .pollInterval(Duration.ofSeconds(1))
            .untilAsserted(
                () -> {
                  Map<String, Double> now = scrape(app.httpPort());
                  for (String store :
                      List.of(
                          "controller/controller-goal-log",
                          "controller/controller-timers",
                          "tools/tools-executed",
                          "gateway/gateway-replies",
                          "gateway/gateway-pending",
                          "specialist/specialist-escalations",
                          "specialist/specialist-waiting")) {
                    assertThat(now.get(store)).as(store).isEqualTo(0.0);
                  }
                });
        HttpResponse<String> firstWindow =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://127.0.0.1:"
                                    + app.httpPort()
                                    + "/syntheses/k0?window="
                                    + load.documentsStart.toEpochMilli()))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(firstWindow.statusCode())
            .as("the first window's tree is gone: %s", firstWindow.body())
            .isEqualTo(404);
        HttpResponse<String> allTime =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + app.httpPort() + "/syntheses/k0"))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(allTime.statusCode()).as("the key's all-time synthesis stays").isEqualTo(200);
      }
    }
  }

  private static double last(Map<String, List<Double>> series, String store) {
    List<Double> values = series.get(store);
    return values.get(values.size() - 1);
  }

  /** The largest number in {@code values[from, to)}; NaN (a store being moved) is skipped. */
  private static double max(List<Double> values, int from, int to) {
    return values.subList(from, to).stream()
        .filter(v -> !v.isNaN())
        .mapToDouble(Double::doubleValue)
        .max()
        .orElse(Double.NaN);
  }

  /** {@code pattern/store} → the gauge's values, in sample order. */
  private static Map<String, List<Double>> bySeries(List<Map<String, Double>> samples) {
    Map<String, List<Double>> out = new TreeMap<>();
    for (Map<String, Double> s : samples) {
      s.forEach((k, v) -> out.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
    }
    return out;
  }

  private static String table(List<Map<String, Double>> samples) {
    StringBuilder b =
        new StringBuilder("llmstreams_store_entries every " + SAMPLE_EVERY.toMillis() + " ms\n");
    bySeries(samples)
        .forEach(
            (store, values) ->
                b.append(
                    String.format(
                        "%-38s %s%n",
                        store,
                        values.stream()
                            .map(v -> v.isNaN() ? "NaN" : Long.toString(Math.round(v)))
                            .toList())));
    return b.toString();
  }

  /** {@code pattern/store} → value, as exported on /metrics. */
  static Map<String, Double> scrape(int port) throws Exception {
    String body =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : body.split("\n")) {
      Matcher m = SERIES.matcher(line);
      if (m.matches()) {
        Map<String, String> labels = new LinkedHashMap<>();
        Matcher l = LABEL.matcher(m.group(1));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
        out.put(labels.get("pattern") + "/" + labels.get("store"), Double.parseDouble(m.group(2)));
      }
    }
    return out;
  }

  /**
   * The steady load, one tick every {@link #TICK}: a goal, a document (keys in turn, each a second
   * of document time after the key's previous one, so a window closes about every document), two
   * classification requests and a person's label.
   */
  private static final class Load implements AutoCloseable {
    private final TopicCatalog catalog;
    private final KafkaProducer<byte[], byte[]> producer;
    private final List<LabeledText> data =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> e.label().startsWith("card_"))
            .limit(400)
            .toList();
    final Instant documentsStart =
        Instant.now()
            .minus(Duration.ofMinutes(10))
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    private final Instant requestsStart = Instant.now().minus(Duration.ofMinutes(30));
    private final int[] documentsOfKey = new int[KEYS];
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private volatile int ticks;
    private int documents;
    private int requests;

    Load(KafkaCluster kafka, TopicCatalog catalog) {
      this.catalog = catalog;
      Properties props = kafka.producerProps();
      props.put("max.request.size", 9 * 1024 * 1024);
      this.producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    int ticks() {
      return ticks;
    }

    List<String> failures() {
      return failures;
    }

    /**
     * Distinct (key, window) pairs the documents fell in: one per document, windows being a second.
     */
    long windowsCreated() {
      return documents;
    }

    void publishModel() throws Exception {
      SpecialistModel model =
          ModelTrainer.train(
                  "banking77",
                  data,
                  TrainingOptions.defaults().withKind(ModelKind.HASHED),
                  step -> {})
              .record();
      send(Topics.SPECIALIST_MODELS, "banking77", model, null).get();
    }

    void tick() {
      if (ticks >= LOAD_TICKS) {
        return;
      }
      try {
        int i = ticks;
        send(
            Topics.GOALS,
            "g" + i,
            new Goal(
                "g" + i,
                "What is " + i + " + 1?",
                List.of("calculator"),
                null,
                null,
                null,
                Map.of(),
                null),
            null);
        int key = documents % KEYS;
        Instant at = documentsStart.plusSeconds(documentsOfKey[key]++);
        send(
            Topics.DOCUMENTS,
            "k" + key,
            new Document(
                "doc" + documents,
                "Part "
                    + documents
                    + " of the notes: the team agreed to ship the release in March and to review the budget.",
                at,
                Map.of()),
            null);
        documents++;
        for (int r = 0; r < 2; r++) {
          LabeledText e = data.get((requests * 7) % data.size());
          // Event time moves 2 s a request: specialist-recent's retention (of event time) passes
          // within the run.
          long eventTime = requestsStart.plusSeconds(2L * requests).toEpochMilli();
          send(
              Topics.CLASSIFICATION_REQUESTS,
              "c" + requests,
              new ClassificationRequest("c" + requests, e.text(), null),
              eventTime);
          requests++;
        }
        LabeledText taught = data.get((i * 13) % data.size());
        send(
            Topics.LABELS,
            "l" + i,
            new LabelEvent(
                "l" + i, taught.text(), taught.label(), LabelEvent.Source.HUMAN, Instant.now()),
            null);
        producer.flush();
        ticks = i + 1;
      } catch (RuntimeException e) {
        failures.add(String.valueOf(e));
      }
    }

    private <V> java.util.concurrent.Future<?> send(
        TopicRef<V> ref, String key, V value, Long timestamp) {
      Topic<V> topic = catalog.topic(ref);
      return producer.send(
          new ProducerRecord<>(
              topic.name(),
              null,
              timestamp,
              key.getBytes(StandardCharsets.UTF_8),
              topic.valueSerde().serializer().serialize(topic.name(), value)),
          (meta, error) -> {
            if (error != null) {
              failures.add(topic.name() + ": " + error);
            }
          });
    }

    @Override
    public void close() {
      producer.close(Duration.ofSeconds(10));
    }
  }
}
