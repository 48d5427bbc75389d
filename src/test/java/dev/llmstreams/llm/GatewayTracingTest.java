package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
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
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One {@code chat {model}} span per LLM call, child of the requester's span, in its reply's trace.
 */
class GatewayTracingTest {
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String ASKER = "b7ad6b7169203331";

  private final TopicCatalog catalog = TopicCatalog.load();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private GatewayModule module;
  private TestInputTopic<String, LlmRequest> requests;
  private TestOutputTopic<String, LlmReply> replies;
  private TestOutputTopic<String, SpanRecord> spans;

  private void start(FakeProvider provider, Map<String, String> overrides) {
    start(s -> provider, overrides);
  }

  private void start(GatewayModule.ProviderFactory providers, Map<String, String> overrides) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "openai",
                AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS,
                "1",
                AppConfig.LLM_RETRY_MAX_BACKOFF_MS,
                "5",
                AppConfig.TRACING_ENABLED,
                "true"));
    settings.putAll(overrides);
    AppConfig config = AppConfig.of(settings);
    module = new GatewayModule(providers, Map.of());
    driver =
        TestDrivers.create(
            module.topology(catalog, config, registry),
            StreamsSettings.forPattern(config, catalog, "gateway", registry));
    requests = DriverTopics.input(driver, catalog.topic(Topics.LLM_REQUESTS));
    replies = DriverTopics.output(driver, catalog.topic(Topics.CONTROLLER_LLM_REPLIES));
    spans = DriverTopics.output(driver, catalog.topic(Topics.SPANS));
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

  private TestRecord<String, LlmRequest> request(String id, String traceparent) {
    LlmRequest r =
        new LlmRequest(
            id,
            catalog.spec(TopicRole.CONTROLLER_LLM_REPLIES).name(),
            "controller.plan",
            "g1",
            null,
            null,
            List.of(ChatMessage.user("a secret prompt " + id)),
            List.of(),
            null,
            256,
            0.2,
            null,
            Map.of());
    RecordHeaders headers = new RecordHeaders();
    if (traceparent != null) {
      headers.add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
    }
    return new TestRecord<>("g1", r, headers, 0L);
  }

  private void tick() {
    driver.advanceWallClockTime(Duration.ofMillis(10));
  }

  @Test
  void shouldRecordAChatSpanUnderTheAskerAndSendTheReplyUnderIt() {
    start(FakeProvider.echo("openai"), Map.of());
    requests.pipeInput(request("r1", "00-" + TRACE + "-" + ASKER + "-01"));
    tick();
    TestRecord<String, LlmReply> reply = replies.readRecord();
    SpanRecord span = spans.readValuesToList().get(0);
    // Named by the model the provider was asked for (the route's default here), not the one that
    // answered.
    assertThat(span.name()).isEqualTo("chat gpt-4o-mini");
    assertThat(span.kind()).isEqualTo("CLIENT");
    assertThat(span.traceId()).isEqualTo(TRACE);
    assertThat(span.parentSpanId()).isEqualTo(ASKER);
    assertThat(span.service()).isEqualTo("llm-streams-gateway");
    assertThat(TraceHeaders.read(reply.headers()).getSpanId()).isEqualTo(span.spanId());
    assertThat(TraceHeaders.traceId(reply.headers())).isEqualTo(TRACE);
    assertThat(span.attributes())
        .containsEntry("gen_ai.operation.name", "chat")
        .containsEntry("gen_ai.provider.name", "openai")
        .containsEntry("gen_ai.request.model", "gpt-4o-mini")
        .containsEntry("gen_ai.response.model", "fake-model-1")
        .containsEntry("gen_ai.usage.input_tokens", 10L)
        .containsEntry("gen_ai.usage.output_tokens", 5L)
        .containsEntry("gen_ai.request.max_tokens", 256L)
        .containsEntry("gen_ai.response.finish_reasons", List.of("stop"))
        .containsEntry("gen_ai.conversation.id", "g1")
        .containsEntry("llmstreams.llm.request.id", "r1")
        .containsEntry("llmstreams.llm.cache_hit", false)
        .containsEntry("llmstreams.llm.attempts", 1L)
        .containsEntry("llmstreams.llm.retries", 0L)
        .doesNotContainKeys("gen_ai.input.messages", "gen_ai.output.messages");
    assertThat(span.status()).isEqualTo("UNSET");
  }

  @Test
  void shouldRecordACacheHitAsItsOwnSpanMarkedAsSuch() {
    start(FakeProvider.echo("openai"), Map.of());
    requests.pipeInput(request("r1", "00-" + TRACE + "-" + ASKER + "-01"));
    tick();
    requests.pipeInput(request("r1", "00-" + TRACE + "-" + ASKER + "-01"));
    tick();
    List<SpanRecord> recorded = spans.readValuesToList();
    assertThat(recorded).hasSize(2);
    assertThat(recorded).extracting(SpanRecord::spanId).doesNotHaveDuplicates();
    assertThat(recorded.get(1).attributes()).containsEntry("llmstreams.llm.cache_hit", true);
  }

  @Test
  void shouldCountTheRetriesOfACallThatSucceededAfterOne() {
    java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();
    FakeProvider flaky =
        new FakeProvider(
            "openai",
            call ->
                calls.incrementAndGet() == 1
                    ? CompletableFuture.failedFuture(
                        new ProviderException(
                            dev.llmstreams.events.LlmError.Code.RATE_LIMITED, "slow down", true))
                    : CompletableFuture.completedFuture(FakeProvider.answer(call.request())));
    start(flaky, Map.of());
    requests.pipeInput(request("r1", "00-" + TRACE + "-" + ASKER + "-01"));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              tick();
              return !replies.isEmpty();
            });
    assertThat(replies.readValue().attempts()).isEqualTo(2);
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.status()).isEqualTo("UNSET");
    assertThat(span.attributes())
        .containsEntry("llmstreams.llm.attempts", 2L)
        .containsEntry("llmstreams.llm.retries", 1L);
  }

  @Test
  void shouldNameTheProviderAndModelThatAnsweredAfterAFallback() {
    FakeProvider down =
        new FakeProvider(
            "openai",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(
                        dev.llmstreams.events.LlmError.Code.PROVIDER_ERROR, "down", false)));
    start(
        s -> s.name().equals("openai") ? down : FakeProvider.echo(s.name()),
        Map.of(AppConfig.LLM_ROUTE_DEFAULT, "openai,offline"));
    requests.pipeInput(request("r1", null));
    tick();
    assertThat(replies.readValue().provider()).isEqualTo("offline");
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.name()).isEqualTo("chat offline-engine");
    assertThat(span.attributes())
        .containsEntry("gen_ai.provider.name", "offline")
        .containsEntry("gen_ai.request.model", "offline-engine")
        .containsEntry("llmstreams.llm.fallback.from", "openai")
        .containsEntry("llmstreams.llm.fallback.code", "provider_error");
  }

  @Test
  void shouldMarkAFailedCallWithItsErrorTypeAndAttempts() {
    FakeProvider failing =
        new FakeProvider(
            "openai",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(
                        dev.llmstreams.events.LlmError.Code.UNAUTHORIZED, "bad key", false)));
    start(failing, Map.of());
    requests.pipeInput(request("r1", null));
    tick();
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat(span.parentSpanId()).as("a request without context starts a trace").isNull();
    assertThat(span.status()).isEqualTo("ERROR");
    assertThat(span.attributes())
        .containsEntry("error.type", "unauthorized")
        .containsEntry("llmstreams.llm.attempts", 1L);
  }

  @Test
  void shouldPutPromptsAndCompletionsOnSpansOnlyWhenAskedTo() {
    start(FakeProvider.echo("openai"), Map.of(AppConfig.TRACING_CAPTURE_CONTENT, "true"));
    requests.pipeInput(request("r1", "00-" + TRACE + "-" + ASKER + "-01"));
    tick();
    SpanRecord span = spans.readValuesToList().get(0);
    assertThat((String) span.attributes().get("gen_ai.input.messages"))
        .contains("a secret prompt r1");
    assertThat(span.attributes())
        .containsEntry("gen_ai.output.messages", "echo: a secret prompt r1");
  }
}
