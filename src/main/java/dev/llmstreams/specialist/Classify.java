package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.ScoredLabel;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.TraceHeaders;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.text.TextDigest;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.RejectedRecordException;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Labels events inline with the model in service; escalates the ones below the threshold to an LLM
 * through the gateway. Requests, the gateway's replies and labels are all keyed by eventId and
 * co-partitioned, so an event's escalation and its later label meet it on this task.
 *
 * <pre>
 * request ─▶ model ─▶ confident ─▶ classifications (source specialist)
 *             │        └ not ─▶ llm-requests (specialist.escalate) ─▶ reply ─▶ classifications (source llm)
 *             │                   held in specialist-escalations          └▶ labels (the answer, to learn from)
 *             └ no model yet ─▶ specialist-waiting (arrival order) ─▶ labelled once a model arrives (tick)
 * label (by a person) ─▶ compared with the event's classification in specialist-recent (online accuracy)
 * </pre>
 *
 * <p>Each event classified has one {@code classify {model name}} span, a child of the context its
 * request carries ({@code traceparent}; none: a new trace), from its arrival to its final
 * classification: the model's label at once, or, escalated, the LLM's answer (the escalation's LLM
 * request carries the span, so the gateway's {@code chat} span is its child; the span waits in
 * {@code specialist-escalations} and is recorded with the classification). An event waiting for a
 * model keeps its span in {@code specialist-waiting}. The classification, and the LLM's label, are
 * written under the span. An escalation that ends without a usable answer (failed call, answer not
 * a label, no reply) still labels the event with the model's label; its span is marked failed with
 * the fallback reason as {@code error.type}.
 */
