package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.events.ShadowReply.Agreement;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.Usage;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRef;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Shadow routes on the gateway topology: a sampled share of the requests also goes to the shadow
 * candidate, whose answers and their comparison with the primary's go to llm-shadow-replies, while
 * the primary's replies stay byte for byte what they are without a shadow.
 *
 * <p>"Byte for byte": the same records on every reply topic in the same order, with the same key
 * and value bytes, timestamps and headers. One part of one header is set aside: the span id inside
 * {@code traceparent}, which is random for every call by design (two runs without a shadow differ
 * there too); the trace id and flags are compared. Latencies come from a test clock, so they are
 * the same in every run.
 */
class GatewayShadowTest {
  private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final List<TopicRef<?>> PRIMARY_TOPICS =
      List.of(
          Topics.CONTROLLER_LLM_REPLIES,
          Topics.SUMMARIZER_LLM_REPLIES,
          Topics.SPECIALIST_LLM_REPLIES,
          Topics.SPANS);

  private final TopicCatalog catalog = TopicCatalog.load();
  private final List<Run> runs = new ArrayList<>();

  /** One gateway on a test driver: the primary is openai, a shadow (if any) anthropic. */
  private final class Run implements AutoCloseable {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final FakeProvider primary;
    final FakeProvider shadow;
    final GatewayModule module;
    final TopologyTestDriver driver;
    final TestInputTopic<String, LlmRequest> requests;
    final TestOutputTopic<String, ShadowReply> shadowReplies;

    Run(
        FakeProvider primary,
        FakeProvider shadow,
        Map<String, String> overrides,
        AtomicLong nanos) {
      this.primary = primary;
      this.shadow = shadow;
      Map<String, String> settings =
          new HashMap<>(
              Map.of(
                  AppConfig.provider("anthropic", "price.input.per.mtok"), "3.0",
                  AppConfig.provider("anthropic", "price.output.per.mtok"), "15.0"));
      settings.putAll(overrides);
      AppConfig config = GatewayTopologyTest.config(settings);
      module =
          new GatewayModule(
              s -> s.name().equals("anthropic") ? shadow : primary, Map.of(), nanos::get);
      driver =
          TestDrivers.create(
              module.topology(catalog, config, registry),
              StreamsSettings.forPattern(config, catalog, "gateway", registry),
              T0);
      requests = DriverTopics.input(driver, catalog.topic(Topics.LLM_REQUESTS));
      shadowReplies = DriverTopics.output(driver, catalog.topic(Topics.LLM_SHADOW_REPLIES));
      runs.add(this);
    }

    Run(FakeProvider primary, FakeProvider shadow, Map<String, String> overrides) {
      this(primary, shadow, overrides, new AtomicLong());
    }

    /** Sends every request at its own time, then lets the punctuator hand finished calls on. */
    void send(List<LlmRequest> list) {
      for (int i = 0; i < list.size(); i++) {
        LlmRequest r = list.get(i);
        RecordHeaders headers = new RecordHeaders();
        String span = String.format("%016x", i + 1);
        headers.add(
            TraceHeaders.TRACEPARENT,
            ("00-" + TRACE_ID + "-" + span + "-01").getBytes(StandardCharsets.UTF_8));
        requests.pipeInput(new TestRecord<>(r.correlationId(), r, headers, T0.plusMillis(i)));
        if (i % 100 == 99) {
          tick();
        }
      }
      tick();
    }

    void tick() {
      driver.advanceWallClockTime(Duration.ofMillis(10));
    }

    /** Every record on the primary's topics, as bytes, topic by topic. */
    Map<String, List<TestRecord<byte[], byte[]>>> primaryOutputs() {
      Map<String, List<TestRecord<byte[], byte[]>>> out = new java.util.LinkedHashMap<>();
      for (TopicRef<?> ref : PRIMARY_TOPICS) {
        String name = catalog.spec(ref.role()).name();
        out.put(
            name,
            driver
                .createOutputTopic(name, new ByteArrayDeserializer(), new ByteArrayDeserializer())
                .readRecordsToList());
      }
      return out;
    }

