package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Fallback;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway's resilience, without Kafka: retries, Retry-After, deadlines, the circuit, rate
 * limits.
 */
class LlmGatewayTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private LlmGateway gateway;

  private LlmGateway gateway(FakeProvider provider, Map<String, String> overrides) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "openai",
                AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS,
                "1",
                AppConfig.LLM_RETRY_MAX_BACKOFF_MS,
                "5000"));
    settings.putAll(overrides);
    AppConfig config = AppConfig.of(settings);
    gateway =
        new LlmGateway(
            config,
            Map.of("openai", provider),
            Map.of("openai", ProviderSettings.from(config, "openai", Map.of())),
            registry,
            Clock.systemUTC());
    return gateway;
  }

  @AfterEach
  void close() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private static LlmRequest request(String id, Instant deadline) {
    return request(id, deadline, null);
  }

  /** A request of {@code tenant} (metadata.tenant; null: none). */
  private static LlmRequest request(String id, Instant deadline, String tenant) {
    return new LlmRequest(
        id,
        "summarizer.llm-replies",
        "summarizer.chunk",
        "k",
        null,
        null,
        List.of(ChatMessage.user("text " + id)),
        List.of(),
        null,
        null,
        null,
        deadline,
        tenant == null ? Map.of() : Map.of("tenant", tenant));
  }

  /** An interactive request: a goal's next step. */
  private static LlmRequest plan(String id) {
    return controller(id, "controller.plan", null);
  }

  /** A goal's turn for {@code purpose}, naming {@code model} or none. */
  private static LlmRequest controller(String id, String purpose, String model) {
    return new LlmRequest(
        id,
        "controller.llm-replies",
        purpose,
        "g",
        null,
        model,
        List.of(ChatMessage.user("goal")),
        List.of(),
        null,
        null,
        null,
        null,
        Map.of());
  }

  private static LlmReply await(CompletableFuture<LlmReply> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  @Test
  void shouldWaitAsLongAsRetryAfterSaysBeforeTryingAgain() throws Exception {
    AtomicInteger n = new AtomicInteger();
    FakeProvider provider =
        new FakeProvider(
            "openai",
            call ->
                n.getAndIncrement() == 0
                    ? CompletableFuture.failedFuture(
                        new ProviderException(
                            LlmError.Code.RATE_LIMITED,
                            "HTTP 429",
                            true,
                            Duration.ofMillis(300),
                            429,
                            null))
                    : CompletableFuture.completedFuture(FakeProvider.answer(call.request())));
    LlmReply reply =
        await(gateway(provider, Map.of()).trySubmit(request("r1", null)).orElseThrow());
    assertThat(reply.error()).isNull();
    List<FakeProvider.Call> calls = provider.callList();
    assertThat(calls).hasSize(2);
    assertThat(Duration.ofNanos(calls.get(1).atNanos() - calls.get(0).atNanos()))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(
            registry.get("llmstreams.llm.retries").tag("reason", "rate_limited").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void shouldGiveUpAtTheRequestsDeadline() throws Exception {
    FakeProvider provider = FakeProvider.held("openai");
    LlmReply reply =
        await(
            gateway(provider, Map.of())
                .trySubmit(request("r1", Instant.now().plusSeconds(1)))
                .orElseThrow());
    assertThat(reply.error().code()).isEqualTo(LlmError.Code.DEADLINE_EXCEEDED);
    assertThat(reply.content()).isNull();
    assertThat(provider.callList()).hasSize(1);
  }

  @Test
  void shouldOpenTheCircuitAfterRepeatedFailuresAndStopCallingTheProvider() throws Exception {
    FakeProvider provider =
        new FakeProvider(
            "openai",
            call ->
                CompletableFuture.failedFuture(
                    new ProviderException(LlmError.Code.PROVIDER_ERROR, "HTTP 500", true)));
    LlmGateway g =
        gateway(
            provider,
            Map.of(
                AppConfig.LLM_RETRY_MAX_ATTEMPTS,
                "1",
                AppConfig.LLM_CIRCUIT_MINIMUM_CALLS,
                "4",
                AppConfig.LLM_CIRCUIT_FAILURE_RATE,
                "50",
                AppConfig.LLM_CIRCUIT_OPEN_MS,
                "60000"));
    for (int i = 0; i < 4; i++) {
      assertThat(await(g.trySubmit(request("r" + i, null)).orElseThrow()).error().code())
          .isEqualTo(LlmError.Code.PROVIDER_ERROR);
    }
    LlmReply refused = await(g.trySubmit(request("r5", null)).orElseThrow());
    assertThat(refused.error().code()).isEqualTo(LlmError.Code.CIRCUIT_OPEN);
    assertThat(provider.callList()).hasSize(4);
    assertThat(registry.get("llmstreams.llm.circuit.state").gauge().value()).isEqualTo(1.0);
  }

  @Test
  void shouldDelayCallsBeyondTheConfiguredRequestRate() throws Exception {
    FakeProvider provider = FakeProvider.echo("openai");
    LlmGateway g =
        gateway(provider, Map.of(AppConfig.provider("openai", "requests.per.minute"), "60"));
    List<CompletableFuture<LlmReply>> replies =
        List.of(
            g.trySubmit(request("a", null)).orElseThrow(),
            g.trySubmit(request("b", null)).orElseThrow());
    for (CompletableFuture<LlmReply> r : replies) {
      assertThat(await(r).error()).isNull();
    }
    List<FakeProvider.Call> calls = provider.callList();
    assertThat(Duration.ofNanos(Math.abs(calls.get(1).atNanos() - calls.get(0).atNanos())))
        .isGreaterThanOrEqualTo(Duration.ofMillis(500));
    assertThat(registry.get("llmstreams.llm.rate.limit.waits").counter().count())
        .isGreaterThanOrEqualTo(1.0);
  }

  @Test
  void shouldMakeOnlyATenantOverItsRateWaitAndTagMetersByTenant() throws Exception {
    FakeProvider provider = FakeProvider.echo("openai");
    LlmGateway g =
        gateway(
            provider,
            Map.of(
                "llm.tenant.a.requests.per.minute", "60",
                "llm.tenant.b.requests.per.minute", "6000"));
    List<CompletableFuture<LlmReply>> replies = new java.util.ArrayList<>();
    for (String tenant : List.of("a", "b", "stranger")) {
      for (int i = 0; i < 3; i++) {
        replies.add(g.trySubmit(request(tenant + i, null, tenant)).orElseThrow());
      }
    }
    for (CompletableFuture<LlmReply> r : replies) {
      assertThat(await(r).error()).isNull();
    }
    assertThat(provider.callList()).hasSize(9);
    assertThat(
            registry
                .get("llmstreams.llm.tenant.rate.limit.waits")
                .tag("tenant", "a")
                .counter()
                .count())
        .as("a's three calls at 1 a second: the later ones wait")
        .isGreaterThanOrEqualTo(1.0);
    assertThat(
            registry
                .get("llmstreams.llm.tenant.rate.limit.waits")
                .tag("tenant", "b")
                .counter()
                .count())
        .isZero();
    assertThat(registry.get("llmstreams.llm.rate.limit.waits").counter().count())
        .as("no provider limit")
        .isZero();
    for (String tag : List.of("a", "b", "other")) {
      assertThat(registry.get("llmstreams.llm.requests").tag("tenant", tag).counter().count())
          .as(tag)
          .isEqualTo(3.0);
    }
  }

  @Test
  void shouldRefuseToStartMoreThanTheConcurrencyLimit() {
    FakeProvider provider = FakeProvider.held("openai");
    LlmGateway g =
        gateway(
            provider,
            Map.of(
                AppConfig.provider("openai", "concurrency"),
                "2",
                AppConfig.provider("openai", "interactive.reserved"),
                "0"));
    assertThat(g.trySubmit(request("a", null))).isPresent();
    assertThat(g.trySubmit(request("b", null))).isPresent();
    assertThat(g.trySubmit(request("c", null))).isEmpty();
    assertThat(g.inFlight("openai")).isEqualTo(2);
    provider
        .callList()
        .get(0)
        .answer()
        .complete(FakeProvider.answer(provider.callList().get(0).request()));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> g.inFlight("openai") == 1);
    assertThat(g.trySubmit(request("c", null))).isPresent();
  }

  @Test
  void shouldKeepSlotsForInteractiveCallsThatBulkSummariesCannotTake() {
    FakeProvider provider = FakeProvider.held("openai");
    LlmGateway g =
        gateway(
            provider,
            Map.of(
                AppConfig.provider("openai", "concurrency"),
                "4",
                AppConfig.provider("openai", "interactive.reserved"),
                "1"));
    assertThat(g.trySubmit(request("s1", null))).isPresent();
    assertThat(g.trySubmit(request("s2", null))).isPresent();
    assertThat(g.trySubmit(request("s3", null))).isPresent();
    assertThat(g.trySubmit(request("s4", null)))
        .as("the last slot is kept for interactive calls")
        .isEmpty();
    LlmRequest plan = plan("g/1/llm");
    assertThat(g.trySubmit(plan)).isPresent();
    assertThat(g.inFlight("openai")).isEqualTo(4);
    LlmRequest plan2 = plan("g/2/llm");
    assertThat(g.trySubmit(plan2)).as("the concurrency still holds").isEmpty();
  }

  @Test
  void shouldReserveAnEighthOfTheConcurrencyByDefault() {
    assertThat(ProviderSettings.reserved(64, -1)).isEqualTo(8);
    assertThat(ProviderSettings.reserved(2, -1)).isEqualTo(1);
    assertThat(ProviderSettings.reserved(1, -1)).isZero();
    assertThat(ProviderSettings.reserved(4, 10)).isEqualTo(3);
  }

  // ---- fallback routes

  private LlmGateway twoProviders(FakeProvider openai, FakeProvider anthropic, String route) {
    return twoProviders(openai, anthropic, route, Map.of());
  }

  private LlmGateway twoProviders(
      FakeProvider openai, FakeProvider anthropic, String route, Map<String, String> overrides) {
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.LLM_ROUTE_DEFAULT,
                "offline",
                AppConfig.route("summarizer"),
                route,
                AppConfig.LLM_RETRY_MAX_ATTEMPTS,
                "2",
                AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS,
                "1",
                AppConfig.LLM_RETRY_MAX_BACKOFF_MS,
                "5"));
    settings.putAll(overrides);
    AppConfig config = AppConfig.of(settings);
    gateway =
        new LlmGateway(
            config,
            Map.of(
                "openai", openai, "anthropic", anthropic, "offline", FakeProvider.echo("offline")),
            Map.of(
                "openai", ProviderSettings.from(config, "openai", Map.of()),
                "anthropic", ProviderSettings.from(config, "anthropic", Map.of()),
                "offline", ProviderSettings.from(config, "offline", Map.of())),
            registry,
            Clock.systemUTC());
    return gateway;
  }

  private static FakeProvider failing(String name, LlmError.Code code, boolean retryable) {
    return new FakeProvider(
        name,
        call ->
            CompletableFuture.failedFuture(
                new ProviderException(code, name + " is down", retryable)));
  }

  @Test
  void shouldSendARequestOnToTheNextProviderOfItsRouteWhenTheFirstFailsAndSayWhy()
      throws Exception {
    FakeProvider openai = failing("openai", LlmError.Code.PROVIDER_ERROR, true);
    FakeProvider anthropic = FakeProvider.echo("anthropic");
    LlmReply reply =
        await(
            twoProviders(openai, anthropic, "openai,anthropic")
                .trySubmit(request("r1", null))
                .orElseThrow());
    assertThat(reply.error()).isNull();
    assertThat(reply.provider()).isEqualTo("anthropic");
    assertThat(reply.content()).isEqualTo("echo: text r1");
    assertThat(reply.fallback())
        .isEqualTo(new Fallback("openai", LlmError.Code.PROVIDER_ERROR, "openai is down"));
    assertThat(openai.callList()).as("the first provider's retries, then the next").hasSize(2);
    assertThat(anthropic.callList()).hasSize(1);
    assertThat(
            registry
                .get("llmstreams.llm.fallbacks")
                .tags("purpose", "summarizer", "from", "openai", "to", "anthropic")
                .tag("code", "provider_error")
                .counter()
                .count())
        .isEqualTo(1.0);
    assertThat(gateway.providerFor(request("r2", null))).isEqualTo("openai");
    assertThat(gateway.routeFor(request("r2", null))).containsExactly("openai", "anthropic");
  }

  @Test
  void shouldKeepTheFailureOfTheLastProviderAndOfARequestNoProviderCanAnswer() throws Exception {
    FakeProvider anthropic = failing("anthropic", LlmError.Code.TIMEOUT, false);
    LlmReply last =
        await(
            twoProviders(
                    failing("openai", LlmError.Code.CIRCUIT_OPEN, false),
                    anthropic,
                    "openai,anthropic")
                .trySubmit(request("r1", null))
                .orElseThrow());
    assertThat(last.error().code()).isEqualTo(LlmError.Code.TIMEOUT);
    assertThat(last.provider()).isEqualTo("anthropic");
    assertThat(last.fallback().from()).isEqualTo("openai");
    gateway.close();

    // An invalid request is invalid everywhere: no fallback.
    FakeProvider second = FakeProvider.echo("anthropic");
    LlmReply invalid =
        await(
            twoProviders(
                    failing("openai", LlmError.Code.INVALID_REQUEST, false),
                    second,
                    "openai,anthropic")
                .trySubmit(request("r2", null))
                .orElseThrow());
    assertThat(invalid.error().code()).isEqualTo(LlmError.Code.INVALID_REQUEST);
    assertThat(invalid.fallback()).isNull();
    assertThat(second.callList()).isEmpty();
  }

  /**
   * Summaries fall back from openai, which is down, to anthropic with {@code concurrency} slots,
   * {@code reserved} of them for interactive calls; goals' steps go to anthropic.
   */
  private LlmGateway openaiDown(FakeProvider anthropic, int concurrency, int reserved) {
    return twoProviders(
        failing("openai", LlmError.Code.PROVIDER_ERROR, false),
        anthropic,
        "openai,anthropic",
        Map.of(
            AppConfig.route("controller"),
            "anthropic",
            AppConfig.provider("anthropic", "concurrency"),
            Integer.toString(concurrency),
            AppConfig.provider("anthropic", "interactive.reserved"),
            Integer.toString(reserved)));
  }

  /** The {@code n}-th call {@code provider} got, once it got it. */
  private static FakeProvider.Call callNumber(FakeProvider provider, int n) {
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> provider.callList().size() >= n);
    return provider.callList().get(n - 1);
  }

  @Test
  void shouldGiveAFallbackASlotOfTheNextProviderAsABulkCallWouldGetOneThere() throws Exception {
    FakeProvider anthropic = FakeProvider.held("anthropic");
    LlmGateway g = openaiDown(anthropic, 2, 1);
    CompletableFuture<LlmReply> first = g.trySubmit(request("s1", null)).orElseThrow();
    CompletableFuture<LlmReply> second = g.trySubmit(request("s2", null)).orElseThrow();
    assertThat(callNumber(anthropic, 1).request().requestId())
        .as("the first summary took anthropic's one bulk slot")
        .isEqualTo("s1");
    LlmRequest plan = plan("g/1/llm");
    assertThat(g.trySubmit(plan))
        .as(
            "the second summary waits for the bulk slot; the one kept for interactive calls is free")
        .isPresent();
    assertThat(anthropic.callList()).hasSize(2);
    assertThat(second).isNotDone();

    FakeProvider.Call s1 = anthropic.callList().get(0);
    s1.answer().complete(FakeProvider.answer(s1.request()));
    assertThat(await(first).provider()).isEqualTo("anthropic");
    FakeProvider.Call s2 = callNumber(anthropic, 3);
    assertThat(s2.request().requestId())
        .as("the bulk slot s1 freed went to the waiting fallback")
        .isEqualTo("s2");
    s2.answer().complete(FakeProvider.answer(s2.request()));
    LlmReply reply = await(second);
    assertThat(reply.error()).isNull();
    assertThat(reply.fallback().from()).isEqualTo("openai");
  }

  @Test
  void shouldKeepTheFailureWhenNoSlotOfTheNextProviderFreesBeforeTheDeadline() throws Exception {
    FakeProvider anthropic = FakeProvider.held("anthropic");
    LlmGateway g = openaiDown(anthropic, 1, 0);
    g.trySubmit(request("s1", null)).orElseThrow();
    callNumber(anthropic, 1);
    LlmReply late = await(g.trySubmit(request("s2", Instant.now().plusSeconds(1))).orElseThrow());
    assertThat(late.error().code()).isEqualTo(LlmError.Code.PROVIDER_ERROR);
    assertThat(late.provider()).isEqualTo("openai");
    assertThat(anthropic.callList()).as("s2 never got anthropic's slot").hasSize(1);
    FakeProvider.Call s1 = anthropic.callList().get(0);
    s1.answer().complete(FakeProvider.answer(s1.request()));
    g.trySubmit(request("s3", null)).orElseThrow();
    assertThat(callNumber(anthropic, 2).request().requestId())
        .as("anthropic's one slot is free again: the waiter that gave up holds none")
        .isEqualTo("s3");
  }

  @Test
  void shouldAskForARouteStepsModelUnlessTheRequestNamesItsOwnAndRouteARepairByItsOwnRoute()
      throws Exception {
    FakeProvider openai = FakeProvider.echo("openai");
    LlmGateway g =
        twoProviders(
            openai,
            failing("anthropic", LlmError.Code.PROVIDER_ERROR, false),
            "offline",
            Map.of(
                AppConfig.route("controller"),
                "openai:cheap-1",
                AppConfig.route(AppConfig.CONTROLLER_REPAIR),
                "anthropic,openai:strong-1"));
    await(g.trySubmit(plan("p1")).orElseThrow());
    LlmReply repaired =
        await(g.trySubmit(controller("r1", "controller.repair", null)).orElseThrow());
    await(g.trySubmit(controller("r2", "controller.repair", "own-1")).orElseThrow());
    assertThat(openai.callList())
        .extracting(c -> c.request().requestId() + "@" + c.model())
        .containsExactly("p1@cheap-1", "r1@strong-1", "r2@own-1");
    assertThat(repaired.provider()).isEqualTo("openai");
    assertThat(repaired.fallback().from()).isEqualTo("anthropic");
    assertThat(g.modelFor(plan("p2"))).isEqualTo("cheap-1");
    assertThat(g.modelFor(controller("r3", "controller.repair", null), "openai"))
        .isEqualTo("strong-1");
    assertThat(g.routeFor(controller("r3", "controller.repair", null)))
        .containsExactly("anthropic", "openai");
    assertThat(
            registry
                .get("llmstreams.llm.fallbacks")
                .tags("purpose", "controller.repair", "from", "anthropic", "to", "openai")
                .counters())
        .isNotEmpty();
  }

  @Test
  void shouldRefuseARouteNamingAnUnknownProviderOrOneTwice() {
    assertThat(
            org.assertj.core.api.Assertions.catchThrowable(
                () -> AppConfig.of(Map.of(AppConfig.route("controller"), "openai,mistral"))))
        .hasMessageContaining("unknown provider 'mistral'");
    assertThat(
            org.assertj.core.api.Assertions.catchThrowable(
                () -> AppConfig.of(Map.of(AppConfig.LLM_ROUTE_DEFAULT, "openai, openai"))))
        .hasMessageContaining("a provider may appear once");
    assertThat(
            AppConfig.of(Map.of(AppConfig.LLM_ROUTE_DEFAULT, " openai , offline "))
                .routeOf("specialist"))
        .containsExactly("openai", "offline");
  }
}