final class Classify implements Processor<String, Object, String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(Classify.class);
  private static final long WARN_EVERY_MS = 60_000;

  /**
   * An event that arrived while no model was in service; under the input offset, so the store keeps
   * arrival order. Its {@code classify} span starts at its arrival (null in entries stored before
   * tracing existed).
   */
  record Waiting(ClassificationRequest request, long arrivedAtMs, long timestamp, SpanRef span) {}

  /**
   * An escalation sent to the gateway and not answered yet, with the event's {@code classify} span
   * (started at its arrival, recorded with its final classification; null in escalations stored
   * before tracing existed) and the prompt it was asked with (null in escalations stored before
   * prompts were recorded) and the request's payload, which its classification carries (null when
   * it had none, and in escalations stored before payloads were passed through).
   */
  record Escalation(
      String eventId,
      String requestId,
      String text,
      List<String> labels,
      String specialistLabel,
      double specialistConfidence,
      List<ScoredLabel> top,
      String modelVersion,
      String reason,
      long arrivedAtMs,
      long timestamp,
      long giveUpAtMs,
      SpanRef span,
      PromptRef prompt,
      @JsonDeserialize(using = dev.llmstreams.events.Json.ExactTree.class) JsonNode payload) {}

  /**
   * What an event was labelled, kept for specialist.accuracy.retention.ms to score labels that
   * arrive later, to tell a repeat of the event from other text under its eventId ({@code
   * textDigest}, {@link dev.llmstreams.runtime.text.TextDigest}; null in entries stored before it),
   * and for {@code GET /classifications/{eventId}} ({@code confidence}: null in entries stored
   * before it).
   */
  record Recent(
      String label,
      Classification.Source source,
      String specialistLabel,
      String modelVersion,
      String textDigest,
      Double confidence) {}

  private final SpecialistTopology.Settings settings;
  private final CurrentModel current;
  private final SpecialistMeters meters;
  private final String replyTo;
  private final Tracing tracing;
  private final String spansSink;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, Waiting> waiting;
  private KeyValueStore<String, Escalation> escalations;
  private WindowStore<String, Recent> recent;
  private long waitingHere;

  /**
   * The eventIds waiting on this task and the digests of their texts, from the store at init: a
   * repeat of a waiting event waits no second time (it would be labelled twice once a model
   * arrives).
   */
  private final java.util.Map<String, String> waitingIds = new java.util.HashMap<>();

  // What an escalation offers the LLM, built once per model version.
  private String offerVersion;
  private Offer offer;
  private long lastWarnMs = Long.MIN_VALUE;

  /** The key {@link #keepARecentSegment} deletes: an eventId is never blank. */
  static final String NO_EVENT = "";

  /** Stream time of the last {@link #keepARecentSegment} write; none yet in this instance. */
  private long segmentKeptAt = Long.MIN_VALUE;

  Classify(
      SpecialistTopology.Settings settings,
      CurrentModel current,
      SpecialistMeters meters,
      String replyTo,
      Tracing tracing,
      String spansSink) {
    this.tracing = tracing;
    this.spansSink = spansSink;
    this.settings = settings;
    this.current = current;
    this.meters = meters;
    this.replyTo = replyTo;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.waiting = context.getStateStore(SpecialistTopology.WAITING_STORE);
    this.escalations = context.getStateStore(SpecialistTopology.ESCALATIONS_STORE);
    this.recent = context.getStateStore(SpecialistTopology.RECENT_STORE);
    try (KeyValueIterator<String, Waiting> it = waiting.all()) {
      while (it.hasNext()) {
        ClassificationRequest r = it.next().value.request();
        waitingIds.put(r.eventId(), TextDigest.of(r.text()));
        waitingHere++;
      }
    }
    meters.waiting.addAndGet(waitingHere);
    context.schedule(
        Duration.ofMillis(settings.tickMs()), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<String, Object> record) {
    String key = record.key();
    Object value = record.value();
    if (value instanceof LabelEvent label) {
      onLabel(label);
      return;
    }
    if (key == null || key.isBlank()) {
      throw new RejectedRecordException("specialist input needs the eventId as its key");
    }
    if (value instanceof ClassificationRequest request) {
      onRequest(key, request, record.timestamp(), record.headers());
    } else if (value instanceof LlmReply reply) {
      onReply(key, reply);
    } else {
      throw new RejectedRecordException(
          value == null
              ? "specialist input for event " + key + " has no value"
              : "the specialist cannot handle a " + value.getClass().getSimpleName());
    }
  }

  // ---- requests

  private void onRequest(
      String key, ClassificationRequest request, long timestamp, Headers headers) {
    long started = System.nanoTime();
    if (!key.equals(request.eventId())) {
      throw new RejectedRecordException(
          "the key '"
              + key
              + "' is not the eventId '"
              + request.eventId()
              + "'; classification requests are keyed by eventId so that the event's reply and labels meet it");
    }
    settings.requireText("event " + request.eventId(), request.text());
    settings.requirePayload("event " + request.eventId(), request.payload());
    String digest = TextDigest.of(request.text());
    String before = textSeen(request.eventId());
    if (before != null) {
      if (!before.isEmpty() && !before.equals(digest)) {
        throw new RejectedRecordException(
            "event "
                + request.eventId()
                + " was classified before with other text: a classification is per event; send the"
                + " new text under a new eventId");
      }
      meters.duplicates.increment();
      return;
    }
    long now = context.currentSystemTimeMs();
    // The event's classify span: a child of the request's context, from its arrival to its label.
    SpanRef span = tracing.start(headers, spanName(), SpanKind.INTERNAL, Tracing.nanos(now));
    TextClassifier model = current.get();
    if (model != null && waitingHere > 0) {
      labelWaiting(model); // those that came first are labelled first
    }
    if (model == null) {
      if (waitingHere >= settings.maxWaiting()) {
        throw new RejectedRecordException(
            "no model '"
                + current.name()
                + "' is in service and "
                + waitingHere
                + " events already wait for one on this task (specialist.waiting.max.events); send it again once a model"
                + " is published on "
                + settings.modelsTopic());
      }
      // In arrival order; the offset and topic keep apart two events of one millisecond, also when
      // one of them came
      // through the re-route topic, whose offsets are not those of classification-requests.
      String where =
          context
              .recordMetadata()
              .map(m -> String.format(Locale.ROOT, "%019d/%s", m.offset(), m.topic()))
              .orElse("");
      waiting.put(
          String.format(Locale.ROOT, "%019d/%s/%s", now, where, request.eventId()),
          new Waiting(request, now, timestamp, span));
      waitingIds.put(request.eventId(), digest);
      waitingHere++;
      meters.waiting.incrementAndGet();
      warnWaiting(now);
      return;
    }
    label(model, request, digest, now, timestamp, started, span);
  }

  /** The digest of an escalated event's text; null in escalations stored before it was kept. */
  private static String textDigest(Escalation e) {
    return e.text() == null ? null : TextDigest.of(e.text());
  }

  /**
   * The digest of the text of an event waiting for a model, already labelled or escalated ("" when
   * it is not known: entries stored before digests), or null for an event not seen: a repeat of the
   * request gets no second label.
   */
  private String textSeen(String eventId) {
    String waitingText = waitingIds.get(eventId);
    if (waitingText != null) {
      return waitingText;
    }
    Escalation e = escalations.get(eventId);
    if (e != null) {
      String digest = textDigest(e);
      return digest == null ? "" : digest;
    }
    try (WindowStoreIterator<Recent> it = recent.fetch(eventId, 0L, Long.MAX_VALUE)) {
      String digest = null;
      while (it.hasNext()) {
        Recent r = it.next().value;
        digest = r.textDigest() == null ? "" : r.textDigest();
      }
      return digest;
    }
  }

  /**
   * Labels one event with {@code model}. {@code textDigest} is its text's, kept with its label;
   * {@code startedNanos} is when this thread took the event (0 for an event that waited: its
   * latency then counts from its arrival).
   */
  private void label(
      TextClassifier model,
      ClassificationRequest request,
      String textDigest,
      long arrivedAtMs,
      long timestamp,
      long startedNanos,
      SpanRef span) {
    long t0 = System.nanoTime();
    Prediction p = model.predict(request.text());
    meters.inference.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
    meters.confidence.record(p.confidence());
    meters.decided(p.stage());
    double threshold = settings.thresholdFor(model);
    if (p.keptAt(threshold)) {
      long micros =
          startedNanos != 0
              ? (System.nanoTime() - startedNanos) / 1_000
              : (context.currentSystemTimeMs() - arrivedAtMs) * 1_000;
      Classification c =
          new Classification(
              request.eventId(),
              p.label(),
              p.confidence(),
              p.top(),
              model.version(),
              Classification.Source.SPECIALIST,
              Math.max(0, micros),
              null,
              null,
              null,
              null,
              request.payload());
      emit(c, p.label(), textDigest, timestamp, span);
      SpanSink.emit(
          context,
          spansSink,
          classifySpan(span, c, model.version(), false).ok().end(nowNanos()),
          timestamp);
      meters.escalated(false);
      return;
    }
    escalate(model, request, p, threshold, arrivedAtMs, timestamp, span);
  }

  /** How an escalation describes the out-of-scope label, unless the label descriptions do. */
  static final String NONE_FITS = "none of the other labels fits the text";

  /** The labels an escalation offers the LLM, and their descriptions. */
  private record Offer(List<String> choices, java.util.Map<String, String> descriptions) {}

  /**
   * The model's labels with the label descriptions, and the out-of-scope label of the model in
   * service ({@code train --out-of-scope-label}, kept in its record's recipe) when it has one: the
   * LLM may then say that no label fits, and its answer teaches the next model an out-of-scope
   * text, not a wrong label. Built once per model version.
   */
  private Offer offer(TextClassifier model) {
    if (model.version().equals(offerVersion)) {
      return offer;
    }
    var record = current.record();
    // Only the served record names the recipe; a model whose record is not (yet) that one is
    // offered its labels, and not remembered.
    boolean served = record != null && model.version().equals(record.version());
    String outOfScope = served ? TrainingOptions.outOfScopeLabelOf(record.config()) : null;
    List<String> choices = model.labels();
    java.util.Map<String, String> descriptions = settings.labelDescriptions();
    if (outOfScope != null && !choices.contains(outOfScope)) {
      List<String> withNone = new ArrayList<>(choices);
      withNone.add(outOfScope);
      choices = List.copyOf(withNone);
      if (!descriptions.containsKey(outOfScope)) {
        java.util.Map<String, String> more = new java.util.HashMap<>(descriptions);
        more.put(outOfScope, NONE_FITS);
        descriptions = java.util.Map.copyOf(more);
      }
    }
    Offer built = new Offer(choices, descriptions);
    if (served) {
      offer = built;
      offerVersion = model.version();
    }
    return built;
  }

  private void escalate(
      TextClassifier model,
      ClassificationRequest request,
      Prediction p,
      double threshold,
      long arrivedAtMs,
      long timestamp,
      SpanRef span) {
    long now = context.currentSystemTimeMs();
    String reason = reason(p.confidence(), threshold);
    Instant deadline = Instant.ofEpochMilli(now + settings.escalationTimeoutMs());
    Offer offered = offer(model);
    List<String> choices = offered.choices();
    java.util.Map<String, String> descriptions = offered.descriptions();
    LlmRequest ask =
        EscalationPrompt.request(
            request.eventId(),
            request.text(),
            choices,
            descriptions,
            model.nearestExamples(request.text(), settings.escalationExamples()),
            replyTo,
            deadline,
            model.version(),
            settings.escalationPrompt());
    // With no reply by then (the gateway gives up at the deadline and says so), the specialist's
    // label stands.
    long giveUpAt = now + 2 * settings.escalationTimeoutMs();
    escalations.put(
        request.eventId(),
        new Escalation(
            request.eventId(),
            ask.requestId(),
            request.text(),
            choices,
            p.label(),
            p.confidence(),
            p.top(),
            model.version(),
            reason,
            arrivedAtMs,
            timestamp,
            giveUpAt,
            span,
            ask.prompt(),
            request.payload()));
    // The LLM call is a child of the event's span, which ends with the final classification.
    context.forward(
        TraceHeaders.record(request.eventId(), ask, timestamp, span),
        SpecialistTopology.SINK_REQUESTS);
    meters.escalated(true);
  }

  // ---- replies

  private void onReply(String key, LlmReply reply) {
    Escalation e = escalations.get(key);
    if (e == null || !e.requestId().equals(reply.requestId())) {
      meters.ignored.increment(); // late (the event kept the specialist's label) or a repeat
      return;
    }
    escalations.delete(key);
    long latencyMicros = (context.currentSystemTimeMs() - e.arrivedAtMs()) * 1_000;
    if (reply.failed()) {
      keepSpecialistLabel(
          e,
          "the LLM call failed ("
              + reply.error().code().name().toLowerCase(Locale.ROOT)
              + ": "
              + cut(reply.error().message(), 200)
              + ")",
          reply,
          SpecialistMeters.FALLBACK_LLM_ERROR);
      return;
    }
    var answer = EscalationPrompt.parse(reply.content(), e.labels());
    if (answer.isEmpty()) {
      keepSpecialistLabel(
          e,
          "the LLM answered '"
              + cut(String.valueOf(reply.content()), 200)
              + "', which is not one of the labels",
          reply,
          SpecialistMeters.FALLBACK_INVALID_ANSWER);
      return;
    }
    String label = answer.get().label();
    double confidence = answer.get().confidence() != null ? answer.get().confidence() : 1.0;
    String llm =
        (reply.provider() == null ? "llm" : reply.provider())
            + "/"
            + (reply.model() == null ? "?" : reply.model());
    SpanRef span = escalationSpan(e);
    // The offline engine is not an LLM: its answers are named for what they are, and the trainer
    // learns from them only when specialist.learn.from says so.
    boolean offline = reply.byOfflineEngine();
    Classification c =
        new Classification(
            e.eventId(),
            label,
            confidence,
            List.of(new ScoredLabel(label, confidence)),
            llm,
            offline ? Classification.Source.OFFLINE_ENGINE : Classification.Source.LLM,
            Math.max(0, latencyMicros),
            e.reason(),
            reply.usage(),
            promptOf(e, reply),
            reply.providerModel(),
            e.payload());
    emit(c, e.specialistLabel(), textDigest(e), e.timestamp(), span);
    context.forward(
        TraceHeaders.record(
            e.eventId(),
            new LabelEvent(
                e.eventId(),
                e.text(),
                label,
                offline ? LabelEvent.Source.OFFLINE_ENGINE : LabelEvent.Source.LLM,
                Instant.ofEpochMilli(context.currentSystemTimeMs())),
            e.timestamp(),
            span),
        SpecialistTopology.SINK_LABELS);
    SpanSink.emit(
        context, spansSink, escalatedSpan(span, c, e).ok().end(nowNanos()), e.timestamp());
  }

  /**
   * The prompt of an escalation's answer: the one the gateway echoes (a cached answer's is the one
   * it was written under), else the one asked with.
   */
  private static PromptRef promptOf(Escalation e, LlmReply reply) {
    return reply != null && reply.prompt() != null ? reply.prompt() : e.prompt();
  }

  /**
   * An escalation that ended without a usable answer ({@code reply}, or null when none came): the
   * event still gets a label, the specialist's, with why.
   */
  private void keepSpecialistLabel(Escalation e, String why, LlmReply reply, String reason) {
    meters.fallbacks(reason);
    long latencyMicros = Math.max(0, (context.currentSystemTimeMs() - e.arrivedAtMs()) * 1_000);
    SpanRef span = escalationSpan(e);
    Classification c =
        new Classification(
            e.eventId(),
            e.specialistLabel(),
            e.specialistConfidence(),
            e.top(),
            e.modelVersion(),
            Classification.Source.SPECIALIST,
            latencyMicros,
            e.reason() + "; " + why + "; the specialist's label stands",
            reply == null ? null : reply.usage(),
            promptOf(e, reply),
            reply == null ? null : reply.providerModel(),
            e.payload());
    emit(c, e.specialistLabel(), textDigest(e), e.timestamp(), span);
    // Labelled all the same, but not as asked: the escalation failed, which the span says.
    SpanSink.emit(
        context,
        spansSink,
        escalatedSpan(span, c, e)
            .attr("llmstreams.classification.fallback", reason)
            .error(reason, why)
            .end(nowNanos()),
        e.timestamp());
  }

  // ---- spans

  /** {@code classify {model name}}: the model in service names it, whatever labelled the event. */
  private String spanName() {
    return "classify " + current.name();
  }

  /** The span of an escalated event; a new one for an escalation stored before tracing existed. */
  private SpanRef escalationSpan(Escalation e) {
    return e.span() != null
        ? e.span()
        : tracing.start(
            SpanContext.getInvalid(),
            spanName(),
            SpanKind.INTERNAL,
            Tracing.nanos(e.arrivedAtMs()));
  }

  /** What a classification's span says. */
  private Tracing.Builder classifySpan(
      SpanRef span, Classification c, String specialistVersion, boolean escalated) {
    return tracing
        .span(span, spanName(), SpanKind.INTERNAL)
        .attr("llmstreams.classification.event.id", c.eventId())
        .attr("llmstreams.classification.label", c.label())
        .attr("llmstreams.classification.confidence", c.confidence())
        .attr("llmstreams.classification.source", c.source().id())
        .attr("llmstreams.classification.escalated", escalated)
        .attr("llmstreams.classification.model", current.name())
        .attr("llmstreams.classification.model.version", specialistVersion)
        .attr("llmstreams.classification.latency_us", c.latencyMicros());
  }

  /** The span of an escalated event: the specialist's guess, why it was escalated, the answer. */
  private Tracing.Builder escalatedSpan(SpanRef span, Classification c, Escalation e) {
    Tracing.Builder b =
        classifySpan(span, c, e.modelVersion(), true)
            .attr("llmstreams.classification.escalation.reason", e.reason())
            .attr("llmstreams.classification.specialist.label", e.specialistLabel())
            .attr("llmstreams.classification.specialist.confidence", e.specialistConfidence())
            .attr("llmstreams.llm.request.id", e.requestId());
    if (c.source().escalated()) {
      b.attr("llmstreams.classification.llm.model", c.modelVersion());
    }
    return b;
  }

  private long nowNanos() {
    return Tracing.nanos(context.currentSystemTimeMs());
  }

  /**
   * {@code textDigest}: the event's text's, null when not known (an escalation stored before its
   * text was kept).
   */
  private void emit(
      Classification c, String specialistLabel, String textDigest, long timestamp, SpanRef span) {
    context.forward(
        TraceHeaders.record(c.eventId(), c, timestamp, span),
        SpecialistTopology.SINK_CLASSIFICATIONS);
    recent.put(
        c.eventId(),
        new Recent(
            c.label(), c.source(), specialistLabel, c.modelVersion(), textDigest, c.confidence()),
        timestamp);
    meters.predicted(c.label(), c.source());
  }

  // ---- labels

  /**
   * Online accuracy: a person's label for an event this task labelled. LLM labels are training
   * data, not truth.
   */
  private void onLabel(LabelEvent label) {
    if (label.eventId() == null || label.source() != LabelEvent.Source.HUMAN) {
      return;
    }
    Recent r = null;
    try (WindowStoreIterator<Recent> it = recent.fetch(label.eventId(), 0L, Long.MAX_VALUE)) {
      while (it.hasNext()) {
        r = it.next().value;
      }
    }
    if (r != null) {
      meters.scored(r.source(), r.label().equals(label.label()));
    }
  }

  // ---- the tick: waiting events, escalations with no reply

  private void tick(long now) {
    keepARecentSegment();
    TextClassifier model = current.get();
    if (model != null && waitingHere > 0) {
      labelWaiting(model);
    } else if (waitingHere > 0) {
      warnWaiting(now);
    }
    List<Escalation> overdue = new ArrayList<>();
    try (KeyValueIterator<String, Escalation> it = escalations.all()) {
      while (it.hasNext()) {
        Escalation e = it.next().value;
        if (now >= e.giveUpAtMs()) {
          overdue.add(e);
        }
      }
    }
    for (Escalation e : overdue) {
      escalations.delete(e.eventId());
      keepSpecialistLabel(
          e,
          "no reply from the LLM gateway within " + 2 * settings.escalationTimeoutMs() + " ms",
          null,
          SpecialistMeters.FALLBACK_NO_REPLY);
    }
  }

  /**
   * Keeps a segment of the recent-labels store open at the task's stream time. Kafka Streams (4.3
   * on, KIP-1035) keeps a store's changelog offset inside the store, and a window store keeps it in
   * its segments: one with no segment (a task that has labelled nothing yet, or whose labels all
   * expired) has no offset to report, and at the next start under exactly-once the whole task is
   * taken for corrupted, wiped and restored from its changelogs, its waiting events and escalations
   * too, on every restart. Deleting a key no event has ({@link #NO_EVENT}) creates the segment and
   * leaves no entry in it (a tombstone on the changelog): once per start, and again when stream
   * time has moved on by half the retention, so the newest such segment never expires.
   */
  private void keepARecentSegment() {
    long streamTime = Math.max(0, context.currentStreamTimeMs());
    if (segmentKeptAt != Long.MIN_VALUE
        && streamTime - segmentKeptAt < Math.max(1, settings.accuracyRetentionMs() / 2)) {
      return;
    }
    recent.put(NO_EVENT, null, streamTime);
    segmentKeptAt = streamTime;
  }

  /** Labels every waiting event, oldest first, with the model that just arrived. */
  private void labelWaiting(TextClassifier model) {
    List<KeyValue<String, Waiting>> all = new ArrayList<>();
    try (KeyValueIterator<String, Waiting> it = waiting.all()) {
      it.forEachRemaining(all::add);
    }
    for (KeyValue<String, Waiting> w : all) {
      waiting.delete(w.key);
      // Absent for the second of two entries of one event stored before repeats were told apart.
      String digest = waitingIds.remove(w.value.request().eventId());
      waitingHere--;
      meters.waiting.decrementAndGet();
      try {
        label(
            model,
            w.value.request(),
            digest != null ? digest : TextDigest.of(w.value.request().text()),
            w.value.arrivedAtMs(),
            w.value.timestamp(),
            0,
            w.value.span() != null
                ? w.value.span()
                : tracing.start(
                    SpanContext.getInvalid(),
                    spanName(),
                    SpanKind.INTERNAL,
                    Tracing.nanos(w.value.arrivedAtMs())));
      } catch (RuntimeException e) {
        // Not from a record (the tick runs this), so not dead-letterable: said loudly, and the
        // queue goes on.
        meters.failures.increment();
        LOG.error(
            "specialist: model {} version {} failed on waiting event {}; it is not labelled",
            current.name(),
            model.version(),
            w.value.request().eventId(),
            e);
      }
    }
    if (!all.isEmpty()) {
      LOG.info(
          "specialist: model {} version {} arrived; labelled the {} events that waited for it",
          current.name(),
          model.version(),
          all.size());
    }
  }

  private void warnWaiting(long now) {
    if (lastWarnMs != Long.MIN_VALUE && now - lastWarnMs < WARN_EVERY_MS) {
      return;
    }
    lastWarnMs = now;
    LOG.warn(
        "specialist: no model '{}' on topic {} yet, so nothing is labelled: {} events wait on this task (in"
            + " arrival order) and are labelled as soon as one arrives. Train and publish one with"
            + " `bin/llm-streams train ... --publish` (or set specialist.model.name to a model that is there).",
        current.name(),
        settings.modelsTopic(),
        waitingHere);
  }

  /** "confidence 0.41 < 0.70", with more digits when two would show the numbers equal. */
  static String reason(double confidence, double threshold) {
    for (int digits = 2; ; digits += 2) {
      String c = String.format(Locale.ROOT, "%." + digits + "f", confidence);
      String t = String.format(Locale.ROOT, "%." + digits + "f", threshold);
      if (!c.equals(t) || digits >= 8) {
        return "confidence " + c + " < " + t;
      }
    }
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }

  @Override
  public void close() {
    meters.waiting.addAndGet(-waitingHere);
    waitingHere = 0;
    waitingIds.clear();
  }
}