    double count(String meter, String... tags) {
      var c = registry.find(meter).tags(tags).counters();
      return c.stream().mapToDouble(x -> x.count()).sum();
    }

    @Override
    public void close() {
      driver.close();
      module.afterClose();
    }
  }

  @AfterEach
  void closeRuns() {
    runs.forEach(Run::close);
  }

  private List<LlmRequest> requests(int n) {
    List<LlmRequest> list = new ArrayList<>();
    String[][] purposes = {
      {"controller.plan", catalog.topic(Topics.CONTROLLER_LLM_REPLIES).name()},
      {"summarizer.chunk", catalog.topic(Topics.SUMMARIZER_LLM_REPLIES).name()},
      {"specialist.escalate", catalog.topic(Topics.SPECIALIST_LLM_REPLIES).name()}
    };
    for (int i = 0; i < n; i++) {
      String[] p = purposes[i % 3];
      list.add(GatewayTopologyTest.request("req-" + i, p[0], p[1], "key-" + (i % 17), null));
    }
    return list;
  }

  /** The primary's outputs for {@code input} from a gateway with no shadow (closed after). */
  private Map<String, List<TestRecord<byte[], byte[]>>> withoutShadow(List<LlmRequest> input) {
    try (Run without =
        new Run(FakeProvider.echo("openai"), FakeProvider.echo("anthropic"), Map.of())) {
      runs.remove(without);
      without.send(input);
      assertThat(without.shadow.callList()).isEmpty();
      assertThat(without.shadowReplies.isEmpty()).isTrue();
      return without.primaryOutputs();
    }
  }

  private static Map<String, String> shadow(String sample) {
    return Map.of(
        AppConfig.shadow("default", "route"),
        "anthropic",
        AppConfig.shadow("default", "sample"),
        sample);
  }

  private static void assertSameBytes(
      Map<String, List<TestRecord<byte[], byte[]>>> actual,
      Map<String, List<TestRecord<byte[], byte[]>>> expected) {
    assertThat(actual.keySet()).isEqualTo(expected.keySet());
    expected.forEach(
        (topic, records) -> {
          List<TestRecord<byte[], byte[]>> got = actual.get(topic);
          assertThat(got).as("records on %s", topic).hasSize(records.size());
          for (int i = 0; i < records.size(); i++) {
            TestRecord<byte[], byte[]> a = got.get(i);
            TestRecord<byte[], byte[]> e = records.get(i);
            String where = topic + " #" + i;
            assertThat(a.key()).as("key of %s", where).isEqualTo(e.key());
            assertThat(a.value()).as("value of %s", where).isEqualTo(e.value());
            assertThat(a.getRecordTime()).as("time of %s", where).isEqualTo(e.getRecordTime());
            assertThat(headers(a)).as("headers of %s", where).isEqualTo(headers(e));
          }
        });
  }

  /** Header names and values in order; the random span id of traceparent set aside. */
  private static List<String> headers(TestRecord<byte[], byte[]> record) {
    List<String> out = new ArrayList<>();
    record
        .headers()
        .forEach(
            h -> {
              String v = new String(h.value(), StandardCharsets.UTF_8);
              if (h.key().equals(TraceHeaders.TRACEPARENT)) {
                v = v.substring(0, 36) + "<span>" + v.substring(52);
              }
              out.add(h.key() + "=" + v);
            });
    return out;
  }

