package dev.llmstreams.llm;

import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.llm.GatewayTopology.PendingCall;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The shadow calls of one gateway task: which accepted requests are sampled, their calls to the
 * shadow candidate (in the candidate's own slots; a sampled request waits in a bounded queue of its
 * own, never in the primary's), and the comparison once both the primary and the candidate have
 * answered.
 *
 * <p>Kept in memory only. A comparison is handed on from the stream thread, in the transaction that
 * writes the primary's reply or a later one; so a request still pending after a crash has no
 * comparison written, and its shadow call is started again with its primary call. A shadow call in
 * flight when the task stops after its primary's reply was committed is lost: at most one
 * comparison per sampled primary call, never a second.
 */
final class ShadowCalls {
  /** A comparison ready to be written, with the accepted call it belongs to. */
  record Compared(PendingCall call, ShadowReply reply) {}

  /** A sampled request: the primary's and the candidate's replies, as they arrive. */
  private static final class Run {
    final PendingCall call;
    final ShadowRoute route;
    LlmReply primary;
    LlmReply shadow;

    Run(PendingCall call, ShadowRoute route) {
      this.call = call;
      this.route = route;
    }
  }

  private record Done(String requestId, LlmReply reply) {}

  private final LlmGateway gateway;
  private final MeterRegistry registry;
  private final int maxQueued;
  private final Map<String, Run> runs = new ConcurrentHashMap<>();

  /** Waiting runs by shadow scope: one busy candidate does not hold back another. */
  private final Map<String, ConcurrentLinkedDeque<Run>> queued = new ConcurrentHashMap<>();

  private final AtomicInteger queuedCount = new AtomicInteger();
  private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Run> ready = new ConcurrentLinkedQueue<>();
  private final ThreadLocal<Boolean> launching = ThreadLocal.withInitial(() -> false);
  private volatile boolean open = true;

  ShadowCalls(LlmGateway gateway, MeterRegistry registry, int maxQueued) {
    this.gateway = gateway;
    this.registry = registry;
    this.maxQueued = maxQueued;
  }

  /**
   * On the stream thread, for a call accepted now or again after a restart: a sampled request waits
   * for a shadow slot, unless the shadow queue is full. Starts nothing: {@link #launch} does, after
   * the primary call had its chance.
   */
  void accept(PendingCall call) {
    Optional<ShadowRoute> route = gateway.shadowFor(call.request());
    if (route.isEmpty() || !route.get().samples(call.request().requestId())) {
      return;
    }
    String purpose = call.request().purpose();
    String provider = route.get().provider();
    if (queuedCount.get() >= maxQueued) {
      Counter.builder("llmstreams.llm.shadow.skipped")
          .description(
              "Sampled requests not sent to their shadow candidate, by reason (queue_full:"
                  + " llm.shadow.max.queued waiting already)")
          .tags("purpose", purpose, "provider", provider, "reason", "queue_full")
          .register(registry)
          .increment();
      return;
    }
    Run run = new Run(call, route.get());
    if (runs.putIfAbsent(call.request().requestId(), run) != null) {
      return;
    }
    Counter.builder("llmstreams.llm.shadow.sampled")
        .description("Requests sampled for a shadow candidate, by purpose and candidate provider")
        .tags("purpose", purpose, "provider", provider)
        .register(registry)
        .increment();
    queued.computeIfAbsent(run.route.scope(), s -> new ConcurrentLinkedDeque<>()).add(run);
    queuedCount.incrementAndGet();
  }

  /**
   * Starts waiting shadow calls while their candidate has free slots. Runs on the stream thread and
   * on the threads where shadow calls finish.
   */
  void launch() {
    if (!open || launching.get()) {
      return;
    }
    launching.set(true);
    try {
      for (ConcurrentLinkedDeque<Run> queue : queued.values()) {
        Run run;
        while (open && (run = queue.poll()) != null) {
          Optional<CompletableFuture<LlmReply>> future =
              gateway.trySubmitShadow(run.call.request());
          if (future.isEmpty()) {
            queue.offerFirst(run);
            break;
          }
          queuedCount.decrementAndGet();
          String id = run.call.request().requestId();
          future
              .get()
              .thenAccept(
                  reply -> {
                    if (open) {
                      done.add(new Done(id, reply));
                      launch();
                    } else {
                      gateway.shadowDelivered();
                    }
                  });
        }
      }
    } finally {
      launching.set(false);
    }
  }

  /**
   * On the stream thread: nothing sampled is queued, running, or waiting for its comparison to be
   * written. A run stays in {@code runs} from its acceptance to its comparison, both on this
   * thread, so no shadow call can be in flight when it is empty.
   */
  boolean idle() {
    return runs.isEmpty();
  }

  /**
   * On the stream thread, once the primary's reply is handed on: its comparison is ready if the
   * candidate answered already.
   */
  void primaryAnswered(String requestId, LlmReply reply) {
    Run run = runs.get(requestId);
    if (run != null) {
      run.primary = reply;
      if (run.shadow != null) {
        ready.add(run);
      }
    }
  }

  /** On the stream thread: hands on every comparison whose two replies are in, and meters it. */
  void deliver(Consumer<Compared> forward) {
    Done d;
    while ((d = done.poll()) != null) {
      gateway.shadowDelivered();
      Run run = runs.get(d.requestId());
      if (run != null) {
        run.shadow = d.reply();
        if (run.primary != null) {
          ready.add(run);
        }
      }
    }
    Run run;
    while ((run = ready.poll()) != null) {
      runs.remove(run.call.request().requestId());
      ShadowReply reply = ShadowComparison.compare(run.primary, run.shadow);
      meter(reply);
      forward.accept(new Compared(run.call, reply));
    }
  }

  private void meter(ShadowReply reply) {
    String purpose = reply.purpose();
    String provider = reply.provider();
    Counter.builder("llmstreams.llm.shadow.agreement")
        .description(
            "Shadow comparisons by outcome: agree, disagree, shadow_failed, primary_failed,"
                + " both_failed")
        .tags("purpose", purpose, "provider", provider, "outcome", outcome(reply))
        .register(registry)
        .increment();
    side(purpose, provider, "primary", reply.primaryCostUsd(), reply.primaryLatencyMs());
    side(purpose, provider, "shadow", reply.costUsd(), reply.latencyMs());
  }

  private void side(String purpose, String provider, String side, double costUsd, long latencyMs) {
    Counter.builder("llmstreams.llm.shadow.cost")
        .description(
            "Cost of the sampled requests, by side: the shadow candidate's and the primary's on the"
                + " same requests")
        .baseUnit("usd")
        .tags("purpose", purpose, "provider", provider, "side", side)
        .register(registry)
        .increment(costUsd);
    Timer.builder("llmstreams.llm.shadow.latency")
        .description(
            "Latency of the sampled requests, by side: the shadow candidate's call and the"
                + " primary's on the same requests, retries included")
        .tags("purpose", purpose, "provider", provider, "side", side)
        .publishPercentileHistogram()
        .register(registry)
        .record(Duration.ofMillis(latencyMs));
  }

  private static String outcome(ShadowReply reply) {
    return reply.agreement().name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The task stops: nothing more is started or handed on; calls in flight are let go. */
  void close() {
    open = false;
    while (done.poll() != null) {
      gateway.shadowDelivered();
    }
    queued.clear();
    runs.clear();
  }
}
