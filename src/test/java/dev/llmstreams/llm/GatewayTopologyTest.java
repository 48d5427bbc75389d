package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.TestDrivers;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GatewayTopologyTest {
  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private GatewayModule module;
  private TestInputTopic<String, LlmRequest> requests;
  private TestInputTopic<String, LlmRequest> controllerRequests;
  private TestOutputTopic<String, LlmReply> summarizerReplies;
  private TestOutputTopic<String, LlmReply> controllerReplies;
  private TestOutputTopic<byte[], byte[]> deadLetters;

  /**
   * The configuration of the gateway tests: openai by default, priced, with short backoffs; plus
   * {@code overrides}.
   */
  static AppConfig config(Map<String, String> overrides) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "openai",
                AppConfig.provider("openai", "price.input.per.mtok"),
                "2.0",
                AppConfig.provider("openai", "price.output.per.mtok"),
                "8.0",
                AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS,
                "1",
                AppConfig.LLM_RETRY_MAX_BACKOFF_MS,
                "5"));
    settings.putAll(overrides);
    return AppConfig.of(settings);
  }

  private void start(FakeProvider provider, Map<String, String> overrides) {
    AppConfig config = config(overrides);
    module = new GatewayModule(s -> provider, Map.of());
    java.util.Properties props = StreamsSettings.forPattern(config, catalog, "gateway", registry);
    // Task-level meters (punctuations) are recorded at DEBUG.
    props.put(org.apache.kafka.streams.StreamsConfig.METRICS_RECORDING_LEVEL_CONFIG, "DEBUG");
    driver = TestDrivers.create(module.topology(catalog, config, registry), props);
    var req = catalog.topic(Topics.LLM_REQUESTS);
    requests =
        driver.createInputTopic(
            req.name(), req.keySerde().serializer(), req.valueSerde().serializer());
    var creq = catalog.topic(Topics.CONTROLLER_LLM_REQUESTS);
    controllerRequests =
        driver.createInputTopic(
            creq.name(), creq.keySerde().serializer(), creq.valueSerde().serializer());
    var sum = catalog.topic(Topics.SUMMARIZER_LLM_REPLIES);
    summarizerReplies =
        driver.createOutputTopic(
            sum.name(), sum.keySerde().deserializer(), sum.valueSerde().deserializer());
    var ctl = catalog.topic(Topics.CONTROLLER_LLM_REPLIES);
    controllerReplies =
        driver.createOutputTopic(
            ctl.name(), ctl.keySerde().deserializer(), ctl.valueSerde().deserializer());
    deadLetters =
        driver.createOutputTopic(
            catalog.spec(TopicRole.DEAD_LETTERS).name(),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
  }

  @AfterEach
  void tearDown() {
    if (driver != null) {
      driver.close();
    }
    if (module != null) {
      module.afterClose();
    }
  }

  private LlmRequest request(String id, String purpose, String replyTo) {
    return request(id, purpose, replyTo, (PromptRef) null);
  }

  /** A request carrying {@code prompt}, as the patterns send them. */
  private LlmRequest request(String id, String purpose, String replyTo, PromptRef prompt) {
    return request(id, purpose, replyTo, "key-1", prompt);
  }

  /** A request saying hello, with {@code key} as its correlation id, carrying {@code prompt}. */
  static LlmRequest request(
      String id, String purpose, String replyTo, String key, PromptRef prompt) {
    return new LlmRequest(
        id,
        replyTo,
        purpose,
        key,
        null,
        null,
        List.of(ChatMessage.user("hello " + id)),
        List.of(),
        null,
        null,
        null,
        null,
        Map.of(),
        prompt);
  }

  private String summarizerReplyTopic() {
    return catalog.spec(TopicRole.SUMMARIZER_LLM_REPLIES).name();
  }

  /** Lets the wall-clock punctuator turn finished calls into replies. */
  private void tick() {
    driver.advanceWallClockTime(Duration.ofMillis(10));
  }

  /** The same question under another requestId, correlation and purpose, with {@code model}. */
  private LlmRequest sameQuestion(String id, String model) {
    return new LlmRequest(
        id,
        summarizerReplyTopic(),
        "summarizer.chunk",
        "doc-" + id,
        null,
        model,
        List.of(ChatMessage.system("summarize"), ChatMessage.user("the same text")),
        List.of(),
        null,
        null,
        null,
        null,
        Map.of(),
        new PromptRef("summarizer.chunk", "sha256:0123456789ab"));
  }

  @Test
  void shouldAnswerTheSameQuestionFromTheReplyCacheWhateverItsRequestIdWhenOneIsConfigured() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of(AppConfig.LLM_REPLY_CACHE_TOPIC, "replay.reply-cache"));
    TestOutputTopic<String, LlmReply> cache =
        driver.createOutputTopic(
            "replay.reply-cache",
            new org.apache.kafka.common.serialization.StringDeserializer(),
            dev.llmstreams.events.JsonSerde.of(LlmReply.class).deserializer());

    requests.pipeInput("k1", sameQuestion("r1", null));
    tick();
    LlmReply first = summarizerReplies.readValue();
    assertThat(first.cached()).isFalse();
    assertThat(first.usage().inputTokens()).isEqualTo(10);
    var entries = cache.readKeyValuesToList();
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).key).startsWith("sha256:");
    assertThat(entries.get(0).value.content()).isEqualTo(first.content());

    // Asked again by another run (another requestId and correlation): answered, not billed, no
    // call.
    requests.pipeInput("k2", sameQuestion("r2", null));
    tick();
    LlmReply again = summarizerReplies.readValue();
    assertThat(provider.callList()).hasSize(1);
    assertThat(again.requestId()).isEqualTo("r2");
    assertThat(again.correlationId()).isEqualTo("doc-r2");
    assertThat(again.cached()).isTrue();
    assertThat(again.content()).isEqualTo(first.content());
    assertThat(again.usage().inputTokens()).isZero();
    assertThat(again.costUsd()).isZero();
    assertThat(again.prompt()).isEqualTo(first.prompt());
    assertThat(registry.get("llmstreams.llm.reply.cache.hits").counter().count()).isEqualTo(1);
    assertThat(cache.isEmpty()).as("nothing new to cache").isTrue();

    // Another model is another question: the provider is called.
    requests.pipeInput("k3", sameQuestion("r3", "another-model"));
    tick();
    assertThat(summarizerReplies.readValue().cached()).isFalse();
    assertThat(provider.callList()).hasSize(2);
  }

  @Test
  void shouldNeverAnswerFromAnotherRequestsReplyWithoutAReplyCache() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    requests.pipeInput("k1", sameQuestion("r1", null));
    requests.pipeInput("k2", sameQuestion("r2", null));
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::cached)
        .containsOnly(false);
    assertThat(provider.callList()).hasSize(2);
  }

  @Test
  void shouldAnswerOnTheRequestsReplyTopicWithItsKeyUsageAndCost() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    requests.pipeInput("meeting-1", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    TestRecord<String, LlmReply> out = summarizerReplies.readRecord();
    assertThat(out.key()).isEqualTo("meeting-1");
    LlmReply reply = out.value();
    assertThat(reply.requestId()).isEqualTo("r1");
    assertThat(reply.content()).isEqualTo("echo: hello r1");
    assertThat(reply.usage().inputTokens()).isEqualTo(10);
    assertThat(reply.costUsd())
        .isCloseTo((10 * 2.0 + 5 * 8.0) / 1_000_000, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(reply.provider()).isEqualTo("openai");
    assertThat(reply.model()).isEqualTo("fake-model-1");
    assertThat(reply.cached()).isFalse();
    assertThat(controllerReplies.isEmpty()).isTrue();
    assertThat(provider.callList())
        .singleElement()
        .satisfies(c -> assertThat(c.model()).isEqualTo("gpt-4o-mini"));
  }

  @Test
  void shouldAnswerTheControllersRequestsFromTheirOwnTopicWithTheSameCache() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    String replyTo = catalog.spec(TopicRole.CONTROLLER_LLM_REPLIES).name();
    controllerRequests.pipeInput(
        "goal-1", request("g1", "controller.plan", replyTo, "goal-1", null));
    tick();
    TestRecord<String, LlmReply> out = controllerReplies.readRecord();
    assertThat(out.key()).isEqualTo("goal-1");
    assertThat(out.value().requestId()).isEqualTo("g1");
    assertThat(out.value().content()).isEqualTo("echo: hello g1");
    // The same request again (the controller's retry after a crash): from the cache, not billed.
    controllerRequests.pipeInput(
        "goal-1", request("g1", "controller.plan", replyTo, "goal-1", null));
    tick();
    assertThat(controllerReplies.readRecord().value().cached()).isTrue();
    assertThat(provider.callList()).hasSize(1);
    assertThat(summarizerReplies.isEmpty()).isTrue();
  }

  @Test
  void shouldAnswerARepeatedRequestFromTheCacheWithoutCallingTheProviderAgain() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    List<LlmReply> replies = summarizerReplies.readValuesToList();
    assertThat(replies).hasSize(2);
    assertThat(replies.get(1).cached()).isTrue();
    assertThat(replies.get(1).content()).isEqualTo(replies.get(0).content());
    assertThat(replies.get(1).costUsd()).isZero();
    assertThat(provider.callList()).hasSize(1);
    assertThat(registry.get("llmstreams.llm.cache.hits").counter().count()).isEqualTo(1.0);
  }

  @Test
  void shouldForgetACachedReplyOnceItsTtlHasPassed() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of(AppConfig.LLM_CACHE_TTL_MS, "3000"));
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    KeyValueStore<String, GatewayTopology.CachedReply> cache =
        driver.getKeyValueStore(GatewayTopology.REPLIES_STORE);
    assertThat(cache.get("r1")).isNotNull();
    assertThat(
            driver
                .<String, Object>getKeyValueStore(GatewayTopology.PENDING_STORE)
                .approximateNumEntries())
        .isZero();

    driver.advanceWallClockTime(Duration.ofMillis(2_000));
    assertThat(cache.get("r1")).as("within its TTL").isNotNull();
    driver.advanceWallClockTime(Duration.ofMillis(3_000));
    assertThat(cache.get("r1")).as("past its TTL").isNull();
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::cached)
        .containsExactly(false, false);
    assertThat(provider.callList()).hasSize(2);
  }

  @Test
  void shouldKeepAtMostTheConcurrencyLimitInFlightAndStartTheNextWhenOneFinishes() {
    FakeProvider provider = FakeProvider.held("openai");
    start(
        provider,
        Map.of(
            AppConfig.provider("openai", "concurrency"),
            "2",
            AppConfig.provider("openai", "interactive.reserved"),
            "0"));
    for (int i = 0; i < 5; i++) {
      requests.pipeInput("k", request("r" + i, "summarizer.chunk", summarizerReplyTopic()));
    }
    assertThat(provider.callList()).hasSize(2);
    // A slow first call does not hold back the second: finishing r1 first frees a slot for r2.
    answer(provider, 1);
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::requestId)
        .containsExactly("r1");
    assertThat(provider.callList()).hasSize(3);
    provider.callList().forEach(c -> c.answer().complete(FakeProvider.answer(c.request())));
    tick();
    tick();
    provider.callList().forEach(c -> c.answer().complete(FakeProvider.answer(c.request())));
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::requestId)
        .containsExactlyInAnyOrder("r0", "r2", "r3", "r4");
    assertThat(provider.callList()).hasSize(5);
  }

  /** Completes the provider's {@code index}-th call with its answer. */
  private static void answer(FakeProvider provider, int index) {
    FakeProvider.Call call = provider.callList().get(index);
    call.answer().complete(FakeProvider.answer(call.request()));
  }

  /** How many wall-clock punctuations the gateway's tasks ran (Kafka Streams' task metrics). */
  private double punctuations() {
    return driver.metrics().entrySet().stream()
        .filter(e -> e.getKey().name().equals("punctuate-total"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .sum();
  }

  @Test
  void shouldPunctuateOnlyWhileACallIsUnanswered() {
    FakeProvider provider = FakeProvider.held("openai");
    start(provider, Map.of());
    double atStart = punctuations();
    tick();
    tick();
    // Nothing to hand on: no punctuation, so Kafka Streams has no reason to commit.
    assertThat(punctuations()).isEqualTo(atStart);

    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    tick();
    double whileInFlight = punctuations();
    assertThat(whileInFlight).isGreaterThan(atStart);

    answer(provider, 0);
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::requestId)
        .containsExactly("r1");
    double answered = punctuations();
    tick();
    tick();
    assertThat(punctuations()).as("idle again").isEqualTo(answered);

    // The next call schedules the hand-over again.
    requests.pipeInput("k", request("r2", "summarizer.chunk", summarizerReplyTopic()));
    answer(provider, 1);
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::requestId)
        .containsExactly("r2");
  }

  @Test
  void shouldIgnoreADuplicateWhileTheFirstCopyIsInFlight() {
    FakeProvider provider = FakeProvider.held("openai");
    start(provider, Map.of());
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic()));
    assertThat(provider.callList()).hasSize(1);
    answer(provider, 0);
    tick();
    assertThat(summarizerReplies.readValuesToList()).hasSize(1);
  }

  @Test
  void shouldRetryRetryableErrorsThenAnswerWithAStructuredError() {
    FakeProvider provider =
        new FakeProvider(
            "openai",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(
                        LlmError.Code.PROVIDER_ERROR, "HTTP 503 from provider", true)));
    start(provider, Map.of(AppConfig.LLM_RETRY_MAX_ATTEMPTS, "3"));
    requests.pipeInput(
        "k",
        request("r1", "controller.plan", catalog.spec(TopicRole.CONTROLLER_LLM_REPLIES).name()));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              tick();
              return !controllerReplies.isEmpty();
            });
    LlmReply reply = controllerReplies.readValue();
    assertThat(reply.error()).isNotNull();
    assertThat(reply.error().code()).isEqualTo(LlmError.Code.PROVIDER_ERROR);
    assertThat(reply.error().attempts()).isEqualTo(3);
    assertThat(reply.content()).isNull();
    assertThat(provider.callList()).hasSize(3);
  }

  @Test
  void shouldEchoTheRequestsPromptOnItsReplyAndTheFirstPromptOnACachedOne() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    PromptRef first = new PromptRef("summarizer.chunk", "sha256:0123456789ab");
    PromptRef later = new PromptRef("summarizer.chunk", "sha256:ba9876543210");
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic(), first));
    tick();
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic(), later));
    tick();
    requests.pipeInput("k", request("r2", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    List<LlmReply> replies = summarizerReplies.readValuesToList();
    assertThat(replies).extracting(LlmReply::cached).containsExactly(false, true, false);
    // The cached answer was written under the first prompt: that is what it says.
    assertThat(replies).extracting(LlmReply::prompt).containsExactly(first, first, null);
  }

  @Test
  void shouldNotRetryARefusedRequest() {
    FakeProvider provider =
        new FakeProvider(
            "openai",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(
                        LlmError.Code.INVALID_REQUEST, "HTTP 400: bad schema", false)));
    start(provider, Map.of());
    PromptRef prompt = new PromptRef("summarizer.chunk", "sha256:00aa11bb22cc");
    requests.pipeInput("k", request("r1", "summarizer.chunk", summarizerReplyTopic(), prompt));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              tick();
              return !summarizerReplies.isEmpty();
            });
    LlmReply reply = summarizerReplies.readValue();
    assertThat(reply.error().code()).isEqualTo(LlmError.Code.INVALID_REQUEST);
    assertThat(reply.error().attempts()).isEqualTo(1);
    assertThat(reply.prompt()).as("a failed reply echoes the prompt too").isEqualTo(prompt);
    assertThat(provider.callList()).hasSize(1);
  }

  @Test
  void shouldRefuseAReplyTopicOutsideTheCatalogsReplyTopics() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    requests.pipeInput(
        "k", request("r1", "summarizer.chunk", catalog.spec(TopicRole.GOAL_RESULTS).name()));
    tick();
    TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
    assertThat(
            new String(
                dead.headers().lastHeader(DeadLetters.EXCEPTION_MESSAGE).value(),
                StandardCharsets.UTF_8))
        .contains("is not a reply topic");
    assertThat(provider.callList()).isEmpty();
  }

  @Test
  void shouldDeadLetterMalformedWrongTypedHugeAndHostileRequestsAndKeepAnswering() {
    FakeProvider provider = FakeProvider.echo("openai");
    start(provider, Map.of());
    var raw =
        driver.createInputTopic(
            catalog.spec(TopicRole.LLM_REQUESTS).name(),
            new org.apache.kafka.common.serialization.StringSerializer(),
            new org.apache.kafka.common.serialization.StringSerializer());
    raw.pipeInput("k", "not json");
    raw.pipeInput(
        "k",
        "{\"requestId\":7,\"replyTo\":\"x\",\"purpose\":\"p\",\"correlationId\":\"k\",\"messages\":[]}");
    raw.pipeInput("k", "{\"requestId\":\"r\",\"replyTo\":\"" + "x".repeat(17_000_000) + "\"}");
    // Hostile: a request that asks the gateway to answer on a topic it must not write to.
    requests.pipeInput(
        "k", request("hostile", "summarizer.chunk", catalog.spec(TopicRole.DOCUMENTS).name()));
    requests.pipeInput("k", request("ok", "summarizer.chunk", summarizerReplyTopic()));
    tick();
    assertThat(summarizerReplies.readValuesToList())
        .extracting(LlmReply::requestId)
        .containsExactly("ok");
    var deserialization =
        registry.find("llmstreams.dead.letters").tag("stage", "deserialization").counter();
    assertThat(deserialization).isNotNull();
    assertThat(deserialization.count()).isEqualTo(3.0);
    // Values are decoded after placement (KeyedInput), by a processor, so the driver pipes out
    // these dead letters too.
    var dead = deadLetters.readRecordsToList();
    assertThat(dead)
        .extracting(
            d ->
                dev.llmstreams.testkit.DriverTopics.header(
                    d.headers(), dev.llmstreams.topics.DeadLetters.STAGE))
        .containsExactly(
            "deserialization",
            "deserialization",
            "deserialization",
            "processing"); // the last: hostile
    assertThat(dead)
        .allSatisfy(
            d ->
                assertThat(
                        dev.llmstreams.testkit.DriverTopics.header(
                            d.headers(), dev.llmstreams.topics.DeadLetters.SOURCE_TOPIC))
                    .isEqualTo(catalog.spec(TopicRole.LLM_REQUESTS).name()));
    assertThat(provider.callList()).extracting(c -> c.request().requestId()).containsExactly("ok");
  }

  @Test
  void shouldRouteEachPurposeToItsConfiguredProvider() {
    FakeProvider provider = FakeProvider.echo("anthropic");
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "offline",
                AppConfig.route("controller"),
                "anthropic"));
    LlmGateway gateway =
        new LlmGateway(
            config,
            Map.of("offline", provider, "anthropic", provider),
            Map.of(
                "offline",
                ProviderSettings.from(config, "offline", Map.of()),
                "anthropic",
                ProviderSettings.from(config, "anthropic", Map.of())),
            registry,
            java.time.Clock.systemUTC());
    assertThat(gateway.providerFor(request("a", "controller.plan", "x"))).isEqualTo("anthropic");
    assertThat(gateway.providerFor(request("b", "summarizer.merge", "x"))).isEqualTo("offline");
    assertThat(gateway.providerFor(request("c", "specialist.escalate", "x"))).isEqualTo("offline");
    gateway.close();
  }
}
