package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.Usage;
import dev.llmstreams.events.Window;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Windows of document time: hour windows, 30 minutes of grace, the gateway played by {@link
 * #answerAll()}.
 */
class WindowedSummarizerTopologyTest {
  private static final Instant NINE = Instant.parse("2026-11-02T09:00:00Z");
  private static final Instant TEN = Instant.parse("2026-11-02T10:00:00Z");
  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  @TempDir Path stateDir;
  private TopologyTestDriver driver;
  private TestInputTopic<String, Document> documents;
  private TestInputTopic<String, LlmReply> replies;
  private TestOutputTopic<String, LlmRequest> requests;
  private TestOutputTopic<String, Synthesis> syntheses;
  private TestOutputTopic<byte[], byte[]> deadLetters;

  @BeforeEach
  void setUp() {
    start();
  }

  private void start() {
    start(Map.of());
  }

  private void start(Map<String, String> more) {
    if (driver != null) {
      driver.close();
    }
    Map<String, String> settings =
        new java.util.HashMap<>(
            Map.of(
                AppConfig.SUMMARIZER_CHUNK_TOKENS,
                "64",
                AppConfig.SUMMARIZER_CHUNK_OVERLAP_TOKENS,
                "0",
                AppConfig.SUMMARIZER_MERGE_FAN_IN,
                "3",
                AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
                "0",
                AppConfig.SUMMARIZER_WINDOW_MS,
                "3600000",
                AppConfig.SUMMARIZER_WINDOW_GRACE_MS,
                "1800000",
                AppConfig.STATE_DIR,
                stateDir.toString()));
    settings.putAll(more);
    AppConfig config = AppConfig.of(settings);
    driver =
        TestDrivers.create(
            new SummarizerModule().topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "summarizer", registry));
    var d = catalog.topic(Topics.DOCUMENTS);
    documents =
        driver.createInputTopic(d.name(), d.keySerde().serializer(), d.valueSerde().serializer());
    var r = catalog.topic(Topics.SUMMARIZER_LLM_REPLIES);
    replies =
        driver.createInputTopic(r.name(), r.keySerde().serializer(), r.valueSerde().serializer());
    var q = catalog.topic(Topics.LLM_REQUESTS);
    requests =
        driver.createOutputTopic(
            q.name(), q.keySerde().deserializer(), q.valueSerde().deserializer());
    var s = catalog.topic(Topics.SYNTHESES);
    syntheses =
        driver.createOutputTopic(
            s.name(), s.keySerde().deserializer(), s.valueSerde().deserializer());
    deadLetters =
        driver.createOutputTopic(
            catalog.spec(TopicRole.DEAD_LETTERS).name(),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private void send(String docId, Instant at) {
    documents.pipeInput(
        "m1",
        new Document(
            docId,
            "Notes of " + docId + ": the team agreed to ship in March. ".repeat(12),
            at,
            Map.of()));
  }

  /**
   * Plays the gateway: answers every request, and the requests the answers cause, until none is
   * left.
   */
  private void answerAll() {
    while (!requests.isEmpty()) {
      requests.readValuesToList().forEach(this::answer);
    }
  }

  private void answer(LlmRequest q) {
    replies.pipeInput(
        q.correlationId(),
        new LlmReply(
            q.requestId(),
            q.correlationId(),
            q.purpose(),
            "summary of " + q.requestId(),
            List.of(),
            "stop",
            new Usage(100, 20),
            0.0,
            5,
            "offline",
            "engine",
            false,
            null,
            null,
            q.prompt()));
  }

  private KeyValueStore<String, SynthesisState> windowTrees() {
    return driver.getKeyValueStore(SummarizerTopology.WINDOW_STORE);
  }

  private static String tree(Instant start) {
    return "m1@" + start.toEpochMilli();
  }

  @Test
  void shouldKeepASynthesisPerWindowAndAnAllTimeOneOverBoth() {
    send("d1", NINE.plusSeconds(600));
    send("d2", TEN.plusSeconds(1200));
    answerAll();
    Map<String, Synthesis> latest = syntheses.readKeyValuesToMap();
    Synthesis nine = latest.get("m1@2026-11-02T09:00:00Z/2026-11-02T10:00:00Z");
    Synthesis ten = latest.get("m1@2026-11-02T10:00:00Z/2026-11-02T11:00:00Z");
    assertThat(nine.window()).isEqualTo(new Window(NINE, TEN));
    assertThat(nine.sourceDocIds()).containsExactly("d1");
    assertThat(ten.sourceDocIds()).containsExactly("d2");
    Synthesis allTime = latest.get("m1");
    assertThat(allTime.window()).isNull();
    assertThat(allTime.sourceDocIds()).containsExactly("d1", "d2");
    assertThat(allTime.chunks()).isEqualTo(nine.chunks() + ten.chunks());
    assertThat(allTime.llmInputTokens())
        .isGreaterThan(nine.llmInputTokens() + ten.llmInputTokens());
    // The chunk summaries are in the open windows' trees: the all-time synthesis names their
    // prompt too.
    PromptRef chunkPrompt = Prompts.shipped().get(Prompts.SUMMARIZER_CHUNK).ref();
    assertThat(nine.prompts()).contains(chunkPrompt);
    assertThat(allTime.prompts()).contains(chunkPrompt);
    assertThat(allTime.models()).containsExactly("offline/engine");
    // Chunk summaries go to their window's tree only: each is merged once, not again in the
    // all-time tree.
    KeyValueStore<String, SynthesisState> allTrees =
        driver.getKeyValueStore(SummarizerTopology.TREE_STORE);
    assertThat(allTrees.get("m1").tree().coveredChunks()).isZero();
    assertThat(allTrees.get("m1").windows().open())
        .containsExactly(NINE.toEpochMilli(), TEN.toEpochMilli());
  }

  @Test
  void shouldTakeTheRecordTimestampOfADocumentThatNamesNoTime() {
    String notes = "Notes: the team agreed to ship in March. ".repeat(12);
    // Its own time wins over the record's; without one, the record's is its event time.
    documents.pipeInput("m1", new Document("d1", notes, NINE.plusSeconds(600), Map.of()), TEN);
    documents.pipeInput("m1", new Document("d2", notes, null, Map.of()), TEN.plusSeconds(1200));
    answerAll();
    assertThat(deadLetters.isEmpty()).isTrue();
    Map<String, Synthesis> latest = syntheses.readKeyValuesToMap();
    assertThat(latest.get("m1@2026-11-02T09:00:00Z/2026-11-02T10:00:00Z").sourceDocIds())
        .containsExactly("d1");
    assertThat(latest.get("m1@2026-11-02T10:00:00Z/2026-11-02T11:00:00Z").sourceDocIds())
        .containsExactly("d2");
  }

  @Test
  void shouldUpdateOnlyItsOwnWindowForAnOutOfOrderDocumentInsideTheGrace() {
    send("d1", NINE.plusSeconds(600));
    send("d2", TEN.plusSeconds(1200));
    answerAll();
    syntheses.readValuesToList();
    long tenChunks = windowTrees().get(tree(TEN)).tree().coveredChunks();

    send(
        "d3",
        NINE.plusSeconds(3000)); // 09:50 at stream time 10:20: window 09:00 is open until 10:30
    answerAll();
    assertThat(deadLetters.isEmpty()).isTrue();
    assertThat(windowTrees().get(tree(TEN)).tree().coveredChunks()).isEqualTo(tenChunks);
    assertThat(windowTrees().get(tree(NINE)).docIds()).containsExactly("d1", "d3");
    List<Synthesis> emitted = syntheses.readValuesToList();
    assertThat(emitted)
        .extracting(Synthesis::window)
        .doesNotContain(new Window(TEN, TEN.plusSeconds(3600)));
    assertThat(emitted).anySatisfy(s -> assertThat(s.window()).isEqualTo(new Window(NINE, TEN)));
    assertThat(emitted.get(emitted.size() - 1).window()).isNull();
    assertThat(emitted.get(emitted.size() - 1).sourceDocIds())
        .containsExactlyInAnyOrder("d1", "d2", "d3");
  }

  @Test
  void shouldCollapseAClosedWindowAndDeadLetterADocumentThatComesTooLate() {
    send("d1", NINE.plusSeconds(600));
    send("d2", NINE.plusSeconds(900));
    answerAll();
    send(
        "d3",
        TEN.plusSeconds(
            2400)); // stream time 10:40 passes 10:00 + 30 min of grace: window 09:00 closes
    answerAll();
    SynthesisState nine = windowTrees().get(tree(NINE));
    assertThat(nine.tree().collapsed()).isTrue();
    assertThat(nine.tree().frontier())
        .singleElement()
        .satisfies(n -> assertThat(nine.latest().text()).isEqualTo(n.text()));
    SynthesisState all =
        driver.<String, SynthesisState>getKeyValueStore(SummarizerTopology.TREE_STORE).get("m1");
    assertThat(all.windows().open()).containsExactly(TEN.toEpochMilli());
    assertThat(all.tree().coveredChunks())
        .as("the closed window is one leaf of the all-time tree")
        .isEqualTo(1);
    assertThat(all.lineage().prompts)
        .as("a folded window's prompts go with it into the all-time tree")
        .contains(Prompts.shipped().get(Prompts.SUMMARIZER_CHUNK).ref());
    Map<String, Synthesis> latest = syntheses.readKeyValuesToMap();
    assertThat(latest.get("m1@2026-11-02T09:00:00Z/2026-11-02T10:00:00Z").text())
        .isEqualTo(nine.latest().text());
    assertThat(latest.get("m1").sourceDocIds()).containsExactly("d1", "d2", "d3");

    send("late", NINE.plusSeconds(3000));
    assertThat(requests.isEmpty()).isTrue();
    var dead = deadLetters.readRecordsToList();
    assertThat(dead)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(header(r, DeadLetters.STAGE)).isEqualTo("processing");
              assertThat(header(r, DeadLetters.EXCEPTION_MESSAGE))
                  .contains("document late of key m1")
                  .contains("too late")
                  .contains("summarizer.window.grace.ms");
            });
  }

  /**
   * A restart from the changelog: the test driver keeps no state across drivers, so the new
   * driver's stores get the latest changelog record of each key, as read back from the old driver's
   * changelog topics (bytes and serde).
   */
  private void restartFromChangelog() {
    Map<String, Map<String, SynthesisState>> restored = new java.util.HashMap<>();
    var serde = dev.llmstreams.events.JsonSerde.of(SynthesisState.class);
    for (String store : List.of(SummarizerTopology.TREE_STORE, SummarizerTopology.WINDOW_STORE)) {
      String changelog =
          driver.producedTopicNames().stream()
              .filter(t -> t.endsWith("-" + store + "-changelog"))
              .findFirst()
              .orElseThrow();
      var out =
          driver.createOutputTopic(
              changelog,
              new org.apache.kafka.common.serialization.StringDeserializer(),
              new ByteArrayDeserializer());
      Map<String, SynthesisState> latest = new java.util.HashMap<>();
      out.readKeyValuesToMap()
          .forEach((k, v) -> latest.put(k, serde.deserializer().deserialize(changelog, v)));
      restored.put(store, latest);
    }
    List<LlmRequest> inFlight = requests.readValuesToList();
    start();
    restored.forEach(
        (store, entries) ->
            entries.forEach(
                (k, v) -> driver.<String, SynthesisState>getKeyValueStore(store).put(k, v)));
    inFlight.forEach(this::answer);
  }

  @Test
  void shouldDeadLetterADocumentFromTheFutureAndKeepTheKeysWindowsOpen() {
    // The driver's clock is this machine's: 2099 is ahead of it, and so is epoch microseconds
    // read as milliseconds (a producer's unit mistake: a year past 50,000).
    Instant wall = Instant.ofEpochMilli(System.currentTimeMillis());
    send("typo", Instant.parse("2099-11-02T09:00:00Z"));
    send("micros", Instant.ofEpochMilli(1_793_610_000_000_000L));
    send("soon", wall.plusSeconds(600)); // within a day: taken
    var dead = deadLetters.readRecordsToList();
    assertThat(dead).hasSize(2);
    assertThat(header(dead.get(0), DeadLetters.EXCEPTION_MESSAGE))
        .startsWith(
            "document typo of key m1 has timestamp 2099-11-02T09:00:00Z, more than 86400000 ms"
                + " (summarizer.timestamp.after.max.ms) ahead of this instance's clock (")
        .endsWith(
            "): a document from the future would close every window of its key. Check the"
                + " producer's clock and the timestamp's unit");
    assertThat(header(dead.get(1), DeadLetters.EXCEPTION_MESSAGE))
        .startsWith("document micros of key m1 has timestamp +5");
    // The key's document time did not move to 2099: a document of today's morning is on time.
    SynthesisState all =
        driver.<String, SynthesisState>getKeyValueStore(SummarizerTopology.TREE_STORE).get("m1");
    assertThat(Instant.ofEpochMilli(all.windows().streamTimeMs()))
        .isBefore(wall.plusSeconds(7_200));
    requests.readValuesToList();
    send("d1", wall.minusSeconds(600));
    assertThat(requests.readValuesToList()).isNotEmpty();
    assertThat(deadLetters.isEmpty()).isTrue();

    // 0 allows nothing ahead of the clock; the bound is the operator's.
    start(Map.of(AppConfig.SUMMARIZER_TIMESTAMP_AFTER_MAX_MS, "0"));
    send("soon", Instant.ofEpochMilli(System.currentTimeMillis()).plusSeconds(3_600));
    assertThat(deadLetters.readRecordsToList()).hasSize(1);
  }

  @Test
  void shouldKeepWindowsAndStreamTimeAcrossARestart() {
    send("d1", NINE.plusSeconds(600));
    answerAll();
    send("d2", TEN.plusSeconds(2400));
    restartFromChangelog(); // the chunk replies of d2 arrive after the restart
    answerAll();
    assertThat(windowTrees().get(tree(NINE)).tree().collapsed()).isTrue();

    send("late", NINE.plusSeconds(3000));
    assertThat(deadLetters.readRecordsToList())
        .singleElement()
        .satisfies(r -> assertThat(header(r, DeadLetters.EXCEPTION_MESSAGE)).contains("too late"));
    send("d3", TEN.plusSeconds(2500));
    answerAll();
    assertThat(windowTrees().get(tree(TEN)).docIds()).containsExactly("d2", "d3");
  }

  @Test
  void shouldDeleteAClosedWindowsTreeOnceItsRetentionHasPassed() {
    start(
        Map.of(
            AppConfig.SUMMARIZER_WINDOW_RETENTION_MS,
            "7200000")); // a closed window is kept 2 h past its close
    send("d1", NINE.plusSeconds(600));
    List<LlmRequest> nineChunks = requests.readValuesToList();
    nineChunks.forEach(this::answer);
    answerAll();
    send("d2", TEN.plusSeconds(2400)); // 10:40: window 09:00 closed at 10:30, kept until 12:30
    answerAll();
    assertThat(windowTrees().get(tree(NINE)).tree().collapsed()).isTrue();
    assertThat(allTime().windows().retained()).containsExactly(NINE.toEpochMilli());

    send("d3", NINE.plusSeconds(3 * 3600 + 2400)); // 12:40: past 12:30
    answerAll();
    assertThat(windowTrees().get(tree(NINE))).isNull();
    assertThat(windowTrees().get(tree(TEN))).as("closed at 11:30, kept until 13:30").isNotNull();
    assertThat(allTime().windows().retained()).containsExactly(TEN.toEpochMilli());
    Map<String, Synthesis> latest = syntheses.readKeyValuesToMap();
    assertThat(latest.get("m1@2026-11-02T09:00:00Z/2026-11-02T10:00:00Z"))
        .as("its final synthesis stays on the topic")
        .isNotNull();

    nineChunks.forEach(this::answer); // a late repeat of the deleted window's chunk replies
    answerAll();
    assertThat(windowTrees().get(tree(NINE))).as("not brought back by a repeat").isNull();
    assertThat(deadLetters.isEmpty()).isTrue();

    // A day of hourly windows: the store holds the open window and those within retention, not
    // every window.
    for (int h = 4; h < 28; h++) {
      send("h" + h, NINE.plusSeconds(h * 3600L + 600));
      answerAll();
    }
    assertThat(windowTreeCount()).isBetween(2L, 4L);
    assertThat(allTime().windows().open().size() + allTime().windows().retained().size())
        .isEqualTo((int) windowTreeCount());
    assertThat(syntheses.readKeyValuesToMap().get("m1").documents()).isEqualTo(27);
  }

  private SynthesisState allTime() {
    return driver.<String, SynthesisState>getKeyValueStore(SummarizerTopology.TREE_STORE).get("m1");
  }

  private long windowTreeCount() {
    long n = 0;
    try (var it = windowTrees().all()) {
      while (it.hasNext()) {
        it.next();
        n++;
      }
    }
    return n;
  }

  private static String header(
      org.apache.kafka.streams.test.TestRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
