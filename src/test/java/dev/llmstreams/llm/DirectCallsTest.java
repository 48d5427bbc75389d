package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.LlmCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Calls a controller's task makes through the app's gateway, without Kafka. */
class DirectCallsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FakeProvider provider = FakeProvider.held("openai");
  private LlmGateway gateway;
  private DirectCalls calls;

  private void start(int concurrency) {
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "openai",
                AppConfig.provider("openai", "concurrency"),
                Integer.toString(concurrency),
                AppConfig.provider("openai", "interactive.reserved"),
                "0"));
    gateway =
        new LlmGateway(
            config,
            Map.of("openai", provider),
            Map.of("openai", ProviderSettings.from(config, "openai", Map.of())),
            registry,
            Clock.systemUTC());
    calls = new DirectCalls(() -> gateway, Set.of(), "", registry);
  }

  @AfterEach
  void close() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void shouldAnswerEachCallOnceAndStartQueuedCallsAsSlotsFree() throws Exception {
    start(1);
    LlmCalls.Session session = calls.open(Tracing.off("test"));
    session.call("g1", plan("g1/1/llm"), null);
    session.call("g2", plan("g2/1/llm"), null);
    session.call("g1", plan("g1/1/llm"), null); // asked again: the same call
    assertThat(provider.calls).hasSize(1); // one slot: g2 waits
    assertThat(registry.get("llmstreams.llm.queued").tag("task", "direct").gauge().value())
        .isEqualTo(1.0);
    assertThat(session.poll(0)).isEmpty();
    complete(0);
    List<LlmCalls.Answer> first = pollUntil(session, 1);
    assertThat(first)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.key()).isEqualTo("g1");
              assertThat(a.reply().requestId()).isEqualTo("g1/1/llm");
              assertThat(a.reply().content()).isEqualTo("echo: text g1/1/llm");
              assertThat(a.span()).isEmpty(); // not traced
            });
    assertThat(provider.calls).hasSize(2); // the freed slot started g2
    assertThat(registry.get("llmstreams.llm.queued").tag("task", "direct").gauge().value())
        .isZero();
    assertThat(session.idle()).isFalse();
    complete(1);
    assertThat(pollUntil(session, 1)).extracting(LlmCalls.Answer::key).containsExactly("g2");
    assertThat(session.idle()).isTrue();
    assertThat(session.poll(0)).isEmpty();
    // Every started call was handed on: a graceful stop has nothing to wait for.
    assertThat(gateway.quiesce(Duration.ofMillis(100))).isTrue();
  }

  @Test
  void shouldWaitForRoomInTheQueueUntilACallFinishes() throws Exception {
    start(1);
    LlmCalls.Session session = calls.open(Tracing.off("test"));
    session.call("g1", plan("g1/1/llm"), null); // running
    session.call("g2", plan("g2/1/llm"), null); // queued
    session.call("g3", plan("g3/1/llm"), null); // queued
    assertThat(session.awaitRoom(2, Duration.ZERO)).isTrue();
    assertThat(session.awaitRoom(1, Duration.ofMillis(20))).isFalse();
    Thread finisher = new Thread(() -> complete(0)); // g1 ends; g2 starts from that thread
    finisher.start();
    assertThat(session.awaitRoom(1, Duration.ofSeconds(5))).isTrue();
    finisher.join();
    assertThat(provider.calls).hasSize(2);
  }

  @Test
  void shouldJoinACallStillRunningWhenTheTaskIsRevivedInsteadOfCallingAgain() throws Exception {
    start(4);
    LlmCalls.Session first = calls.open(Tracing.off("test"));
    first.call("g1", plan("g1/1/llm"), null);
    first.close(); // an aborted transaction: the task is revived, the call still runs
    LlmCalls.Session second = calls.open(Tracing.off("test"));
    second.call("g1", plan("g1/1/llm"), null);
    assertThat(provider.calls).hasSize(1);
    assertThat(registry.get("llmstreams.llm.direct.joined").counter().count()).isEqualTo(1.0);
    complete(0);
    assertThat(pollUntil(second, 1)).extracting(LlmCalls.Answer::key).containsExactly("g1");
    assertThat(first.poll(0)).isEmpty();
    assertThat(gateway.quiesce(Duration.ofMillis(100))).isTrue();
  }

  @Test
  void shouldJoinACallAnotherSessionStartedWhileThisOneWaitedForASlot() throws Exception {
    start(1);
    LlmCalls.Session first = calls.open(Tracing.off("test"));
    LlmCalls.Session second = calls.open(Tracing.off("test"));
    first.call("g0", plan("g0/1/llm"), null); // takes the one slot
    first.call("g1", plan("g1/1/llm"), null); // queued
    second.call("g1", plan("g1/1/llm"), null); // queued here too (a task moved, say)
    complete(0); // the slot frees: the first session starts g1
    assertThat(pollUntil(first, 1)).extracting(LlmCalls.Answer::key).containsExactly("g0");
    assertThat(provider.calls).hasSize(2);
    assertThat(second.poll(0)).isEmpty(); // found g1 running: joined, not started again
    assertThat(provider.calls).hasSize(2);
    complete(1);
    assertThat(pollUntil(second, 1)).extracting(LlmCalls.Answer::key).containsExactly("g1");
    assertThat(first.poll(0)).isEmpty();
    first.close();
    assertThat(gateway.quiesce(Duration.ofMillis(100))).isTrue();
  }

  @Test
  void shouldAnswerAgainFromMemoryACallWhoseHandlingWasRolledBack() throws Exception {
    start(4);
    LlmCalls.Session first = calls.open(Tracing.off("test"));
    first.call("g1", plan("g1/1/llm"), null);
    complete(0);
    assertThat(pollUntil(first, 1)).hasSize(1);
    first.close(); // the transaction that handled the reply aborted: the task asks again
    LlmCalls.Session second = calls.open(Tracing.off("test"));
    second.call("g1", plan("g1/1/llm"), null);
    assertThat(second.poll(0))
        .singleElement()
        .satisfies(a -> assertThat(a.reply().content()).isEqualTo("echo: text g1/1/llm"));
    assertThat(provider.calls).hasSize(1);
    assertThat(second.idle()).isTrue();
    assertThat(gateway.quiesce(Duration.ofMillis(100))).isTrue();
  }

  @Test
  void shouldHandOnACallThatFinishesWithNoSessionToTakeItAndCallAgainWhenAskedLater()
      throws Exception {
    start(4);
    LlmCalls.Session first = calls.open(Tracing.off("test"));
    first.call("g1", plan("g1/1/llm"), null);
    first.call("g2", plan("g2/1/llm"), null);
    complete(1); // g2's answer waits in the session, not polled
    first.close(); // the task moved: both are dropped here
    complete(0);
    // Neither reply reached a goal: a new owner asking again calls again.
    LlmCalls.Session second = calls.open(Tracing.off("test"));
    second.call("g1", plan("g1/1/llm"), null);
    assertThat(provider.calls).hasSize(3);
    complete(2);
    assertThat(pollUntil(second, 1)).extracting(LlmCalls.Answer::key).containsExactly("g1");
    assertThat(gateway.quiesce(Duration.ofSeconds(5))).isTrue(); // nothing left undelivered
  }

  @Test
  void shouldRecordTheCallsChatSpanAsTheCallersWork() throws Exception {
    start(4);
    Tracing tracing =
        Tracing.recording(
            "svc-controller", io.opentelemetry.sdk.trace.samplers.Sampler.alwaysOn(), false);
    var goal =
        tracing.start(
            io.opentelemetry.api.trace.SpanContext.getInvalid(),
            "invoke_agent",
            io.opentelemetry.api.trace.SpanKind.INTERNAL,
            Tracing.nanos(System.currentTimeMillis()));
    var span = tracing.child(goal, Tracing.nanos(System.currentTimeMillis()));
    LlmCalls.Session session = calls.open(tracing);
    session.call("g1", plan("g1/1/llm"), span);
    complete(0);
    assertThat(pollUntil(session, 1))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.span()).isPresent();
              var recorded = a.span().get();
              assertThat(recorded.name()).isEqualTo("chat gpt-4o-mini"); // the model asked for
              assertThat(recorded.kind()).isEqualTo("CLIENT");
              assertThat(recorded.traceId()).isEqualTo(goal.traceId());
              assertThat(recorded.parentSpanId()).isEqualTo(goal.spanId());
              assertThat(recorded.spanId()).isEqualTo(span.spanId());
              assertThat(recorded.attributes())
                  .containsEntry("llmstreams.llm.request.id", "g1/1/llm")
                  .containsEntry("gen_ai.provider.name", "openai")
                  .containsEntry("gen_ai.response.model", "fake-model-1");
              assertThat(recorded.service()).isEqualTo("svc-controller");
            });
  }

  @Test
  void shouldLeaveToTheTopicThePurposesTheGatewaysTaskServes() {
    start(1);
    assertThat(calls.topicOnly("controller.plan")).isEmpty();
    assertThat(
            new DirectCalls(() -> gateway, Set.of("controller"), "", registry)
                .topicOnly("controller.repair"))
        .get()
        .asString()
        .contains("shadow candidate", "llm.shadow.controller");
    assertThat(
            new DirectCalls(() -> gateway, Set.of("summarizer"), "", registry)
                .topicOnly("controller.plan"))
        .isEmpty();
    assertThat(
            new DirectCalls(() -> gateway, Set.of(), "replies.cache", registry)
                .topicOnly("controller.plan"))
        .get()
        .asString()
        .contains("llm.reply.cache.topic=replies.cache");
  }

  private void complete(int index) {
    FakeProvider.Call call = new ArrayList<>(provider.calls).get(index);
    call.answer().complete(FakeProvider.answer(call.request()));
  }

  /** Polls the session, as its task's punctuation does, until {@code n} answers came. */
  private static List<LlmCalls.Answer> pollUntil(LlmCalls.Session session, int n) {
    List<LlmCalls.Answer> out = new ArrayList<>();
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(1))
        .until(
            () -> {
              out.addAll(session.poll(System.currentTimeMillis()));
              return out.size() >= n;
            });
    return out;
  }

  private static LlmRequest plan(String id) {
    return new LlmRequest(
        id,
        "controller.llm-replies",
        "controller.plan",
        id.substring(0, id.indexOf('/')),
        null,
        null,
        List.of(ChatMessage.user("text " + id)),
        List.of(),
        null,
        null,
        null,
        Instant.now().plusSeconds(60),
        Map.of());
  }
}