  @Test
  void shouldSendTheSampledShareToTheShadowAndLeaveThePrimaryRepliesByteIdentical() {
    int n = 1_000; // at least 1,000; the sampling itself is tested over 100,000 ids
    List<LlmRequest> input = requests(n);
    Map<String, List<TestRecord<byte[], byte[]>>> expected = withoutShadow(input);
    assertThat(expected.values().stream().mapToInt(List::size).sum()).isEqualTo(n);

    Run with = new Run(FakeProvider.echo("openai"), FakeProvider.echo("anthropic"), shadow("0.3"));
    with.send(input);
    assertSameBytes(with.primaryOutputs(), expected);
    assertThat(with.primary.callList()).hasSize(n);

    // The share sent to the candidate: within 5% of 0.3, that is 0.3 ± 0.015 (absolute).
    double share = (double) with.shadow.callList().size() / n;
    assertThat(share).isCloseTo(0.3, org.assertj.core.data.Offset.offset(0.015));
    // Exactly the requests the hash of their id picks, each compared once.
    Set<String> picked =
        input.stream()
            .map(LlmRequest::requestId)
            .filter(id -> ShadowRoute.position(id) < 0.3)
            .collect(Collectors.toSet());
    List<ShadowReply> compared = with.shadowReplies.readValuesToList();
    assertThat(compared).extracting(ShadowReply::requestId).doesNotHaveDuplicates();
    assertThat(compared.stream().map(ShadowReply::requestId).collect(Collectors.toSet()))
        .isEqualTo(picked);
    assertThat(with.shadow.callList())
        .extracting(c -> c.request().requestId())
        .containsExactlyInAnyOrderElementsOf(picked);
    assertThat(compared).allSatisfy(r -> assertThat(r.agreement()).isEqualTo(Agreement.AGREE));
    assertThat(with.count("llmstreams.llm.shadow.sampled", "provider", "anthropic"))
        .isEqualTo(picked.size());
    assertThat(with.count("llmstreams.llm.shadow.agreement", "outcome", "agree"))
        .isEqualTo(picked.size());
  }

  @Test
  void shouldLeaveThePrimaryUnaffectedWhenTheShadowFails() {
    int n = 300;
    List<LlmRequest> input = requests(n);
    Map<String, List<TestRecord<byte[], byte[]>>> expected = withoutShadow(input);

    FakeProvider failing =
        new FakeProvider(
            "anthropic",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(
                        LlmError.Code.PROVIDER_ERROR, "HTTP 503 from provider", true)));
    Run with = new Run(FakeProvider.echo("openai"), failing, shadow("0.5"));
    with.send(input);
    assertSameBytes(with.primaryOutputs(), expected);
    assertThat(with.primary.callList()).hasSize(n);

