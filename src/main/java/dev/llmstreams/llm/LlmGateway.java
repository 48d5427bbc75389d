package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.config.AppConfig.RouteStep;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.Fallback;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Usage;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Every LLM call of every pattern goes through here: routing by purpose, a concurrency limit per
 * provider (independent of partitions), rate limits in requests and tokens per minute, retries with
 * exponential backoff and jitter that honour Retry-After, a circuit breaker per provider, the
 * request's deadline, and metering. A call never fails: every outcome becomes an {@link LlmReply},
 * with a structured {@link LlmError} when it gave up.
 *
 * <p>A purpose may also have a shadow candidate ({@link ShadowRoute}): its calls run in lanes of
 * their own (client, slots, retries, circuit, meters under {@code llmstreams.llm.shadow.}), so they
 * never take a primary's slot, never count in a primary's circuit and are never retried into one.
 */
public final class LlmGateway implements AutoCloseable {
  private final Map<String, Lane> lanes = new LinkedHashMap<>();

  /** The steps of each route ({@link AppConfig#ROUTES}), by its name. */
  private final Map<String, List<RouteStep>> routes = new LinkedHashMap<>();

  private final Map<String, ShadowRoute> shadows;

  /** The shadow candidates' lanes, by scope ({@link ShadowRoute#scope()}). */
  private final Map<String, Lane> shadowLanes = new LinkedHashMap<>();

  private final List<RouteStep> defaultRoute;
  private final ScheduledExecutorService scheduler;
  private final MeterRegistry registry;
  private final Clock clock;
  private final Duration maxCall;
  private final RetryConfig.Builder<Object> retryTemplate;
  private final LongSupplier nanoTime;
  private final AtomicLong undelivered = new AtomicLong();
  private final AtomicLong undeliveredShadows = new AtomicLong();
  private final TenantRateLimits tenantRates;
  private volatile boolean quiescing;

  /** One provider with its own limits, circuit and meters; or one shadow candidate. */
  private final class Lane {
    final LlmProvider provider;
    final ProviderSettings settings;

    /** The shadow route's scope; null for a primary provider. */
    final String shadowScope;

    final Semaphore slots;

    /**
     * Bulk calls (summaries) take one of these as well: they never hold the slots kept for
     * interactive calls.
     */
    final Semaphore bulkSlots;

    /**
     * Requests waiting for a slot of this lane after another provider of their route failed, served
     * in order whenever a call of the lane ends ({@link #serveWaiters}).
     */
    final java.util.concurrent.ConcurrentLinkedQueue<SlotWaiter> waiters =
        new java.util.concurrent.ConcurrentLinkedQueue<>();

    final AtomicInteger inFlight = new AtomicInteger();
    final CircuitBreaker circuit;
    final RateLimiter requestRate;
    final RateLimiter tokenRate;
    final Retry retry;

    /**
     * Registered with the lane, so the series is there at 0 before the first wait (and for lanes
     * with no limit); null for a shadow candidate, which has no rate limit of its own.
     */
    final Counter rateLimitWaits;

