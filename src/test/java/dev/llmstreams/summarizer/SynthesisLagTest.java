package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Usage;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code llmstreams.summarizer.synthesis.lag}: from the newest document timestamp a synthesis
 * covers to its emission, on the driver's wall clock (set, never slept on).
 */
class SynthesisLagTest {
  private static final Instant NINE = Instant.parse("2026-11-02T09:00:00Z");
  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, Document> documents;
  private TestInputTopic<String, LlmReply> replies;
  private TestOutputTopic<String, LlmRequest> requests;

  private void start(String windowMs) {
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.SUMMARIZER_WINDOW_MS,
                windowMs,
                AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
                "0",
                AppConfig.SUMMARIZER_MERGE_FAN_IN,
                "8"));
    // The wall clock starts 30 s after the first document's timestamp.
    driver =
        TestDrivers.create(
            new SummarizerModule().topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "summarizer", registry),
            NINE.plusSeconds(30));
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
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private LlmRequest send(String docId, Instant timestamp) {
    documents.pipeInput(
        "m1", new Document(docId, "The team agreed to ship in March.", timestamp, Map.of()));
    List<LlmRequest> out = requests.readValuesToList();
    assertThat(out).hasSize(1);
    return out.get(0);
  }

  private void answer(LlmRequest request, String text) {
    replies.pipeInput(
        "m1",
        new LlmReply(
            request.requestId(),
            "m1",
            request.purpose(),
            text,
            List.of(),
            "stop",
            new Usage(40, 10),
            0.0,
            5,
            "offline",
            "offline-engine",
            false,
            null));
  }

  private Timer lag(String tree) {
    return registry.get("llmstreams.summarizer.synthesis.lag").tag("tree", tree).timer();
  }

  @Test
  void shouldMeasureLagFromTheCoveredDocumentTimestampToTheEmission() {
    start("86400000");
    LlmRequest chunk = send("d1", NINE);
    driver.advanceWallClockTime(Duration.ofSeconds(15));
    answer(chunk, "summary of d1");
    // One leaf: the window's synthesis and the all-time one go out at once, 45 s after the
    // document.
    assertThat(lag("window").count()).isEqualTo(1);
    assertThat(lag("window").max(TimeUnit.SECONDS)).isEqualTo(45.0);
    assertThat(lag("all-time").count()).isEqualTo(1);
    assertThat(lag("all-time").max(TimeUnit.SECONDS)).isEqualTo(45.0);
  }

  @Test
  void shouldMeasureAnLlmSynthesisFromTheNewestDocumentItCoversNotOnesAnsweredWhileItWasInFlight() {
    start("0");
    LlmRequest first = send("d1", NINE);
    LlmRequest second = send("d2", NINE.plusSeconds(10));
    answer(first, "summary of d1");
    answer(second, "summary of d2"); // two leaves: a synthesis call goes out, covering d1 and d2
    LlmRequest synthesis =
        requests.readValuesToList().stream()
            .filter(r -> r.purpose().equals(MergeSummaries.PURPOSE_SYNTHESIS))
            .findFirst()
            .orElseThrow();
    LlmRequest third = send("d3", NINE.plusSeconds(25));
    answer(third, "summary of d3"); // in the tree, not in the synthesis in flight
    driver.advanceWallClockTime(Duration.ofSeconds(60));
    answer(synthesis, "synthesis of d1 and d2");

    // The single leaf at d1 (30 s), then the synthesis of d1 and d2: 90 s - 10 s, not 90 s - 25 s.
    assertThat(lag("all-time").count()).isEqualTo(2);
    assertThat(lag("all-time").max(TimeUnit.SECONDS)).isEqualTo(80.0);
    assertThat(lag("all-time").totalTime(TimeUnit.SECONDS)).isEqualTo(30.0 + 80.0);
  }
}
