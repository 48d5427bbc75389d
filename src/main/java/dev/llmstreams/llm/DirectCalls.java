package dev.llmstreams.llm;

import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.LlmCalls;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * {@link LlmCalls} through this app's {@link LlmGateway}: a task's calls take the gateway's slots
 * (queued while their provider has none, as on the gateway's task), its limits, retries, fallbacks,
 * circuits and meters. What the gateway's topic path adds and these calls do without: the reply
 * cache by requestId (the caller's state holds what it waits for), the content-addressed reply
 * cache and shadow candidates ({@link #topicOnly} sends those purposes through the topic).
 *
 * <p>Every started call is handed on exactly once ({@link LlmGateway#delivered}): when its session
 * polls it, or when it finishes with no open session to take it. A call running when its session
 * closes (the task moved, or was revived after an aborted transaction) is joined by the next
 * session that asks for the same requestId, and one handed on lately ({@link #RECENT}) is answered
 * again from memory: a revive in this JVM does not pay a call twice. Only a new process repeats the
 * calls its tasks were waiting for.
 */
public final class DirectCalls implements LlmCalls {
  private final Supplier<LlmGateway> gateway;
  private final Set<String> shadowScopes;
  private final String replyCacheTopic;
  private final Counter joined;

  /** The open sessions, for the queue gauge. */
  private final Set<DirectSession> sessions = ConcurrentHashMap.newKeySet();

  /** The calls running in this JVM, by requestId. Guarded by {@code this}. */
  private final Map<String, Running> running = new HashMap<>();

  /** Replies handed on lately, the most recent last. Guarded by {@code this}. */
  private final Map<String, LlmReply> recent =
      new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LlmReply> eldest) {
          return size() > RECENT;
        }
      };

  /**
   * How many replies are kept to answer a task revived after an aborted transaction, which rolled
   * back the step that handled them: the revived task asks again and gets the same reply. A
   * transaction holds the replies of one commit interval (5 ms for the controller), far fewer; a
   * reply's text is at most the turn's output tokens (2,048 for the controller), so a few MB at
   * most.
   */
  static final int RECENT = 1024;

  /**
   * @param gateway the app's gateway, built with the gateway's topology (asked for at each {@link
   *     #open})
   * @param shadowScopes the purposes' first segments that have a shadow candidate
   * @param replyCacheTopic {@code llm.reply.cache.topic} (blank: off)
   */
  public DirectCalls(
      Supplier<LlmGateway> gateway,
      Set<String> shadowScopes,
      String replyCacheTopic,
      MeterRegistry registry) {
    this.gateway = gateway;
    this.shadowScopes = Set.copyOf(shadowScopes);
    this.replyCacheTopic = replyCacheTopic == null ? "" : replyCacheTopic;
    this.joined =
        Counter.builder("llmstreams.llm.direct.joined")
            .description(
                "Direct LLM calls a task's new owner joined while still running, or answered again"
                    + " from the replies handed on lately, instead of calling again (a revive after an"
                    + " aborted transaction, or a move within this process)")
            .register(registry);
    // Beside the gateway's tasks' queues (tag task): dashboards that sum the gauge see every call
    // waiting for a provider slot.
    io.micrometer.core.instrument.Gauge.builder("llmstreams.llm.queued", this, DirectCalls::queued)
        .description("Requests waiting for a free provider slot")
        .tag("task", "direct")
        .strongReference(
            true) // a weakly held gauge reads NaN once collected, and NaN poisons a sum
        .register(registry);
  }

  /** Direct calls waiting for a free provider slot, over every open session. */
  private double queued() {
    return sessions.stream().mapToInt(x -> x.queued.size()).sum();
  }

  @Override
  public Optional<String> topicOnly(String purpose) {
    if (!replyCacheTopic.isBlank()) {
      return Optional.of(
          "the reply cache (llm.reply.cache.topic=" + replyCacheTopic + ") answers on the gateway");
    }
    String scope = LlmGateway.shadowScope(purpose);
    if (shadowScopes.contains(scope)) {
      return Optional.of(
          "purpose "
              + purpose
              + " has a shadow candidate (llm.shadow."
              + scope
              + ".*), compared on the gateway");
    }
    return Optional.empty();
  }

  @Override
  public Session open(Tracing tracing) {
    LlmGateway g = gateway.get();
    if (g == null) {
      throw new IllegalStateException("direct LLM calls need the gateway of this app, not built");
    }
    DirectSession session = new DirectSession(g, tracing);
    sessions.add(session);
    return session;
  }

  /** A call waiting in, or answering to, a session. */
  private record Ask(String key, LlmRequest request, SpanRef span) {}

  /**
   * A reply for a session; {@code started}: from a call this class started, handed on with {@link
   * LlmGateway#delivered} (not one answered again from {@link #recent}).
   */
  private record Done(Ask ask, LlmReply reply, boolean started) {}

  /** A started call and the session its reply goes to (null: none open now). */
  private static final class Running {
    DirectSession owner;
    Ask ask;

    Running(DirectSession owner, Ask ask) {
      this.owner = owner;
      this.ask = ask;
    }
  }

  /** A running call finished (on the gateway's threads): to its owner, or handed on unclaimed. */
  private void finished(String requestId, Running r, LlmReply reply, LlmGateway g) {
    DirectSession owner;
    synchronized (this) {
      running.remove(requestId);
      owner = r.owner != null && r.owner.open ? r.owner : null;
      if (owner != null) {
        owner.done.add(new Done(r.ask, reply, true));
      }
    }
    if (owner == null) {
      g.delivered(); // nobody waits for it here now: the task's next owner calls again
    } else {
      owner.launch();
    }
  }

  private final class DirectSession implements Session {
    private final LlmGateway gateway;
    private final Tracing tracing;
    private final ConcurrentLinkedDeque<Ask> queued = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();

    /** This session's calls, queued, running or done and not polled, by requestId. */
    private final Map<String, Ask> mine = new ConcurrentHashMap<>();

    private final ThreadLocal<Boolean> launching = ThreadLocal.withInitial(() -> false);
    private volatile boolean open = true;

    DirectSession(LlmGateway gateway, Tracing tracing) {
      this.gateway = gateway;
      this.tracing = tracing;
    }

    @Override
    public void call(String key, LlmRequest request, SpanRef span) {
      String id = request.requestId();
      Ask ask = new Ask(key, request, span);
      if (mine.putIfAbsent(id, ask) != null) {
        return;
      }
      synchronized (DirectCalls.this) {
        Running r = running.get(id);
        if (r != null) {
          r.owner = this;
          r.ask = ask;
          joined.increment();
          return;
        }
        LlmReply known = recent.get(id);
        if (known != null) {
          done.add(new Done(ask, known, false));
          joined.increment();
          return;
        }
      }
      queued.add(ask);
      launch();
    }

    /**
     * Starts queued calls while their providers have free slots; on the stream thread and on the
     * threads where calls finish. One provider without a slot holds back the calls behind it in
     * this session's queue, as one task's lane does on the gateway.
     */
    void launch() {
      if (!open || launching.get()) {
        return; // re-entered from a call that finished at once: the outer loop goes on
      }
      launching.set(true);
      try {
        Ask ask;
        while (open && (ask = queued.poll()) != null) {
          String id = ask.request().requestId();
          Running r = new Running(this, ask);
          synchronized (DirectCalls.this) {
            Running started = running.putIfAbsent(id, r);
            if (started != null) {
              // Started meanwhile for another session (a task moved back and forth): joined.
              started.owner = this;
              started.ask = ask;
              continue;
            }
          }
          Optional<CompletableFuture<LlmReply>> future =
              gateway.trySubmit(ask.request(), ask.span());
          if (future.isEmpty()) {
            synchronized (DirectCalls.this) {
              running.remove(id, r);
            }
            queued.offerFirst(ask);
            break;
          }
          future.get().thenAccept(reply -> finished(id, r, reply, gateway));
        }
      } finally {
        launching.set(false);
      }
    }

    @Override
    public List<Answer> poll(long nowMs) {
      launch();
      List<Answer> out = new ArrayList<>();
      Done d;
      while ((d = done.poll()) != null) {
        Ask ask = d.ask();
        if (d.started()) {
          gateway.delivered();
          synchronized (DirectCalls.this) {
            recent.put(ask.request().requestId(), d.reply());
          }
        }
        if (mine.remove(ask.request().requestId()) == null) {
          continue;
        }
        out.add(
            new Answer(
                ask.key(),
                ask.request(),
                d.reply(),
                ask.span() == null
                    ? Optional.empty()
                    : ChatSpans.describe(tracing, gateway, ask.span(), ask.request(), d.reply())
                        .end(Tracing.nanos(nowMs))));
      }
      return out;
    }

    @Override
    public boolean idle() {
      return mine.isEmpty();
    }

    @Override
    public boolean awaitRoom(int maxQueued, java.time.Duration timeout) {
      long until = System.nanoTime() + timeout.toNanos();
      while (queued.size() > maxQueued) {
        if (System.nanoTime() > until) {
          return false;
        }
        launch();
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }

    @Override
    public void close() {
      int dropped = 0;
      synchronized (DirectCalls.this) {
        open = false;
        for (Running r : running.values()) {
          if (r.owner == this) {
            r.owner = null;
          }
        }
        Done d;
        while ((d = done.poll()) != null) {
          if (d.started()) {
            dropped++;
          }
        }
      }
      for (int i = 0; i < dropped; i++) {
        gateway.delivered();
      }
      queued.clear();
      mine.clear();
      sessions.remove(this);
    }
  }
}