    Lane(
        LlmProvider provider,
        ProviderSettings settings,
        CircuitBreakerConfig circuitConfig,
        String shadowScope) {
      this.provider = provider;
      this.settings = settings;
      this.shadowScope = shadowScope;
      String name = shadowScope == null ? settings.name() : "shadow-" + shadowScope;
      String meters = shadowScope == null ? "llmstreams.llm." : "llmstreams.llm.shadow.";
      Tags tags =
          shadowScope == null
              ? Tags.of("provider", settings.name())
              : Tags.of("provider", settings.name(), "route", shadowScope);
      String what = shadowScope == null ? "Provider calls" : "Shadow candidate calls";
      this.slots = new Semaphore(settings.concurrency());
      this.bulkSlots = new Semaphore(settings.concurrency() - settings.interactiveReserved());
      this.circuit = CircuitBreaker.of(name, circuitConfig);
      this.requestRate = perMinute(name + "-requests", settings.requestsPerMinute());
      this.tokenRate = perMinute(name + "-tokens", settings.tokensPerMinute());
      this.retry = Retry.of(name, retryTemplate.build());
      this.retry
          .getEventPublisher()
          .onRetry(
              e ->
                  Counter.builder(meters + "retries")
                      .description(what + " retried, by provider and reason")
                      .tags(tags)
                      .tag(
                          "reason",
                          e.getLastThrowable() instanceof ProviderException pe
                              ? pe.code().name().toLowerCase()
                              : "other")
                      .register(registry)
                      .increment());
      Gauge.builder(meters + "inflight", inFlight, AtomicInteger::get)
          .description(what + " in flight")
          .tags(tags)
          .register(registry);
      Gauge.builder(
              meters + "circuit.state",
              circuit,
              c ->
                  switch (c.getState()) {
                    case CLOSED -> 0;
                    case OPEN, FORCED_OPEN -> 1;
                    case HALF_OPEN -> 2;
                    default -> 3;
                  })
          .description(
              (shadowScope == null ? "Circuit of a provider" : "Circuit of a shadow candidate")
                  + ": 0 closed, 1 open, 2 half-open, 3 disabled")
          .tags(tags)
          .register(registry);
      if (shadowScope != null) {
        rateLimitWaits = null;
        return;
      }
      rateLimitWaits =
          Counter.builder("llmstreams.llm.rate.limit.waits")
              .description(
                  "Calls delayed by a configured rate limit (llm.<provider>.requests.per.minute or"
                      + " tokens.per.minute)")
              .tag("provider", settings.name())
              .register(registry);
    }

    /**
     * The model a request is sent to in this lane: its own, else its route step's ({@code
     * openai:gpt-4o}; null when the step names none), else the provider's; a shadow candidate is
     * always asked for its own, since the models a request and its route name are the primary's.
     */
    String modelFor(LlmRequest request, String stepModel) {
      if (shadowScope != null) {
        return settings.connection().defaultModel();
      }
      if (request.model() != null) {
        return request.model();
      }
      return stepModel != null ? stepModel : settings.connection().defaultModel();
    }
  }

  /**
   * A request waiting for a slot of a lane: {@code taken} completes true with it, false at the
   * deadline.
   */
  private record SlotWaiter(LlmRequest request, CompletableFuture<Boolean> taken) {}

  public LlmGateway(
      AppConfig config,
      Map<String, LlmProvider> providers,
      Map<String, ProviderSettings> settings,
      MeterRegistry registry,
      Clock clock) {
    this(config, providers, settings, Map.of(), Map.of(), registry, clock, System::nanoTime);
  }