    // Every sampled request ends with a comparison saying the candidate failed (retried, then its
    // own circuit open), while the primary's circuit stays closed.
    long sampled = input.stream().filter(r -> ShadowRoute.position(r.requestId()) < 0.5).count();
    List<ShadowReply> compared = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> {
              with.tick();
              compared.addAll(with.shadowReplies.readValuesToList());
              return compared.size() >= sampled;
            });
    assertThat(compared).hasSize((int) sampled);
    assertThat(compared)
        .allSatisfy(
            r -> {
              assertThat(r.agreement()).isEqualTo(Agreement.SHADOW_FAILED);
              assertThat(r.error().code())
                  .isIn(LlmError.Code.PROVIDER_ERROR, LlmError.Code.CIRCUIT_OPEN);
              assertThat(r.primaryError()).isNull();
            });
    assertThat(compared).anySatisfy(r -> assertThat(r.error().attempts()).isEqualTo(4));
    assertThat(
            with.registry
                .get("llmstreams.llm.shadow.circuit.state")
                .tag("provider", "anthropic")
                .gauge()
                .value())
        .isEqualTo(1.0);
    assertThat(
            with.registry
                .get("llmstreams.llm.circuit.state")
                .tag("provider", "openai")
                .gauge()
                .value())
        .isZero();
    assertThat(with.registry.find("llmstreams.llm.retries").counters()).isEmpty();
    assertThat(with.count("llmstreams.llm.requests", "outcome", "ok")).isEqualTo(n);
    assertThat(with.count("llmstreams.llm.shadow.agreement", "outcome", "shadow_failed"))
        .isEqualTo(sampled);
  }

  @Test
  void shouldMakeTheSameChoiceForARequestIdSeenAgain() {
    List<LlmRequest> input = requests(300);
    Run first = new Run(FakeProvider.echo("openai"), FakeProvider.echo("anthropic"), shadow("0.3"));
    first.send(input);
    Set<String> firstChoice =
        first.shadowReplies.readValuesToList().stream()
            .map(ShadowReply::requestId)
            .collect(Collectors.toSet());
    assertThat(firstChoice).isNotEmpty();
    // The same requests again (a replay): answered from the cache, so no provider call and no
    // second comparison.
    first.send(input);
    assertThat(first.primary.callList()).hasSize(300);
    assertThat(first.shadow.callList()).hasSize(firstChoice.size());
    assertThat(first.shadowReplies.isEmpty()).isTrue();
    first.close();
    runs.remove(first);

    // Another gateway (a restart, another instance) picks the same requests.
    Run second =
        new Run(FakeProvider.echo("openai"), FakeProvider.echo("anthropic"), shadow("0.3"));
    second.send(input);
    assertThat(
            second.shadowReplies.readValuesToList().stream()
                .map(ShadowReply::requestId)
                .collect(Collectors.toSet()))
        .isEqualTo(firstChoice);
  }

  @Test
  void shouldCompareAnswersToolCallsCostAndLatencyAndNeverActOnTheCandidatesToolCalls() {
    AtomicLong nanos = new AtomicLong();
    // The primary takes 5 ms and echoes; the candidate takes 20 ms and asks for a tool for every
    // other request, else echoes the same answer.
    FakeProvider primary =
        new FakeProvider(
            "openai",
            call -> {
              nanos.addAndGet(5_000_000);
              return CompletableFuture.completedFuture(FakeProvider.answer(call.request()));
            });
    FakeProvider candidate =
        new FakeProvider(
            "anthropic",
            call -> {
              nanos.addAndGet(20_000_000);
              int i = Integer.parseInt(call.request().requestId().substring(4));
              return CompletableFuture.completedFuture(
                  i % 2 == 0
                      ? FakeProvider.answer(call.request())
                      : new Completion(
                          null,
                          List.of(
                              new ToolCallRequest(
                                  "toolu_" + i, "publish", Json.tree("{\"topic\":\"news\"}"))),
                          "tool_calls",
                          new Usage(12, 30),
                          "claude-candidate-1"));
            });
    Map<String, String> settings = new HashMap<>(shadow("1"));
    settings.put(AppConfig.shadow("default", "model"), "claude-candidate");
    Run run = new Run(primary, candidate, settings, nanos);
    List<LlmRequest> input = requests(6);
    run.send(input);

    List<ShadowReply> compared = run.shadowReplies.readValuesToList();
    assertThat(compared)
        .extracting(ShadowReply::requestId)
        .containsExactly("req-0", "req-1", "req-2", "req-3", "req-4", "req-5");
    assertThat(candidate.callList())
        .allSatisfy(c -> assertThat(c.model()).isEqualTo("claude-candidate"));
    ShadowReply same = compared.get(0);
    assertThat(same.agreement()).isEqualTo(Agreement.AGREE);
    assertThat(same.content()).isEqualTo("echo: hello req-0");
    assertThat(same.latencyMs()).isEqualTo(20);
    assertThat(same.primaryLatencyMs()).isEqualTo(5);
    assertThat(same.costUsd())
        .isCloseTo((10 * 3.0 + 5 * 15.0) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(same.primaryCostUsd())
        .isCloseTo((10 * 2.0 + 5 * 8.0) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(same.primaryProvider()).isEqualTo("openai");
    assertThat(same.provider()).isEqualTo("anthropic");
    ShadowReply differs = compared.get(1);
    assertThat(differs.agreement()).isEqualTo(Agreement.DISAGREE);
    assertThat(differs.sameToolCalls()).isFalse();
    assertThat(differs.toolCalls()).extracting(ToolCallRequest::name).containsExactly("publish");
    assertThat(differs.model()).isEqualTo("claude-candidate-1");
    // The comparison carries the request's key, like the primary's reply.
    // Tool calls are recorded only: the gateway writes no tool-call topic, and the primary replies
    // carry the primary's answer alone.
    assertThat(run.primaryOutputs().values().stream().mapToInt(List::size).sum()).isEqualTo(6);

    assertThat(run.count("llmstreams.llm.shadow.agreement", "outcome", "agree")).isEqualTo(3);
    assertThat(run.count("llmstreams.llm.shadow.agreement", "outcome", "disagree")).isEqualTo(3);
    var shadowLatency =
        run.registry.get("llmstreams.llm.shadow.latency").tag("side", "shadow").timers();
    assertThat(shadowLatency.stream().mapToLong(t -> t.count()).sum()).isEqualTo(6);
    assertThat(
            run
                .registry
                .get("llmstreams.llm.shadow.latency")
                .tag("side", "primary")
                .timers()
                .stream()
                .mapToDouble(t -> t.max(java.util.concurrent.TimeUnit.MILLISECONDS))
                .max()
                .orElseThrow())
        .isEqualTo(5.0);
    assertThat(run.count("llmstreams.llm.shadow.cost", "side", "primary"))
        .isCloseTo(6 * (10 * 2.0 + 5 * 8.0) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    // The primary's own meters count the primary alone.
    assertThat(run.count("llmstreams.llm.requests")).isEqualTo(6);
    assertThat(run.registry.find("llmstreams.llm.requests").tag("provider", "anthropic").counters())
        .isEmpty();
  }

  @Test
  void shouldGiveTheShadowItsOwnSlotsAndSkipWhatItsQueueCannotHold() {
    FakeProvider primary = FakeProvider.echo("openai");
    FakeProvider candidate = FakeProvider.held("anthropic");
    Map<String, String> settings = new HashMap<>(shadow("1"));
    settings.put(AppConfig.LLM_SHADOW_CONCURRENCY, "1");
    settings.put(AppConfig.LLM_SHADOW_MAX_QUEUED, "2");
    settings.put(AppConfig.provider("openai", "concurrency"), "1");
    Run run = new Run(primary, candidate, settings);
    List<LlmRequest> input = requests(6);
    run.send(input);

    // The candidate holds its only slot; the primary, with one slot of its own, answers all six.
    assertThat(run.primaryOutputs().values().stream().mapToInt(List::size).sum()).isEqualTo(6);
    assertThat(candidate.callList()).hasSize(1);
    assertThat(run.count("llmstreams.llm.shadow.sampled")).isEqualTo(3); // 1 in flight, 2 queued
    assertThat(run.count("llmstreams.llm.shadow.skipped", "reason", "queue_full")).isEqualTo(3);
    assertThat(
            run.registry
                .get("llmstreams.llm.shadow.inflight")
                .tag("route", "default")
                .gauge()
                .value())
        .isEqualTo(1.0);

    // As each held call ends, the next queued one starts; three comparisons in all.
    for (int i = 0; i < 3; i++) {
      FakeProvider.Call call = candidate.callList().get(i);
      call.answer().complete(FakeProvider.answer(call.request()));
      run.tick();
    }
    assertThat(candidate.callList()).hasSize(3);
    assertThat(run.shadowReplies.readValuesToList())
        .extracting(ShadowReply::agreement)
        .containsExactly(Agreement.AGREE, Agreement.AGREE, Agreement.AGREE);
  }

  @Test
  void shouldWriteOnlyCatalogTopics() {
    Run run = new Run(FakeProvider.echo("openai"), FakeProvider.echo("anthropic"), shadow("1"));
    Topic<ShadowReply> topic = catalog.topic(Topics.LLM_SHADOW_REPLIES);
    assertThat(topic.name()).isEqualTo("llm-shadow-replies");
    run.send(requests(1));
    TestRecord<String, ShadowReply> record = run.shadowReplies.readRecord();
    assertThat(record.key()).isEqualTo("key-0");
    assertThat(record.headers().lastHeader(TraceHeaders.TRACEPARENT)).isNotNull();
  }
}
