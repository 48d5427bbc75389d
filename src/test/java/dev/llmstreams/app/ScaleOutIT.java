package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.EmbeddedKafkaCluster;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.WithKafka.Shape;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.Counter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.processor.TaskId;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scale-out on three brokers (replication 3, min ISR 2): two instances of every pattern share the
 * application id and the partitions, each keeps a standby replica of the other's state, and GET
 * /syntheses/{key} and /goals/{id} answer the same on either. One instance stops; the other takes
 * over every partition from its standbys, answers every key as before without re-processing, and
 * processes new input exactly once. The LLM is the simulator, over HTTP, which each instance's
 * controller calls in place through its own gateway (the default).
 */
@WithKafka(shape = Shape.THREE_BROKERS)
class ScaleOutIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final List<String> PATTERNS =
      List.of("gateway", "tools", "controller", "summarizer", "specialist");
  private static final List<String> LABELS =
      List.of("card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed");
  private static final int KEYS = 8;
  private static final int GOALS = 6;
  private static final int EVENTS = 12;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  /**
   * Under both group protocols: classic (Kafka Streams assigns the tasks in the clients) and
   * streams (KIP-1071: the broker assigns them, and holds the standby count, which the app writes
   * onto each pattern's group).
   */
  @ParameterizedTest(name = "group.protocol={0}")
  @ValueSource(strings = {"classic", "streams"})
  void shouldServeFromEitherInstanceAndTakeOverStateAndPartitionsWhenOneStops(
      String protocol, EmbeddedKafkaCluster kafka) throws Exception {
    TestDeployment deployment = TestDeployment.create(kafka, "scale-" + protocol, dir);
    TopicCatalog catalog = deployment.catalog();
    List<LabeledText> corpus = banking(LABELS);
    try (SimulatedLlmServer llm =
            new SimulatedLlmServer(
                    SimulatedLlmServer.Settings.defaults().withLatency(Duration.ofMillis(20)))
                .start();
        Watcher watcher = new Watcher(kafka, catalog)) {
      deployment.with(
          Map.of(
              AppConfig.LLM_ROUTE_DEFAULT,
              "openai",
              AppConfig.provider("openai", "base.url"),
              llm.baseUrl().toString(),
              AppConfig.provider("openai", "api.key"),
              "sk-test-not-a-secret",
              AppConfig.NUM_STANDBY_REPLICAS,
              "1",
              AppConfig.SPECIALIST_THRESHOLD,
              "0",
              AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
              "0",
              // The product's default, which TestDeployment turns off: the controller calls the
              // gateway of its own instance in place.
              AppConfig.CONTROLLER_LLM_CALLS,
              "direct",
              AppConfig.GROUP_PROTOCOL,
              protocol));
      // Failover, not latency, is under test: fewer transactions and wake-ups keep three brokers
      // and ten Streams
      // instances within a small machine's CPU.
      deployment.with(
          Map.of(
              AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS,
              "100",
              AppConfig.POLL_MS,
              "100",
              AppConfig.GATEWAY_POLL_MS,
              "20",
              // When the assignor first keeps a pattern's stateful tasks on the instance that
              // joined
              // first (the other's lag not yet known), the probing rebalance that moves them comes
              // after 1 minute (Kafka's least), not 10.
              AppConfig.CLIENT_PREFIX + "probing.rebalance.interval.ms",
              "60000"));
      Instance a = new Instance("a", deployment, catalog);
      Instance b = new Instance("b", deployment, catalog);
      try (a;
          b;
          Feed feed = new Feed(kafka, catalog)) {
        await("both instances running")
            .atMost(WAIT)
            .until(() -> a.app.health().ready() && b.app.health().ready());
        // RUNNING on both is not yet shared work: the assignor may keep every active task on the
        // first instance until the second has caught up. Wait for the split, so that each instance
        // owns keys of what is fed next.
        await("both instances own tasks of every pattern before the feed")
            .atMost(WAIT.multipliedBy(2).plusSeconds(30)) // through a probing rebalance
            .until(
                () ->
                    PATTERNS.stream()
                        .allMatch(p -> !a.active(p).isEmpty() && !b.active(p).isEmpty()));
        long start = System.nanoTime();
        feed.model(corpus.subList(0, corpus.size() / 2));
        List<String> keys = new ArrayList<>();
        List<String> goals = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          keys.add("topic-" + i);
        }
        for (int i = 0; i < GOALS; i++) {
          goals.add("goal-" + i);
        }
        for (String key : keys) {
          feed.document(key, key + "-d1");
          feed.document(key, key + "-d2");
        }
        goals.forEach(feed::goal);
        List<LabeledText> events = corpus.subList(corpus.size() / 2, corpus.size());
        for (int i = 0; i < EVENTS; i++) {
          feed.event("e" + i, events.get(i).text());
        }

        // Every key is queryable on both instances with the same answer: one of them forwards to
        // the owner.
        Map<String, String> answers = new LinkedHashMap<>();
        for (String key : keys) {
          answers.put(
              "/syntheses/" + key,
              await("synthesis of " + key)
                  .atMost(WAIT)
                  .until(
                      () -> sameOnBoth(a, b, "/syntheses/" + key),
                      body -> body != null && Json.tree(body).path("documents").asLong() == 2));
        }
        // The list of syntheses is the same on both instances and names every key once, each
        // from its owner's store; read in pages of two, it is the same list.
        String list =
            await("the list of syntheses")
                .atMost(WAIT)
                .until(() -> sameOnBoth(a, b, "/syntheses"), body -> body != null);
        JsonNode listed = Json.tree(list).path("syntheses");
        assertThat(listed.findValuesAsText("key")).containsExactlyInAnyOrderElementsOf(keys);
        assertThat(listed.findValuesAsText("documents")).allMatch("2"::equals);
        List<String> paged = new ArrayList<>();
        String after = null;
        for (int page = 0; page <= keys.size(); page++) {
          JsonNode body =
              Json.tree(
                  (page % 2 == 0 ? a : b)
                      .get(
                          "/syntheses?limit=2"
                              + (after == null
                                  ? ""
                                  : "&after="
                                      + java.net.URLEncoder.encode(after, StandardCharsets.UTF_8)))
                      .body());
          paged.addAll(body.path("syntheses").findValuesAsText("key"));
          if (!body.has("next")) {
            break;
          }
          after = body.path("next").asText();
        }
        assertThat(paged).isEqualTo(listed.findValuesAsText("key"));
        for (String goal : goals) {
          answers.put(
              "/goals/" + goal,
              await("goal " + goal)
                  .atMost(WAIT)
                  .until(
                      () -> sameOnBoth(a, b, "/goals/" + goal),
                      body ->
                          body != null
                              && Json.tree(body).path("status").asText().equals("succeeded")));
        }
        // The list of goals, filtered by status, names every goal once on either instance.
        String succeeded =
            await("the list of succeeded goals")
                .atMost(WAIT)
                .until(() -> sameOnBoth(a, b, "/goals?status=succeeded"), body -> body != null);
        assertThat(Json.tree(succeeded).path("goals").findValuesAsText("goalId"))
            .containsExactlyInAnyOrderElementsOf(goals);
        assertThat(Json.tree(sameOnBoth(a, b, "/goals?status=running")).path("goals")).isEmpty();
        await("classifications")
            .atMost(WAIT)
            .until(() -> watcher.ids(TopicRole.CLASSIFICATIONS, "eventId").size() >= EVENTS);
        long processed = System.nanoTime();
        // Both instances own some of the keys, so each answer above was forwarded one way or the
        // other.
        assertThat(
                owners(
                    a, "summarizer", dev.llmstreams.summarizer.SummarizerTopology.TREE_STORE, keys))
            .containsExactlyInAnyOrder(a.app.httpPort(), b.app.httpPort());
        assertThat(
                owners(
                    a, "controller", dev.llmstreams.controller.ControllerTopology.LOG_STORE, goals))
            .containsExactlyInAnyOrder(a.app.httpPort(), b.app.httpPort());

        // The partitions are shared, and each instance keeps standbys of the other's stateful
        // tasks.
        await("both instances own tasks of every pattern")
            .atMost(WAIT)
            .until(
                () ->
                    PATTERNS.stream()
                        .allMatch(p -> !a.active(p).isEmpty() && !b.active(p).isEmpty()));
        Map<String, Set<TaskId>> allTasks = new LinkedHashMap<>();
        Map<String, Set<TaskId>> moving = new LinkedHashMap<>();
        for (String p : PATTERNS) {
          Set<TaskId> both = new TreeSet<>(a.active(p));
          both.addAll(b.active(p));
          allTasks.put(p, both);
          moving.put(p, b.active(p));
          assertThat(a.active(p)).as(p).doesNotContainAnyElementsOf(b.active(p));
          assertThat(a.standby(p))
              .as("standbys on a of %s", p)
              .isNotEmpty()
              .isSubsetOf(b.active(p));
          assertThat(b.standby(p))
              .as("standbys on b of %s", p)
              .isNotEmpty()
              .isSubsetOf(a.active(p));
        }
        if (protocol.equals("streams")) {
          assertStreamsGroups(kafka, deployment);
        }
        // GET /tasks on either instance shows the spread: both instances in every pattern's
        // group, the asked instance's own active and standby tasks, its stores' lag.
        for (Instance asked : List.of(a, b)) {
          JsonNode view = Json.tree(asked.get("/tasks").body());
          assertThat(view.path("groupProtocol").asText()).isEqualTo(protocol);
          assertThat(view.path("instance").asText()).isEqualTo(asked.host());
          for (String p : PATTERNS) {
            JsonNode pattern = view.path("patterns").path(p);
            assertThat(pattern.path("instances").findValuesAsText("host"))
                .as(p)
                .containsExactlyInAnyOrder(a.host(), b.host());
            assertThat(taskIds(pattern, "active")).as(p).isEqualTo(ids(asked.active(p)));
            assertThat(taskIds(pattern, "standby")).as(p).isEqualTo(ids(asked.standby(p)));
          }
          JsonNode trees =
              view.path("patterns")
                  .path("summarizer")
                  .path("storeLag")
                  .path(dev.llmstreams.summarizer.SummarizerTopology.TREE_STORE);
          assertThat(trees.size())
              .as("merge-tree partitions held by %s", asked.host())
              .isPositive();
          trees.forEach(lag -> assertThat(lag.path("lag").asLong()).isNotNegative());
        }
        assertThat(
                allTasks.get("summarizer").stream()
                    .map(TaskId::partition)
                    .collect(Collectors.toSet()))
            .hasSize(catalog.spec(TopicRole.DOCUMENTS).partitions());
        String changelog =
            StreamsSettings.applicationId(AppConfig.of(deployment.settings()), "summarizer")
                + "-"
                + dev.llmstreams.summarizer.SummarizerTopology.TREE_STORE
                + "-changelog";
        assertThat(
                kafka
                    .admin()
                    .describeTopics(List.of(changelog))
                    .allTopicNames()
                    .get()
                    .get(changelog)
                    .partitions())
            .allSatisfy(partition -> assertThat(partition.replicas()).hasSize(3));

        watcher.caughtUp(kafka);
        Map<String, Integer> countsBefore = watcher.counts();
        double standbyApplied = a.meterSum("llmstreams.state.standby.records");
        double restoredBefore = a.meterSum("llmstreams.state.restored.records");

        // A clean stop of b: it leaves the group, and a takes every partition over from its
        // standbys.
        long stop = System.nanoTime();
        b.close();
        long closed = System.nanoTime();
        await("a serves every key alone")
            .atMost(WAIT)
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    answers.entrySet().stream()
                        .allMatch(e -> e.getValue().equals(a.get(e.getKey()).body())));
        long served = System.nanoTime();
        double restored = a.meterSum("llmstreams.state.restored.records") - restoredBefore;
        System.out.printf(
            "scale-out: first inputs processed and served by both in %d ms; takeover: close of b %d ms,"
                + " stop -> a serves all %d keys %d ms; a restored %.0f changelog records at takeover, its standbys"
                + " had applied %.0f%n",
            (processed - start) / 1_000_000,
            (closed - stop) / 1_000_000,
            answers.size(),
            (served - stop) / 1_000_000,
            restored,
            standbyApplied);

        await("a runs every task")
            .atMost(WAIT)
            .until(
                () ->
                    a.app.health().ready()
                        && PATTERNS.stream().allMatch(p -> a.active(p).equals(allTasks.get(p))));
        assertThat(a.standby("summarizer")).isEmpty();
        JsonNode alone = Json.tree(a.get("/tasks").body()).path("patterns");
        for (String p : PATTERNS) {
          assertThat(alone.path(p).path("instances").findValuesAsText("host"))
              .as(p)
              .containsExactly(a.host());
          assertThat(taskIds(alone.path(p), "active")).as(p).isEqualTo(ids(allTasks.get(p)));
        }
        // The state came from the standbys: the takeover restored little, and nothing was processed
        // again.
        assertThat(standbyApplied).isPositive();
        assertThat(restored).isLessThan(standbyApplied / 10);
        watcher.caughtUp(kafka);
        assertThat(watcher.counts()).isEqualTo(countsBefore);

        // New input on every key, moved or not, is processed once by the survivor.
        for (String key : keys) {
          feed.document(key, key + "-d3");
        }
        List<String> later = new ArrayList<>();
        for (int i = 0; i < GOALS; i++) {
          later.add("goal-after-" + i);
        }
        later.forEach(feed::goal);
        for (int i = EVENTS; i < 2 * EVENTS; i++) {
          feed.event("e" + i, events.get(i).text());
        }
        for (String key : keys) {
          await("third document of " + key)
              .atMost(WAIT)
              .until(
                  () -> a.get("/syntheses/" + key),
                  r ->
                      r.statusCode() == 200 && Json.tree(r.body()).path("documents").asLong() == 3);
        }
        await("goal results")
            .atMost(WAIT)
            .until(() -> watcher.ids(TopicRole.GOAL_RESULTS, "goalId").size() >= 2 * GOALS);
        await("classifications")
            .atMost(WAIT)
            .until(() -> watcher.ids(TopicRole.CLASSIFICATIONS, "eventId").size() >= 2 * EVENTS);
        watcher.caughtUp(kafka);

        assertThat(watcher.duplicates(TopicRole.GOAL_RESULTS, "goalId")).isEmpty();
        assertThat(watcher.duplicates(TopicRole.CLASSIFICATIONS, "eventId")).isEmpty();
        assertThat(watcher.duplicates(TopicRole.LLM_REQUESTS, "requestId")).isEmpty();
        assertThat(watcher.duplicates(TopicRole.CONTROLLER_LLM_REQUESTS, "requestId")).isEmpty();
        assertThat(watcher.duplicates(TopicRole.CONTROLLER_LLM_REPLIES, "requestId")).isEmpty();
        assertThat(watcher.duplicates(TopicRole.SUMMARIZER_LLM_REPLIES, "requestId")).isEmpty();
        // The controllers called the LLM in place: nothing went through controller.llm-requests,
        // and each reply was handled once, across the takeover.
        assertThat(watcher.values(TopicRole.CONTROLLER_LLM_REQUESTS)).isEmpty();
        assertThat(
                watcher.values(TopicRole.GOAL_EVENTS).stream()
                    .filter(v -> v.path("type").asText().equals("llm_replied"))
                    .map(v -> v.path("data").path("requestId").asText())
                    .toList())
            .doesNotHaveDuplicates()
            .hasSizeGreaterThanOrEqualTo(2 * GOALS);
        // A tool call the controller timed out and sent again is answered from the worker's memory:
        // same result, same
        // run (worker, duration), so the tool itself ran once.
        assertThat(
                watcher.values(TopicRole.TOOL_RESULTS).stream()
                    .collect(
                        Collectors.groupingBy(
                            r -> r.path("callId").asText(),
                            Collectors.mapping(JsonNode::toString, Collectors.toSet()))))
            .hasSize(2 * GOALS)
            .allSatisfy((call, outcomes) -> assertThat(outcomes).as(call).hasSize(1));
        System.out.printf(
            "scale-out: second inputs processed by a alone in %d ms; %d tool results repeated%n",
            (System.nanoTime() - served) / 1_000_000,
            watcher.values(TopicRole.TOOL_RESULTS).size() - 2 * GOALS);
        assertThat(watcher.ids(TopicRole.GOAL_RESULTS, "goalId"))
            .containsAll(goals)
            .containsAll(later);
        assertThat(watcher.values(TopicRole.GOAL_RESULTS))
            .allSatisfy(r -> assertThat(r.path("status").asText()).isEqualTo("succeeded"));
        assertThat(watcher.raw(TopicRole.DEAD_LETTERS)).isEmpty();
      }
    }
  }

  /**
   * Each pattern's group is a streams group on the broker, with both instances as members, and
   * holds the standby count the app was configured with (which Kafka Streams ignores on the client
   * under this protocol: without the app writing it onto the group there would be no standbys
   * above).
   */
  private static void assertStreamsGroups(EmbeddedKafkaCluster kafka, TestDeployment deployment)
      throws Exception {
    AppConfig config = AppConfig.of(deployment.settings());
    List<String> groups =
        PATTERNS.stream().map(p -> StreamsSettings.applicationId(config, p)).toList();
    await("every pattern's streams group stable with both instances")
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              Map<String, org.apache.kafka.clients.admin.StreamsGroupDescription> described =
                  kafka.admin().describeStreamsGroups(groups).all().get();
              assertThat(described.keySet()).containsExactlyInAnyOrderElementsOf(groups);
              assertThat(described.values())
                  .allSatisfy(
                      g -> {
                        assertThat(g.groupState())
                            .as(g.groupId())
                            .isEqualTo(org.apache.kafka.common.GroupState.STABLE);
                        assertThat(g.members()).as(g.groupId()).hasSize(2);
                      });
            });
    for (String group : groups) {
      org.apache.kafka.common.config.ConfigResource resource =
          new org.apache.kafka.common.config.ConfigResource(
              org.apache.kafka.common.config.ConfigResource.Type.GROUP, group);
      assertThat(
              kafka
                  .admin()
                  .describeConfigs(List.of(resource))
                  .all()
                  .get()
                  .get(resource)
                  .get(dev.llmstreams.runtime.StreamsGroups.STANDBY_REPLICAS)
                  .value())
          .as(group)
          .isEqualTo("1");
    }
  }

  /** The ids of the tasks {@code GET /tasks} lists under one pattern's threads. */
  private static Set<String> taskIds(JsonNode pattern, String which) {
    Set<String> out = new TreeSet<>();
    pattern
        .path("threads")
        .forEach(t -> t.path(which).forEach(task -> out.add(task.path("id").asText())));
    return out;
  }

  private static Set<String> ids(Set<TaskId> tasks) {
    return tasks.stream().map(TaskId::toString).collect(Collectors.toCollection(TreeSet::new));
  }

  /** The HTTP ports of the instances that own {@code keys} in {@code store}. */
  private static Set<Integer> owners(
      Instance asked, String pattern, String store, List<String> keys) {
    return keys.stream()
        .map(
            k ->
                asked
                    .app
                    .streams()
                    .get(pattern)
                    .queryMetadataForKey(
                        store, k, new org.apache.kafka.common.serialization.StringSerializer())
                    .activeHost()
                    .port())
        .collect(Collectors.toSet());
  }

  /** GET on both instances; the body when both answer 200 with the same body, else null. */
  private static String sameOnBoth(Instance a, Instance b, String path) {
    HttpResponse<String> ra = a.get(path);
    HttpResponse<String> rb = b.get(path);
    return ra.statusCode() == 200 && rb.statusCode() == 200 && ra.body().equals(rb.body())
        ? ra.body()
        : null;
  }

  private static List<LabeledText> banking(List<String> labels) {
    Map<String, List<LabeledText>> byLabel =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> labels.contains(e.label()))
            .collect(Collectors.groupingBy(LabeledText::label));
    List<LabeledText> out = new ArrayList<>();
    for (int i = 0; i < 2 * EVENTS / labels.size() * 2; i++) {
      for (String label : labels) {
        out.add(byLabel.get(label).get(i));
      }
    }
    return out;
  }

  /** One app instance with every pattern, its own state dir, HTTP port and meters. */
  private final class Instance implements AutoCloseable {
    final Observability observability = new Observability();
    final LlmStreamsApp app;
    private boolean closed;

    Instance(String name, TestDeployment deployment, TopicCatalog catalog) throws Exception {
      Map<String, String> settings = new LinkedHashMap<>(deployment.settings());
      settings.put(AppConfig.STATE_DIR, dir.resolve(name).toString());
      app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
      app.start(
          List.of(
              new GatewayModule(),
              new ToolsModule(),
              new ControllerModule(),
              new SummarizerModule(),
              new SpecialistModule()));
    }

    HttpResponse<String> get(String path) {
      try {
        return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** The address this instance advertises to the others (application.server). */
    String host() {
      return "127.0.0.1:" + app.httpPort();
    }

    Set<TaskId> active(String pattern) {
      return tasks(pattern, ThreadMetadata::activeTasks);
    }

    Set<TaskId> standby(String pattern) {
      return tasks(pattern, ThreadMetadata::standbyTasks);
    }

    private Set<TaskId> tasks(String pattern, Function<ThreadMetadata, Set<TaskMetadata>> which) {
      KafkaStreams ks = app.streams().get(pattern);
      return ks.metadataForLocalThreads().stream()
          .flatMap(t -> which.apply(t).stream())
          .map(TaskMetadata::taskId)
          .collect(Collectors.toCollection(TreeSet::new));
    }

    double meterSum(String name) {
      return observability.registry().find(name).counters().stream()
          .mapToDouble(Counter::count)
          .sum();
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        app.close();
        observability.close();
      }
    }
  }

  /** Produces the inputs as a user would: JSON values keyed as the catalog says. */
  private static final class Feed implements AutoCloseable {
    private final TopicCatalog catalog;
    private final KafkaProducer<byte[], byte[]> producer;

    Feed(KafkaCluster kafka, TopicCatalog catalog) {
      this.catalog = catalog;
      var props = kafka.producerProps();
      props.put("max.request.size", 16 * 1024 * 1024);
      producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    void document(String key, String docId) throws Exception {
      send(
          TopicRole.DOCUMENTS,
          key,
          JsonSerde.of(Document.class),
          new Document(
              docId,
              "The "
                  + key
                  + " team met on "
                  + docId
                  + ". They agreed to ship the release in March. The budget is twelve euros per unit.",
              Instant.parse("2026-11-02T09:00:00Z"),
              Map.of()));
    }

    void goal(String id) {
      try {
        send(
            TopicRole.GOALS,
            id,
            JsonSerde.of(Goal.class),
            new Goal(
                id,
                "Goal " + id + ": add 1 and 2.",
                List.of("calculator"),
                null,
                null,
                null,
                Map.of(),
                null));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    void event(String id, String text) throws Exception {
      send(
          TopicRole.CLASSIFICATION_REQUESTS,
          id,
          JsonSerde.of(ClassificationRequest.class),
          new ClassificationRequest(id, text, null));
    }

    /**
     * The real hashed model, trained on a few banking examples, as `train --publish` would publish
     * it.
     */
    void model(List<LabeledText> examples) throws Exception {
      TrainingOptions recipe = TrainingOptions.defaults().withKind(ModelKind.HASHED).withSeed(7);
      SpecialistModel model =
          ModelTrainer.train(
                  AppConfig.of(Map.of()).getString(AppConfig.SPECIALIST_MODEL_NAME),
                  examples,
                  recipe,
                  step -> {},
                  null,
                  Clock.systemUTC())
              .record();
      send(TopicRole.SPECIALIST_MODELS, model.name(), JsonSerde.of(SpecialistModel.class), model);
    }

    private <T> void send(TopicRole role, String key, JsonSerde<T> serde, T value)
        throws Exception {
      String topic = catalog.spec(role).name();
      producer
          .send(
              new ProducerRecord<>(
                  topic,
                  key.getBytes(StandardCharsets.UTF_8),
                  serde.serializer().serialize(topic, value)))
          .get();
    }

    @Override
    public void close() {
      producer.close(Duration.ofSeconds(5));
    }
  }

  /** Reads every output a user would see (read_committed), from the start. */
  private static final class Watcher implements AutoCloseable {
    private static final List<TopicRole> OUTPUTS =
        List.of(
            TopicRole.GOAL_RESULTS,
            TopicRole.CLASSIFICATIONS,
            TopicRole.LLM_REQUESTS,
            TopicRole.CONTROLLER_LLM_REQUESTS,
            TopicRole.CONTROLLER_LLM_REPLIES,
            TopicRole.SUMMARIZER_LLM_REPLIES,
            TopicRole.SPECIALIST_LLM_REPLIES,
            TopicRole.TOOL_RESULTS,
            TopicRole.SYNTHESES,
            TopicRole.GOAL_EVENTS,
            TopicRole.DEAD_LETTERS);
    private final TopicCatalog catalog;
    private final Map<String, List<ConsumerRecord<String, String>>> records =
        new ConcurrentHashMap<>();
    private final KafkaConsumer<String, String> consumer;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final Map<org.apache.kafka.common.TopicPartition, Long> positions =
        new ConcurrentHashMap<>();

    Watcher(KafkaCluster kafka, TopicCatalog catalog) {
      this.catalog = catalog;
      consumer =
          new KafkaConsumer<>(
              kafka.consumerProps(KafkaCluster.uniqueName("scale-watch")),
              new StringDeserializer(),
              new StringDeserializer());
      consumer.subscribe(OUTPUTS.stream().map(r -> catalog.spec(r).name()).toList());
      OUTPUTS.forEach(r -> records.put(catalog.spec(r).name(), new CopyOnWriteArrayList<>()));
      thread = new Thread(this::loop, "scale-it-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running.get()) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
          records.get(r.topic()).add(r);
        }
        consumer.assignment().forEach(tp -> positions.put(tp, consumer.position(tp)));
      }
    }

    /** Waits until the watcher has read up to the end of every output partition as it is now. */
    void caughtUp(KafkaCluster kafka) throws Exception {
      var spec =
          new LinkedHashMap<
              org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>();
      for (TopicRole role : OUTPUTS) {
        String topic = catalog.spec(role).name();
        for (int p = 0; p < catalog.spec(role).partitions(); p++) {
          spec.put(
              new org.apache.kafka.common.TopicPartition(topic, p),
              org.apache.kafka.clients.admin.OffsetSpec.latest());
        }
      }
      var ends =
          kafka
              .admin()
              .listOffsets(
                  spec,
                  new org.apache.kafka.clients.admin.ListOffsetsOptions(
                      org.apache.kafka.common.IsolationLevel.READ_COMMITTED))
              .all()
              .get();
      await("watcher caught up")
          .atMost(WAIT)
          .until(
              () ->
                  ends.entrySet().stream()
                      .allMatch(
                          e -> positions.getOrDefault(e.getKey(), 0L) >= e.getValue().offset()));
    }

    List<String> raw(TopicRole role) {
      return records.get(catalog.spec(role).name()).stream().map(ConsumerRecord::value).toList();
    }

    List<JsonNode> values(TopicRole role) {
      return records.get(catalog.spec(role).name()).stream()
          .map(r -> Json.tree(r.value()))
          .toList();
    }

    Set<String> ids(TopicRole role, String field) {
      return values(role).stream().map(v -> v.path(field).asText()).collect(Collectors.toSet());
    }

    /** The ids seen more than once, with their counts. */
    Map<String, Long> duplicates(TopicRole role, String field) {
      return values(role).stream()
          .collect(Collectors.groupingBy(v -> v.path(field).asText(), Collectors.counting()))
          .entrySet()
          .stream()
          .filter(e -> e.getValue() > 1)
          .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    Map<String, Integer> counts() {
      Map<String, Integer> out = new LinkedHashMap<>();
      records.forEach((topic, list) -> out.put(topic, list.size()));
      return out;
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