  /**
   * A gateway with shadow candidates: their routes by purpose, and a client per scope ({@link
   * ShadowRoute#scope()}) that no primary uses. Latencies are measured with {@code nanoTime}.
   */
  public LlmGateway(
      AppConfig config,
      Map<String, LlmProvider> providers,
      Map<String, ProviderSettings> settings,
      Map<String, ShadowRoute> shadows,
      Map<String, LlmProvider> shadowProviders,
      MeterRegistry registry,
      Clock clock,
      LongSupplier nanoTime) {
    this.registry = registry;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.shadows = Map.copyOf(shadows);
    this.maxCall = Duration.ofMillis(config.getLong(AppConfig.LLM_MAX_CALL_MS));
    this.tenantRates = new TenantRateLimits(config, registry);
    this.defaultRoute = AppConfig.parseRoute(config.getString(AppConfig.LLM_ROUTE_DEFAULT));
    for (String route : AppConfig.ROUTES) {
      routes.put(route, config.routeStepsOf(route));
    }
    java.util.concurrent.ScheduledThreadPoolExecutor timer =
        new java.util.concurrent.ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "llmstreams-gateway-timer");
              t.setDaemon(true);
              return t;
            });
    // A fallback's deadline timer is cancelled when it gets its slot: gone at once, not kept
    // until the deadline (minutes, for a goal's step).
    timer.setRemoveOnCancelPolicy(true);
    this.scheduler = timer;
    IntervalFunction backoff =
        IntervalFunction.ofExponentialRandomBackoff(
            config.getLong(AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS),
            2.0,
            0.5,
            config.getLong(AppConfig.LLM_RETRY_MAX_BACKOFF_MS));
    long maxBackoff = config.getLong(AppConfig.LLM_RETRY_MAX_BACKOFF_MS);
    this.retryTemplate =
        RetryConfig.custom()
            .maxAttempts(config.getInt(AppConfig.LLM_RETRY_MAX_ATTEMPTS))
            .retryOnException(e -> unwrap(e) instanceof ProviderException pe && pe.retryable())
            .intervalBiFunction(
                (attempt, outcome) -> {
                  if (outcome.isLeft()
                      && unwrap(outcome.getLeft()) instanceof ProviderException pe
                      && pe.retryAfter().isPresent()) {
                    return Math.min(pe.retryAfter().get().toMillis(), maxBackoff);
                  }
                  return backoff.apply(attempt);
                });
    CircuitBreakerConfig circuitConfig =
        CircuitBreakerConfig.custom()
            .failureRateThreshold(config.getInt(AppConfig.LLM_CIRCUIT_FAILURE_RATE))
            .minimumNumberOfCalls(config.getInt(AppConfig.LLM_CIRCUIT_MINIMUM_CALLS))
            .slidingWindowSize(Math.max(config.getInt(AppConfig.LLM_CIRCUIT_MINIMUM_CALLS), 50))
            .waitDurationInOpenState(
                Duration.ofMillis(config.getLong(AppConfig.LLM_CIRCUIT_OPEN_MS)))
            .permittedNumberOfCallsInHalfOpenState(3)
            .automaticTransitionFromOpenToHalfOpenEnabled(true)
            .recordException(e -> unwrap(e) instanceof ProviderException pe && pe.retryable())
            .build();
    for (Map.Entry<String, LlmProvider> p : providers.entrySet()) {
      lanes.put(p.getKey(), new Lane(p.getValue(), settings.get(p.getKey()), circuitConfig, null));
    }
    for (ShadowRoute shadow : shadows.values()) {
      LlmProvider client = shadowProviders.get(shadow.scope());
      if (client == null) {
        throw new IllegalArgumentException(
            "no client for the shadow candidate of " + shadow.scope() + " (" + shadow + ")");
      }
      shadowLanes.computeIfAbsent(
          shadow.scope(), scope -> new Lane(client, shadow.candidate(), circuitConfig, scope));
    }
    for (List<RouteStep> route : routes.values()) {
      for (RouteStep step : route) {
        if (!lanes.containsKey(step.provider())) {
          throw new IllegalArgumentException(
              "no provider '" + step.provider() + "' is configured; have " + lanes.keySet());
        }
      }
    }
  }

  static RateLimiter perMinute(String name, int perMinute) {
    if (perMinute <= 0) {
      return null;
    }
    // Refilled every second rather than once a minute, so a burst cannot spend the whole minute at
    // once.
    int perSecond = Math.max(1, (int) Math.ceil(perMinute / 60.0));
    return RateLimiter.of(
        name,
        RateLimiterConfig.custom()
            .limitForPeriod(perSecond)
            .limitRefreshPeriod(Duration.ofSeconds(1))
            .timeoutDuration(Duration.ofHours(1))
            .build());
  }

  /**
   * The provider a request goes to: the first of its route, by its purpose ({@link
   * AppConfig#routeName}: {@code summarizer.chunk} → summarizer, {@code controller.repair} → its
   * own).
   */
  public String providerFor(LlmRequest request) {
    return routeFor(request).get(0);
  }

  /** The providers a request may go to, in order: the first, then its fallbacks. */
  public List<String> routeFor(LlmRequest request) {
    return stepsFor(request).stream().map(RouteStep::provider).toList();
  }

  private List<RouteStep> stepsFor(LlmRequest request) {
    return routes.getOrDefault(routedPurpose(request), defaultRoute);
  }

  private static String routedPurpose(LlmRequest request) {
    return AppConfig.routeName(request.purpose());
  }

  /**
   * The shadow candidate of a request's purpose, if it has one that samples: by the purpose's first
   * segment (a repair turn is the controller's).
   */
  public Optional<ShadowRoute> shadowFor(LlmRequest request) {
    return Optional.ofNullable(shadows.get(shadowScope(request)));
  }

  private static String shadowScope(LlmRequest request) {
    return shadowScope(request.purpose());
  }

  /** The shadow scope of a purpose: its first segment (a repair turn is the controller's). */
  static String shadowScope(String purpose) {
    int dot = purpose.indexOf('.');
    return dot < 0 ? purpose : purpose.substring(0, dot);
  }

  /** Whether a copy of this request goes to its purpose's shadow candidate (by its requestId). */
  public boolean sampledForShadow(LlmRequest request) {
    return shadowFor(request).filter(s -> s.samples(request.requestId())).isPresent();
  }

  /**
   * Starts the call if its provider has a free slot; empty when it has none (or the gateway is
   * stopping), so the caller can queue it without blocking. The future always completes normally.
   */
  public Optional<CompletableFuture<LlmReply>> trySubmit(LlmRequest request) {
    return trySubmit(request, null);
  }

  /**
   * As {@link #trySubmit(LlmRequest)}, for the call of {@code span}: its latency is recorded with
   * the span's trace id as an exemplar.
   */
  public Optional<CompletableFuture<LlmReply>> trySubmit(
      LlmRequest request, dev.llmstreams.observability.tracing.SpanRef span) {
    if (quiescing) {
      return Optional.empty();
    }
    Lane lane = lanes.get(providerFor(request));
    if (!tryTakeSlot(lane, request)) {
      return Optional.empty();
    }
    undelivered.incrementAndGet();
    return Optional.of(startRoute(stepsFor(request), 0, lane, request, span));
  }

  /**
   * Starts the call of the request's shadow candidate if it has a free slot of its own; empty when
   * it has none (or the gateway is stopping, or the purpose has no shadow). The primary's slots,
   * circuit and retries are never involved. The future always completes normally; the caller hands
   * the reply on with {@link #shadowDelivered}.
   */
  public Optional<CompletableFuture<LlmReply>> trySubmitShadow(LlmRequest request) {
    ShadowRoute shadow = shadows.get(shadowScope(request));
    if (quiescing || shadow == null) {
      return Optional.empty();
    }
    Lane lane = shadowLanes.get(shadow.scope());
    if (!tryTakeSlot(lane, request)) {
      return Optional.empty();
    }
    undeliveredShadows.incrementAndGet();
    return Optional.of(start(lane, null, request, null));
  }

  /**
   * Calls the {@code index}-th provider of the request's route (its lane's slot is taken); when it
   * fails in a way another provider may not ({@link #fallsBack}), the request waits for a slot of
   * the route's next provider and goes there, and its reply says why ({@link Fallback}); when no
   * slot frees before the request's deadline, the failure stands. The failed call is metered as the
   * failure it was.
   */
  private CompletableFuture<LlmReply> startRoute(
      List<RouteStep> route,
      int index,
      Lane lane,
      LlmRequest request,
      dev.llmstreams.observability.tracing.SpanRef span) {
    return start(lane, route.get(index).model(), request, span)
        .thenCompose(
            reply -> {
              if (reply.error() == null
                  || index + 1 >= route.size()
                  || !fallsBack(reply.error().code())) {
                return CompletableFuture.completedFuture(reply);
              }
              Lane next = lanes.get(route.get(index + 1).provider());
              return takeSlot(next, request, deadlineOf(request))
                  .thenCompose(
                      got ->
                          got
                              ? fallBack(route, index, lane, next, reply, request, span)
                              // no slot before the request's deadline: the failure stands
                              : CompletableFuture.completedFuture(reply));
            });
  }

  /**
   * The one way a call gets a slot of a lane, for its first provider and for a fallback alike: a
   * bulk request ({@link #isBulk}) takes a bulk slot as well, so it never holds the slots kept for
   * interactive calls. A shadow candidate's lane has no such split. False when no slot is free.
   */
  private static boolean tryTakeSlot(Lane lane, LlmRequest request) {
    boolean bulk = holdsBulkSlot(lane, request);
    if (bulk && !lane.bulkSlots.tryAcquire()) {
      return false;
    }
    if (!lane.slots.tryAcquire()) {
      if (bulk) {
        lane.bulkSlots.release();
      }
      return false;
    }
    return true;
  }

  private static boolean holdsBulkSlot(Lane lane, LlmRequest request) {
    return lane.shadowScope == null && isBulk(request);
  }

  /** Frees what {@link #tryTakeSlot} took; the caller hands it on ({@link #serveWaiters}). */
  private static void freeSlot(Lane lane, LlmRequest request) {
    lane.slots.release();
    if (holdsBulkSlot(lane, request)) {
      lane.bulkSlots.release();
    }
  }

  /**
   * A slot of {@code lane} for a fallback, taken by {@link #tryTakeSlot} at once or, failing that,
   * as soon as a call of the lane ends and frees one; false once {@code deadline} passes. A first
   * attempt does not wait here: it is queued by its caller ({@link GatewayTopology}), which tries
   * again when a call ends. A fallback, already started, cannot go back to that queue, so it waits
   * on the same event here, without polling; being older than what is queued, it goes first.
   */
  private CompletableFuture<Boolean> takeSlot(Lane lane, LlmRequest request, Instant deadline) {
    SlotWaiter waiter = new SlotWaiter(request, new CompletableFuture<>());
    lane.waiters.add(waiter);
    serveWaiters(lane);
    if (!waiter.taken().isDone()) {
      java.util.concurrent.ScheduledFuture<?> giveUp =
          scheduler.schedule(
              () -> {
                if (waiter.taken().complete(false)) {
                  lane.waiters.remove(waiter);
                }
              },
              Math.max(0, Duration.between(clock.instant(), deadline).toMillis()),
              TimeUnit.MILLISECONDS);
      waiter.taken().whenComplete((got, e) -> giveUp.cancel(false));
    }
    return waiter.taken();
  }

  /**
   * Gives the lane's free slots to its waiting fallbacks, in order (a bulk one may wait while an
   * interactive one behind it goes). A slot taken for a waiter that gave up at its deadline
   * meanwhile is freed and offered again.
   */
  private static void serveWaiters(Lane lane) {
    boolean again = true;
    while (again) {
      again = false;
      for (SlotWaiter waiter : lane.waiters) {
        if (waiter.taken().isDone()) {
          lane.waiters.remove(waiter);
        } else if (tryTakeSlot(lane, waiter.request())) {
          lane.waiters.remove(waiter);
          if (!waiter.taken().complete(true)) {
            freeSlot(lane, waiter.request());
            again = true;
            break;
          }
        }
      }
    }
  }

  /** Sends the request on to {@code next} (its slot taken) after {@code failed}'s failure. */
  private CompletableFuture<LlmReply> fallBack(
      List<RouteStep> route,
      int index,
      Lane lane,
      Lane next,
      LlmReply failed,
      LlmRequest request,
      dev.llmstreams.observability.tracing.SpanRef span) {
    Counter.builder("llmstreams.llm.fallbacks")
        .description(
            "Requests sent on to the next provider of their route after a failure, by"
                + " purpose, the provider that failed, the next one, and how it failed")
        .tag("purpose", routedPurpose(request))
        .tag("from", lane.settings.name())
        .tag("to", next.settings.name())
        .tag("code", failed.error().code().name().toLowerCase(java.util.Locale.ROOT))
        .register(registry)
        .increment();
    Fallback why =
        new Fallback(lane.settings.name(), failed.error().code(), failed.error().message());
    return startRoute(route, index + 1, next, request, span)
        .thenApply(r -> r.fallback() == null ? r.withFallback(why) : r);
  }

  /**
   * Failures of the provider, not of the request, which the next provider of the route may not
   * have: an open circuit, retries spent on timeouts, rate limits or server errors, an answer it
   * could not give, a refused key. A request the provider found invalid, too long or past its
   * deadline fails the same anywhere.
   */
  static boolean fallsBack(LlmError.Code code) {
    return switch (code) {
      case CIRCUIT_OPEN,
          TIMEOUT,
          RATE_LIMITED,
          PROVIDER_ERROR,
          INVALID_RESPONSE,
          UNAUTHORIZED,
          REFUSED ->
          true;
      case INVALID_REQUEST, CONTEXT_LENGTH_EXCEEDED, DEADLINE_EXCEEDED -> false;
    };
  }

  /**
   * Calls a lane whose slot is taken, for the model of its route step ({@code stepModel}, null when
   * it names none), and frees the slot when the call ends.
   */
  private CompletableFuture<LlmReply> start(
      Lane lane,
      String stepModel,
      LlmRequest request,
      dev.llmstreams.observability.tracing.SpanRef span) {
    lane.inFlight.incrementAndGet();
    String model = lane.modelFor(request, stepModel);
    CompletableFuture<LlmReply> reply;
    try {
      reply = call(lane, model, request, span);
    } catch (RuntimeException e) {
      reply =
          CompletableFuture.completedFuture(
              errorReply(
                  lane,
                  model,
                  request,
                  LlmError.Code.PROVIDER_ERROR,
                  "the gateway failed before calling the provider: " + e.getMessage(),
                  false,
                  0,
                  0));
    }
    return reply.whenComplete(
        (r, e) -> {
          lane.inFlight.decrementAndGet();
          freeSlot(lane, request);
          serveWaiters(lane);
        });
  }

  /** The model a request is sent to by its route's first provider: its own, or that provider's. */
  public String modelFor(LlmRequest request) {
    return modelFor(request, providerFor(request));
  }

  /**
   * The model a request is asked for at {@code provider} (the one that answered it, after a
   * fallback): its own, or that provider's default; null for a provider this gateway has not.
   */
  public String modelFor(LlmRequest request, String provider) {
    Lane lane = provider == null ? null : lanes.get(provider);
    if (lane == null) {
      return request.model();
    }
    String stepModel =
        stepsFor(request).stream()
            .filter(s -> s.provider().equals(provider))
            .map(RouteStep::model)
            .filter(java.util.Objects::nonNull)
            .findFirst()
            .orElse(null);
    return lane.modelFor(request, stepModel);
  }

  /** Summaries are bulk work: nobody waits on one of them the way a goal waits on its next step. */
  public static boolean isBulk(LlmRequest request) {
    return request.purpose().startsWith("summarizer.");
  }

  /**
   * The caller hands a finished reply on; {@link #quiesce} waits until every started call got this
   * far.
   */
  public void delivered() {
    undelivered.decrementAndGet();
  }

  /** As {@link #delivered()}, for a shadow candidate's reply from {@link #trySubmitShadow}. */
  public void shadowDelivered() {
    undeliveredShadows.decrementAndGet();
  }

  /**
   * Stops starting calls and waits until every started call is finished and delivered, so a
   * graceful shutdown commits their replies and a restart repeats none of them. Then, within the
   * same timeout, it waits for started shadow calls, whose comparisons are written only until the
   * stop; the result says whether every primary call was delivered.
   */
  public boolean quiesce(Duration timeout) throws InterruptedException {
    quiescing = true;
    long until = System.nanoTime() + timeout.toNanos();
    boolean delivered = waitUntilNone(undelivered, until);
    waitUntilNone(undeliveredShadows, until);
    return delivered;
  }

  private static boolean waitUntilNone(AtomicLong count, long untilNanos)
      throws InterruptedException {
    while (count.get() > 0) {
      if (System.nanoTime() > untilNanos) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  /**
   * When a request gives up: its own deadline, else {@code llm.max.call.ms} from now (a call, or a
   * fallback's wait for a slot, starts its own allowance).
   */
  private Instant deadlineOf(LlmRequest request) {
    return request.deadline() != null ? request.deadline() : clock.instant().plus(maxCall);
  }

  private CompletableFuture<LlmReply> call(
      Lane lane,
      String model,
      LlmRequest request,
      dev.llmstreams.observability.tracing.SpanRef span) {
    long startNanos = nanoTime.getAsLong();
    Instant deadline = deadlineOf(request);
    AtomicInteger attempts = new AtomicInteger();
    Supplier<CompletionStage<Completion>> attempt =
        () -> {
          attempts.incrementAndGet();
          return attemptOnce(lane, request, model, deadline);
        };
    return lane.retry
        .executeCompletionStage(scheduler, attempt)
        .toCompletableFuture()
        .handle(
            (completion, error) -> {
              long latencyMs = Math.max(0, (nanoTime.getAsLong() - startNanos) / 1_000_000);
              LlmReply reply =
                  completion != null
                      ? okReply(lane, model, request, completion, latencyMs, attempts.get())
                      : failure(lane, model, request, unwrap(error), attempts.get(), latencyMs);
              if (lane.shadowScope != null) {
                return reply; // metered with its comparison, apart from the primary's meters
              }
              if (span != null) {
                dev.llmstreams.observability.tracing.CurrentSpan.set(span);
              }
              try {
                meter(lane, request, reply, latencyMs);
              } finally {
                dev.llmstreams.observability.tracing.CurrentSpan.clear();
              }
              return reply;
            });
  }

  private CompletableFuture<Completion> attemptOnce(
      Lane lane, LlmRequest request, String model, Instant deadline) {
    Duration remaining = Duration.between(clock.instant(), deadline);
    if (remaining.isNegative() || remaining.isZero()) {
      return CompletableFuture.failedFuture(
          new ProviderException(
              LlmError.Code.DEADLINE_EXCEEDED,
              "the request's deadline " + deadline + " passed",
              false));
    }
    long waitNanos = 0;
    if (lane.requestRate != null) {
      waitNanos = Math.max(waitNanos, lane.requestRate.reservePermission());
    }
    if (lane.tokenRate != null) {
      int permits =
          (int)
              Math.min(
                  estimateInputTokens(request),
                  lane.tokenRate.getRateLimiterConfig().getLimitForPeriod());
      waitNanos = Math.max(waitNanos, lane.tokenRate.reservePermission(Math.max(1, permits)));
    }
    if (waitNanos > 0) {
      lane.rateLimitWaits.increment();
    }
    if (lane.shadowScope == null) {
      // The tenant's own limits (TenantRateLimits): its calls wait, others' do not.
      waitNanos =
          Math.max(waitNanos, tenantRates.reserveNanos(request, estimateInputTokens(request)));
    }
    if (waitNanos > 0) {
      if (Duration.ofNanos(waitNanos).compareTo(remaining) >= 0) {
        return CompletableFuture.failedFuture(
            new ProviderException(
                LlmError.Code.DEADLINE_EXCEEDED,
                "the rate limit would delay the call past the request's deadline",
                false));
      }
      CompletableFuture<Completion> delayed = new CompletableFuture<>();
      scheduler.schedule(
          () -> {
            guarded(lane, request, model, deadline)
                .whenComplete(
                    (c, e) -> {
                      if (e != null) {
                        delayed.completeExceptionally(e);
                      } else {
                        delayed.complete(c);
                      }
                    });
          },
          waitNanos,
          TimeUnit.NANOSECONDS);
      return delayed;
    }
    return guarded(lane, request, model, deadline);
  }

  /** One provider call inside the circuit breaker, bounded by the deadline. */
  private CompletableFuture<Completion> guarded(
      Lane lane, LlmRequest request, String model, Instant deadline) {
    if (!lane.circuit.tryAcquirePermission()) {
      return CompletableFuture.failedFuture(
          new ProviderException(
              LlmError.Code.CIRCUIT_OPEN,
              "the circuit for " + lane.settings.name() + " is open after repeated failures",
              false));
    }
    long start = lane.circuit.getCurrentTimestamp();
    Duration remaining = Duration.between(clock.instant(), deadline);
    CompletableFuture<Completion> future;
    try {
      future = lane.provider.complete(request, model).toCompletableFuture();
    } catch (RuntimeException e) {
      future = CompletableFuture.failedFuture(e);
    }
    return future
        .orTimeout(Math.max(1, remaining.toMillis()), TimeUnit.MILLISECONDS)
        .handle(
            (c, e) -> {
              long elapsed = lane.circuit.getCurrentTimestamp() - start;
              if (e == null) {
                lane.circuit.onSuccess(elapsed, lane.circuit.getTimestampUnit());
                return c;
              }
              Throwable cause = unwrap(e);
              if (cause instanceof TimeoutException) {
                cause =
                    new ProviderException(
                        LlmError.Code.DEADLINE_EXCEEDED,
                        "no answer before the request's deadline " + deadline,
                        false);
              }
              lane.circuit.onError(elapsed, lane.circuit.getTimestampUnit(), cause);
              throw new CompletionException(cause);
            });
  }

  private LlmReply okReply(
      Lane lane, String model, LlmRequest request, Completion c, long latencyMs, int attempts) {
    return new LlmReply(
        request.requestId(),
        request.correlationId(),
        request.purpose(),
        c.content(),
        c.toolCalls(),
        c.finishReason(),
        c.usage(),
        lane.settings.cost(c.usage().inputTokens(), c.usage().outputTokens()),
        latencyMs,
        lane.settings.name(),
        c.model() != null ? c.model() : model,
        false,
        null,
        Math.max(1, attempts),
        request.prompt());
  }

  private LlmReply failure(
      Lane lane, String model, LlmRequest request, Throwable error, int attempts, long latencyMs) {
    if (error instanceof ProviderException pe) {
      return errorReply(
          lane, model, request, pe.code(), pe.getMessage(), pe.retryable(), attempts, latencyMs);
    }
    return errorReply(
        lane,
        model,
        request,
        LlmError.Code.PROVIDER_ERROR,
        "unexpected " + error.getClass().getSimpleName() + ": " + error.getMessage(),
        false,
        attempts,
        latencyMs);
  }

  private LlmReply errorReply(
      Lane lane,
      String model,
      LlmRequest request,
      LlmError.Code code,
      String message,
      boolean retryable,
      int attempts,
      long latencyMs) {
    String text = message == null || message.isBlank() ? code.name().toLowerCase() : message;
    return new LlmReply(
        request.requestId(),
        request.correlationId(),
        request.purpose(),
        null,
        null,
        null,
        Usage.ZERO,
        0.0,
        latencyMs,
        lane.settings.name(),
        model,
        false,
        new LlmError(code, text, retryable, attempts),
        null,
        request.prompt());
  }

  private void meter(Lane lane, LlmRequest request, LlmReply reply, long latencyMs) {
    String provider = lane.settings.name();
    String purpose = request.purpose();
    String model = String.valueOf(reply.model());
    String outcome = reply.error() == null ? "ok" : reply.error().code().name().toLowerCase();
    String tenant = tenantRates.tag(request);
    Counter.builder("llmstreams.llm.requests")
        .description("Requests answered, by provider, model, purpose, outcome and tenant")
        .tags("provider", provider, "model", model, "purpose", purpose, "outcome", outcome)
        .tag("tenant", tenant)
        .register(registry)
        .increment();
    Timer.builder("llmstreams.llm.latency")
        .description("Time from the start of a call to its reply, retries included")
        .tags("provider", provider, "purpose", purpose)
        .publishPercentileHistogram()
        .register(registry)
        .record(Duration.ofMillis(latencyMs));
    Counter.builder("llmstreams.llm.tokens")
        .description("Tokens billed")
        .baseUnit("tokens")
        .tags("provider", provider, "model", model, "purpose", purpose, "direction", "input")
        .tag("tenant", tenant)
        .register(registry)
        .increment(reply.usage().inputTokens());
    Counter.builder("llmstreams.llm.tokens")
        .description("Tokens billed")
        .baseUnit("tokens")
        .tags("provider", provider, "model", model, "purpose", purpose, "direction", "output")
        .tag("tenant", tenant)
        .register(registry)
        .increment(reply.usage().outputTokens());
    Counter.builder("llmstreams.llm.cost")
        .description("Cost from the configured prices")
        .baseUnit("usd")
        .tags("provider", provider, "model", model, "purpose", purpose)
        .tag("tenant", tenant)
        .register(registry)
        .increment(reply.costUsd());
  }

  /**
   * A rough count (characters / 4) for rate limiting before the call; the reply carries the real
   * usage.
   */
  static long estimateInputTokens(LlmRequest request) {
    long chars = 0;
    for (ChatMessage m : request.messages()) {
      chars += m.content() == null ? 0 : m.content().length();
    }
    return Math.max(1, chars / 4);
  }

  static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  public int inFlight(String provider) {
    return lanes.get(provider).inFlight.get();
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    java.util.stream.Stream.concat(lanes.values().stream(), shadowLanes.values().stream())
        .forEach(
            l -> {
              try {
                l.provider.close();
              } catch (Exception ignored) {
                // closing on shutdown
              }
            });
  }
}
