package dev.llmstreams.specialist;

import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ScoredLabel;
import dev.llmstreams.events.Usage;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.topics.RejectedRecordException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
 */
final class Classify implements Processor<String, Object, String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(Classify.class);
  private static final long WARN_EVERY_MS = 60_000;

  /**
   * An event that arrived while no model was in service; under the input offset, so the store keeps
   * arrival order.
   */
  record Waiting(ClassificationRequest request, long arrivedAtMs, long timestamp) {}

  /** An escalation sent to the gateway and not answered yet. */
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
      long giveUpAtMs) {}

  /**
   * What an event was labelled, kept for specialist.accuracy.retention.ms to score labels that
   * arrive later.
   */
  record Recent(
      String label, Classification.Source source, String specialistLabel, String modelVersion) {}

  private final SpecialistTopology.Settings settings;
  private final CurrentModel current;
  private final SpecialistMeters meters;
  private final String replyTo;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, Waiting> waiting;
  private KeyValueStore<String, Escalation> escalations;
  private WindowStore<String, Recent> recent;
  private long waitingHere;
  private long lastWarnMs = Long.MIN_VALUE;

  Classify(
      SpecialistTopology.Settings settings,
      CurrentModel current,
      SpecialistMeters meters,
      String replyTo) {
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
        it.next();
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
      onRequest(key, request, record.timestamp());
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

  private void onRequest(String key, ClassificationRequest request, long timestamp) {
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
    if (seen(request.eventId())) {
      meters.duplicates.increment();
      return;
    }
    long now = context.currentSystemTimeMs();
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
          new Waiting(request, now, timestamp));
      waitingHere++;
      meters.waiting.incrementAndGet();
      warnWaiting(now);
      return;
    }
    label(model, request, now, timestamp, started);
  }

  /** An event already labelled or escalated: a repeat of the request gets no second label. */
  private boolean seen(String eventId) {
    if (escalations.get(eventId) != null) {
      return true;
    }
    try (WindowStoreIterator<Recent> it = recent.fetch(eventId, 0L, Long.MAX_VALUE)) {
      return it.hasNext();
    }
  }

  /**
   * Labels one event with {@code model}. {@code startedNanos} is when this thread took the event (0
   * for an event that waited: its latency then counts from its arrival).
   */
  private void label(
      TextClassifier model,
      ClassificationRequest request,
      long arrivedAtMs,
      long timestamp,
      long startedNanos) {
    long t0 = System.nanoTime();
    Prediction p = model.predict(request.text());
    meters.inference.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
    meters.confidence.record(p.confidence());
    double threshold =
        settings.threshold() != null ? settings.threshold() : model.recommendedThreshold();
    if (p.confidence() >= threshold) {
      long micros =
          startedNanos != 0
              ? (System.nanoTime() - startedNanos) / 1_000
              : (context.currentSystemTimeMs() - arrivedAtMs) * 1_000;
      emit(
          new Classification(
              request.eventId(),
              p.label(),
              p.confidence(),
              p.top(),
              model.version(),
              Classification.Source.SPECIALIST,
              Math.max(0, micros),
              null,
              null),
          p.label(),
          timestamp);
      meters.escalated(false);
      return;
    }
    escalate(model, request, p, threshold, arrivedAtMs, timestamp);
  }

  private void escalate(
      TextClassifier model,
      ClassificationRequest request,
      Prediction p,
      double threshold,
      long arrivedAtMs,
      long timestamp) {
    long now = context.currentSystemTimeMs();
    String reason = reason(p.confidence(), threshold);
    Instant deadline = Instant.ofEpochMilli(now + settings.escalationTimeoutMs());
    LlmRequest ask =
        EscalationPrompt.request(
            request.eventId(),
            request.text(),
            model.labels(),
            settings.labelDescriptions(),
            model.nearestExamples(request.text(), settings.escalationExamples()),
            replyTo,
            deadline,
            model.version());
    // With no reply by then (the gateway gives up at the deadline and says so), the specialist's
    // label stands.
    long giveUpAt = now + 2 * settings.escalationTimeoutMs();
    escalations.put(
        request.eventId(),
        new Escalation(
            request.eventId(),
            ask.requestId(),
            request.text(),
            List.copyOf(model.labels()),
            p.label(),
            p.confidence(),
            p.top(),
            model.version(),
            reason,
            arrivedAtMs,
            timestamp,
            giveUpAt));
    context.forward(
        new Record<>(request.eventId(), (Object) ask, timestamp), SpecialistTopology.SINK_REQUESTS);
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
          reply.usage(),
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
          reply.usage(),
          SpecialistMeters.FALLBACK_INVALID_ANSWER);
      return;
    }
    String label = answer.get().label();
    double confidence = answer.get().confidence() != null ? answer.get().confidence() : 1.0;
    String llm =
        (reply.provider() == null ? "llm" : reply.provider())
            + "/"
            + (reply.model() == null ? "?" : reply.model());
    emit(
        new Classification(
            e.eventId(),
            label,
            confidence,
            List.of(new ScoredLabel(label, confidence)),
            llm,
            Classification.Source.LLM,
            Math.max(0, latencyMicros),
            e.reason(),
            reply.usage()),
        e.specialistLabel(),
        e.timestamp());
    context.forward(
        new Record<>(
            e.eventId(),
            (Object)
                new LabelEvent(
                    e.eventId(),
                    e.text(),
                    label,
                    LabelEvent.Source.LLM,
                    Instant.ofEpochMilli(context.currentSystemTimeMs())),
            e.timestamp()),
        SpecialistTopology.SINK_LABELS);
  }

  /**
   * An escalation that ended without a usable answer: the event still gets a label, the
   * specialist's, with why.
   */
  private void keepSpecialistLabel(Escalation e, String why, Usage usage, String reason) {
    meters.fallbacks(reason);
    long latencyMicros = Math.max(0, (context.currentSystemTimeMs() - e.arrivedAtMs()) * 1_000);
    emit(
        new Classification(
            e.eventId(),
            e.specialistLabel(),
            e.specialistConfidence(),
            e.top(),
            e.modelVersion(),
            Classification.Source.SPECIALIST,
            latencyMicros,
            e.reason() + "; " + why + "; the specialist's label stands",
            usage),
        e.specialistLabel(),
        e.timestamp());
  }

  private void emit(Classification c, String specialistLabel, long timestamp) {
    context.forward(
        new Record<>(c.eventId(), (Object) c, timestamp), SpecialistTopology.SINK_CLASSIFICATIONS);
    recent.put(
        c.eventId(),
        new Recent(c.label(), c.source(), specialistLabel, c.modelVersion()),
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

  /** Labels every waiting event, oldest first, with the model that just arrived. */
  private void labelWaiting(TextClassifier model) {
    List<KeyValue<String, Waiting>> all = new ArrayList<>();
    try (KeyValueIterator<String, Waiting> it = waiting.all()) {
      it.forEachRemaining(all::add);
    }
    for (KeyValue<String, Waiting> w : all) {
      waiting.delete(w.key);
      waitingHere--;
      meters.waiting.decrementAndGet();
      try {
        label(model, w.value.request(), w.value.arrivedAtMs(), w.value.timestamp(), 0);
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
  }
}
