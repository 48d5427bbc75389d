package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.RejectedRecordException;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRef;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The LLM gateway as a Kafka Streams topology. Calls run asynchronously, up to each provider's
 * concurrency limit, while the stream thread keeps reading; a finished call becomes a reply on the
 * request's {@code replyTo} topic (one of the catalog's reply topics, with the request's key).
 *
 * <pre>
 * llm-requests ──────────┐
 * controller.llm-requests ─▶ gateway.call-provider ─┬▶ controller.llm-replies
 *                  │ stores:              ├▶ summarizer.llm-replies
 *                  │  gateway-pending     ├▶ specialist.llm-replies
 *                  │  gateway-replies     └▶ llm-shadow-replies (shadow candidates' answers, compared)
 *                  │  (the response cache, by requestId)
 * </pre>
 *
 * <p>Why it is exactly-once: a request is written to {@code gateway-pending} in the same
 * transaction that commits its input offset, and the reply, the cache entry and the removal from
 * pending are written in one later transaction. After a crash the pending calls are started again
 * (only calls in flight at the crash repeat); a request seen again (redelivery, replay, a
 * requester's retry) is answered from the cache and not billed twice.
 *
 * <p>Shadow candidates ({@link ShadowRoute}) answer a sampled copy of the requests the provider is
 * called for (not cache hits, not duplicates); each comparison goes to {@code llm-shadow-replies}
 * in the transaction of its primary's reply or a later one, at most once ({@link ShadowCalls}).
 * Nothing of the primary's path waits for them.
 */
public final class GatewayTopology {
  public static final String PENDING_STORE = "gateway-pending";
  public static final String REPLIES_STORE = "gateway-replies";
  private static final List<TopicRef<LlmReply>> REPLY_TOPICS =
      List.of(
          Topics.CONTROLLER_LLM_REPLIES,
          Topics.SUMMARIZER_LLM_REPLIES,
          Topics.SPECIALIST_LLM_REPLIES);

  /**
   * A request accepted but not yet answered, with the record key its reply must carry and the span
   * of the call (started at acceptance, recorded with the reply; null in entries written before
   * tracing existed).
   */
  public record PendingCall(String key, LlmRequest request, long acceptedAtMs, SpanRef span) {}

  /** A reply kept to answer the same requestId again. */
  public record CachedReply(LlmReply reply, long storedAtMs) {}

  private final TopicCatalog catalog;
  private final LlmGateway gateway;
  private final MeterRegistry registry;
  private final Duration cacheTtl;
  private final Duration pollInterval;
  private final int maxQueued;
  private final int maxShadowQueued;
  private final Tracing tracing;

  /** The content-addressed reply cache topic (llm.reply.cache.topic); null when off. */
  private String replyCacheTopic;

  /** One queue-length gauge per task, kept across the task's re-creation after a rebalance. */
  private final Map<String, AtomicInteger> queuedByTask = new ConcurrentHashMap<>();

  public GatewayTopology(
      TopicCatalog catalog,
      LlmGateway gateway,
      MeterRegistry registry,
      Duration cacheTtl,
      Duration pollInterval,
      int maxQueued) {
    this(
        catalog,
        gateway,
        registry,
        cacheTtl,
        pollInterval,
        maxQueued,
        Tracing.off("llm-streams-gateway"),
        AppConfig.DEFAULT_LLM_SHADOW_MAX_QUEUED);
  }

  public GatewayTopology(
      TopicCatalog catalog,
      LlmGateway gateway,
      MeterRegistry registry,
      Duration cacheTtl,
      Duration pollInterval,
      int maxQueued,
      Tracing tracing,
      int maxShadowQueued) {
    this.tracing = tracing;
    this.maxShadowQueued = maxShadowQueued;
    this.catalog = catalog;
    this.gateway = gateway;
    this.registry = registry;
    this.cacheTtl = cacheTtl;
    this.pollInterval = pollInterval;
    this.maxQueued = maxQueued;
  }

  /**
   * Answers from, and adds to, the content-addressed reply cache on {@code topic} ({@code
   * llm.reply.cache.topic}; blank: off).
   */
  public GatewayTopology withReplyCache(String topic) {
    this.replyCacheTopic = topic == null || topic.isBlank() ? null : topic;
    return this;
  }

  public Topology build() {
    Topic<LlmRequest> requests = catalog.topic(Topics.LLM_REQUESTS);
    Topic<LlmRequest> controllerRequests = catalog.topic(Topics.CONTROLLER_LLM_REQUESTS);
    Map<String, String> sinkByTopic = new LinkedHashMap<>();
    // A request seen again must meet its cached reply: each record reaches its key's partition (see
    // KeyedInput). The controller's requests come on a topic of their own, so that a goal's turn
    // is never read behind the bulk patterns' transactions still open on llm-requests.
    StreamsBuilder builder = StreamsSettings.newBuilder();
    String requestsNode =
        KeyedInput.read(
                builder,
                "gateway",
                requests,
                "gateway.llm-requests",
                requests.spec().partitions(),
                registry)
            .node();
    String controllerRequestsNode =
        KeyedInput.read(
                builder,
                "gateway",
                controllerRequests,
                "gateway.controller-llm-requests",
                controllerRequests.spec().partitions(),
                registry)
            .node();
    Topology topology = builder.build();
    topology.addProcessor(
        "gateway.call-provider",
        () -> new CallProvider(sinkByTopic),
        requestsNode,
        controllerRequestsNode);
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(PENDING_STORE),
            Serdes.String(),
            JsonSerde.of(PendingCall.class)),
        "gateway.call-provider");
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(REPLIES_STORE),
            Serdes.String(),
            JsonSerde.of(CachedReply.class)),
        "gateway.call-provider");
    for (TopicRef<LlmReply> ref : REPLY_TOPICS) {
      Topic<LlmReply> t = catalog.topic(ref);
      String sink =
          "gateway.reply-to-"
              + ref.role().name().toLowerCase().replace("_llm_replies", "").replace('_', '-');
      sinkByTopic.put(t.name(), sink);
      topology.addSink(
          sink,
          t.name(),
          t.keySerde().serializer(),
          t.valueSerde().serializer(),
          "gateway.call-provider");
    }
    Topic<ShadowReply> shadowReplies = catalog.topic(Topics.LLM_SHADOW_REPLIES);
    topology.addSink(
        SHADOW_SINK,
        shadowReplies.name(),
        shadowReplies.keySerde().serializer(),
        shadowReplies.valueSerde().serializer(),
        "gateway.call-provider");
    SpanSink.add(topology, catalog, SPANS_SINK, "gateway.call-provider");
    if (replyCacheTopic != null) {
      JsonSerde<LlmReply> serde = JsonSerde.of(LlmReply.class);
      // Every instance reads every cached reply; the processor that answered adds the new ones.
      topology.addGlobalStore(
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(REPLY_CACHE_STORE), Serdes.String(), serde)
              .withLoggingDisabled(),
          "gateway.reply-cache-source",
          Serdes.String().deserializer(),
          serde.deserializer(),
          replyCacheTopic,
          "gateway.reply-cache-load",
          () ->
              new Processor<String, LlmReply, Void, Void>() {
                private KeyValueStore<String, LlmReply> store;

                @Override
                public void init(ProcessorContext<Void, Void> context) {
                  store = context.getStateStore(REPLY_CACHE_STORE);
                }

                @Override
                public void process(Record<String, LlmReply> record) {
                  if (record.key() != null) {
                    store.put(record.key(), record.value());
                  }
                }
              });
      topology.addSink(
          REPLY_CACHE_SINK,
          replyCacheTopic,
          Serdes.String().serializer(),
          serde.serializer(),
          "gateway.call-provider");
    }
    return topology;
  }

  static final String SPANS_SINK = "gateway.spans";
  static final String SHADOW_SINK = "gateway.shadow-replies";
  static final String REPLY_CACHE_SINK = "gateway.reply-cache";

  /** The global store of the content-addressed reply cache (llm.reply.cache.topic). */
  public static final String REPLY_CACHE_STORE = "gateway-reply-cache";

  /** What one finished call hands back to the stream thread. */
  private record Done(String requestId, LlmReply reply) {}

  private final class CallProvider implements Processor<String, LlmRequest, String, Object> {
    private final Map<String, String> sinkByTopic;
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    // Waiting calls are kept in memory (and in the pending store) so that a finished call can start
    // the next
    // one at once from the HTTP client's thread, without waiting for the stream thread's next loop.
    private final Map<String, ConcurrentLinkedDeque<PendingCall>> queued =
        new ConcurrentHashMap<>();
    private AtomicInteger queuedCount = new AtomicInteger();
    private final Map<String, PendingCall> started = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> launching = ThreadLocal.withInitial(() -> false);
    private ProcessorContext<String, Object> context;

    /**
     * Hands finished calls on every {@code gateway.poll.ms} while this task has calls queued, in
     * flight or unanswered, shadows included; a new call schedules it again.
     */
    private dev.llmstreams.runtime.WhileBusy delivery;

    private dev.llmstreams.runtime.QuietCommits commits;
    private KeyValueStore<String, PendingCall> pending;
    private KeyValueStore<String, CachedReply> replies;
    private org.apache.kafka.streams.state.ReadOnlyKeyValueStore<String, LlmReply> replyCache;
    private volatile boolean open;
    private Counter cacheHits;
    private Counter duplicates;
    private Counter contentCacheHits;
    private ShadowCalls shadows;

    CallProvider(Map<String, String> sinkByTopic) {
      this.sinkByTopic = sinkByTopic;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
      this.context = context;
      this.commits = dev.llmstreams.runtime.QuietCommits.of(context);
      this.pending = context.getStateStore(PENDING_STORE);
      this.replies = context.getStateStore(REPLIES_STORE);
      this.replyCache = replyCacheTopic == null ? null : context.getStateStore(REPLY_CACHE_STORE);
      this.open = true;
      this.shadows = new ShadowCalls(gateway, registry, maxShadowQueued);
      cacheHits =
          Counter.builder("llmstreams.llm.cache.hits")
              .description("Requests answered from the response cache instead of the provider")
              .register(registry);
      contentCacheHits =
          Counter.builder("llmstreams.llm.reply.cache.hits")
              .description(
                  "Requests answered from the content-addressed reply cache (llm.reply.cache.topic, set"
                      + " by replay runs): the same question asked before, by any run")
              .register(registry);
      duplicates =
          Counter.builder("llmstreams.llm.duplicates")
              .description("Requests seen again while their first copy was still in flight")
              .register(registry);
      queuedCount =
          queuedByTask.computeIfAbsent(
              context.taskId().toString(),
              task -> {
                AtomicInteger count = new AtomicInteger();
                Gauge.builder("llmstreams.llm.queued", count, AtomicInteger::get)
                    .description("Requests waiting for a free provider slot")
                    .tag("task", task)
                    .register(registry);
                return count;
              });
      queuedCount.set(0);
      // Calls accepted before a crash or a move of this task: start them again (only those repeat).
      try (KeyValueIterator<String, PendingCall> it = pending.all()) {
        while (it.hasNext()) {
          PendingCall call = it.next().value;
          shadows.accept(call); // no comparison of a pending call was written: sampled again
          enqueue(call);
        }
      }
      delivery =
          new dev.llmstreams.runtime.WhileBusy(
              context,
              pollInterval,
              this::idle,
              now -> {
                deliver();
                launch();
                shadows.launch();
              });
      delivery.ensure();
      // Swept at least twice per TTL (at most once a second, at least once a minute): entries live
      // at most 1.5 TTL.
      long sweepMs = Math.max(1_000, Math.min(60_000, cacheTtl.toMillis() / 2));
      context.schedule(
          Duration.ofMillis(sweepMs), PunctuationType.WALL_CLOCK_TIME, this::expireCache);
      launch();
      shadows.launch();
    }

    @Override
    public void process(Record<String, LlmRequest> record) {
      LlmRequest request = record.value();
      if (request == null) {
        throw new RejectedRecordException("a request with no value (tombstone) cannot be answered");
      }
      if (!sinkByTopic.containsKey(request.replyTo())) {
        throw new RejectedRecordException(
            "replyTo '"
                + request.replyTo()
                + "' is not a reply topic of the catalog "
                + sinkByTopic.keySet());
      }
      CachedReply cached = replies.get(request.requestId());
      if (cached != null) {
        cacheHits.increment();
        answerFromCache(record, request, cached.reply());
        return;
      }
      if (pending.get(request.requestId()) != null) {
        duplicates.increment();
        return;
      }
      if (replyCache != null) {
        LlmReply known = replyCache.get(cacheKey(request));
        if (known != null) {
          contentCacheHits.increment();
          // Kept by requestId too: a repeat of this request meets the same answer.
          replies.put(request.requestId(), new CachedReply(known, context.currentSystemTimeMs()));
          answerFromCache(record, request, known);
          return;
        }
      }
      SpanRef span =
          tracing.start(
              record.headers(),
              "chat",
              SpanKind.CLIENT,
              Tracing.nanos(context.currentSystemTimeMs()));
      PendingCall call = new PendingCall(record.key(), request, record.timestamp(), span);
      pending.put(request.requestId(), call);
      shadows.accept(call);
      enqueue(call);
      delivery.ensure();
      launch();
      deliver();
      shadows.launch(); // after the primary call: a shadow never goes first
      // Backpressure: with too many calls waiting, stop reading until some finish.
      while (queuedCount.get() > maxQueued) {
        waitForOneDone();
        deliver();
        launch();
      }
    }

    /**
     * No call of this task waits, runs or waits to be handed on. Read in this order: {@link
     * #launch}, which also runs on the HTTP client's threads, puts a call in {@code started} before
     * it leaves the queued count, and a call leaves {@code started} only when {@link #deliver}
     * hands its reply on, on this thread; so a call moving from queued to started is seen in one or
     * the other.
     */
    private boolean idle() {
      return queuedCount.get() == 0 && started.isEmpty() && done.isEmpty() && shadows.idle();
    }

    /** Answers {@code request} with a reply given before: not billed again (usage and cost 0). */
    private void answerFromCache(
        Record<String, LlmRequest> record, LlmRequest request, LlmReply r) {
      long now = context.currentSystemTimeMs();
      SpanRef span = tracing.start(record.headers(), "chat", SpanKind.CLIENT, Tracing.nanos(now));
      LlmReply answer =
          new LlmReply(
              request.requestId(),
              request.correlationId(),
              request.purpose(),
              r.content(),
              r.toolCalls(),
              r.finishReason(),
              dev.llmstreams.events.Usage.ZERO,
              0.0,
              0,
              r.provider(),
              r.model(),
              true,
              r.error(),
              null,
              r.prompt()); // the prompt of the answer, as first asked
      forward(record.key(), request.replyTo(), answer, record.timestamp(), span);
      commits.wrote(context, context.currentSystemTimeMs());
      SpanSink.emit(
          context,
          SPANS_SINK,
          ChatSpans.describe(tracing, gateway, span, request, answer).end(Tracing.nanos(now)),
          record.timestamp());
    }

    private String cacheKey(LlmRequest request) {
      return ReplyCacheKey.of(gateway.providerFor(request), gateway.modelFor(request), request);
    }

    private void enqueue(PendingCall call) {
      // Bulk and interactive calls wait apart: a summary held back by the bulk limit does not block
      // a goal's call.
      String lane =
          gateway.providerFor(call.request())
              + (LlmGateway.isBulk(call.request()) ? "/bulk" : "/interactive");
      queued.computeIfAbsent(lane, p -> new ConcurrentLinkedDeque<>()).add(call);
      queuedCount.incrementAndGet();
    }

    /**
     * Starts waiting calls while their provider has free slots; one busy provider does not hold
     * back another. Runs on the stream thread and on the threads where calls finish.
     */
    private void launch() {
      if (!open || launching.get()) {
        return; // re-entered from a call that finished at once: the outer loop goes on
      }
      launching.set(true);
      try {
        for (ConcurrentLinkedDeque<PendingCall> queue : queued.values()) {
          PendingCall call;
          while (open && (call = queue.poll()) != null) {
            String id = call.request().requestId();
            if (started.putIfAbsent(id, call) != null) {
              queuedCount.decrementAndGet();
              continue;
            }
            Optional<CompletableFuture<LlmReply>> future =
                gateway.trySubmit(call.request(), call.span());
            if (future.isEmpty()) {
              started.remove(id);
              queue.offerFirst(call);
              break;
            }
            queuedCount.decrementAndGet();
            future
                .get()
                .thenAccept(
                    reply -> {
                      if (open) {
                        done.add(new Done(id, reply));
                        launch();
                      } else {
                        gateway.delivered(); // this task moved or closed: the new owner starts the
                        // call again
                      }
                    });
          }
        }
      } finally {
        launching.set(false);
      }
    }

    /**
     * Turns finished calls into replies, cache entries and removals from pending (one transaction
     * per commit).
     */
    private void deliver() {
      boolean delivered = false;
      Done d;
      while ((d = done.poll()) != null) {
        // The call is in memory since it started; the pending store holds the same until this
        // transaction.
        PendingCall call = started.remove(d.requestId());
        if (call != null) {
          long now = context.currentSystemTimeMs();
          replies.put(d.requestId(), new CachedReply(d.reply(), now));
          pending.delete(d.requestId());
          long timestamp = Math.max(now, call.acceptedAtMs());
          SpanRef span =
              call.span() != null
                  ? call.span()
                  : tracing.start(
                      io.opentelemetry.api.trace.SpanContext.getInvalid(),
                      "chat",
                      SpanKind.CLIENT,
                      Tracing.nanos(call.acceptedAtMs()));
          forward(call.key(), call.request().replyTo(), d.reply(), timestamp, span);
          if (replyCache != null && !d.reply().failed()) {
            context.forward(
                new Record<>(cacheKey(call.request()), d.reply(), timestamp), REPLY_CACHE_SINK);
          }
          SpanSink.emit(
              context,
              SPANS_SINK,
              ChatSpans.describe(tracing, gateway, span, call.request(), d.reply())
                  .end(Tracing.nanos(now)),
              timestamp);
          shadows.primaryAnswered(d.requestId(), d.reply());
        }
        gateway.delivered();
        delivered = true;
      }
      if (delivered) {
        // the replies: a controller or a summarizer waits for them
        commits.wrote(context, context.currentSystemTimeMs());
      }
      shadows.deliver(this::forwardShadow);
    }

    /** A comparison, keyed and timed as the primary's reply, in the trace of its call. */
    private void forwardShadow(ShadowCalls.Compared c) {
      long timestamp = Math.max(context.currentSystemTimeMs(), c.call().acceptedAtMs());
      context.forward(
          TraceHeaders.record(c.call().key(), c.reply(), timestamp, c.call().span()), SHADOW_SINK);
    }

    private void waitForOneDone() {
      long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
      while (done.isEmpty() && System.nanoTime() < until) {
        Thread.onSpinWait();
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }

    private void forward(String key, String replyTo, LlmReply reply, long timestamp, SpanRef span) {
      context.forward(TraceHeaders.record(key, reply, timestamp, span), sinkByTopic.get(replyTo));
    }

    private void expireCache(long now) {
      if (cacheTtl.isZero()) {
        return;
      }
      List<String> expired = new ArrayList<>();
      try (KeyValueIterator<String, CachedReply> it = replies.all()) {
        while (it.hasNext()) {
          var entry = it.next();
          if (now - entry.value.storedAtMs() > cacheTtl.toMillis()) {
            expired.add(entry.key);
          }
        }
      }
      expired.forEach(replies::delete);
    }

    @Override
    public void close() {
      open = false;
      if (shadows != null) {
        shadows.close();
      }
      Done d;
      while ((d = done.poll()) != null) {
        gateway.delivered();
      }
    }
  }
}
