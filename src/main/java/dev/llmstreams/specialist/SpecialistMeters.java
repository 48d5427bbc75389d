package dev.llmstreams.specialist;

import dev.llmstreams.events.Classification;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The specialist's meters, under {@code llmstreams.specialist.}; one set per instance, shared by
 * its tasks.
 */
final class SpecialistMeters {
  /** Escalation rate and online accuracy are shares of the last this many events or labels. */
  static final int RECENT = 1_000;

  /**
   * Why an escalation kept the model's label ({@link #fallbacks}): the LLM call failed, its answer,
   * no reply.
   */
  static final String FALLBACK_LLM_ERROR = "llm_error";

  static final String FALLBACK_INVALID_ANSWER = "invalid_answer";
  static final String FALLBACK_NO_REPLY = "no_reply";

  /** The outcomes of a retraining, as {@link Train} reports them. */
  static final java.util.List<String> RETRAIN_OUTCOMES =
      java.util.List.of("published", "rejected", "failed");

  private final MeterRegistry registry;
  final AtomicLong waiting = new AtomicLong();
  final Timer inference;
  final DistributionSummary confidence;
  private final java.util.Map<String, Counter> stages =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final RecentStages recentStages = new RecentStages(RECENT);
  final Counter escalations;
  final Counter duplicates;
  final Counter ignored;
  final Counter failures;
  private final java.util.Map<Classification.Source, java.util.Map<String, Counter>> predictions =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final RecentShare escalationShare = new RecentShare(RECENT);
  private final RecentShare accuracy = new RecentShare(RECENT);

  MeterRegistry registry() {
    return registry;
  }

  SpecialistMeters(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder("llmstreams.specialist.waiting", waiting, AtomicLong::get)
        .description(
            "Events waiting for a model (none is in service yet); labelled in arrival order once one arrives")
        .register(registry);
    inference =
        Timer.builder("llmstreams.specialist.inference")
            .description("Time the model takes to label one event")
            .publishPercentileHistogram()
            .minimumExpectedValue(java.time.Duration.ofNanos(10_000))
            .maximumExpectedValue(java.time.Duration.ofSeconds(5))
            .register(registry);
    confidence =
        DistributionSummary.builder("llmstreams.specialist.confidence")
            .description("Calibrated confidence of the model's label, for every event it labelled")
            .serviceLevelObjectives(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
            .register(registry);
    // Every outcome starts at 0, so the dashboard and alerts see the series before the first.
    for (String outcome : new String[] {"published", "rejected", "failed"}) {
      retrains(outcome);
    }
    escalations =
        Counter.builder("llmstreams.specialist.escalations")
            .description(
                "Events sent to an LLM because the model's confidence was below the threshold")
            .register(registry);
    duplicates =
        Counter.builder("llmstreams.specialist.duplicates")
            .description("Requests for an event already labelled or escalated; ignored")
            .register(registry);
    ignored =
        Counter.builder("llmstreams.specialist.replies.ignored")
            .description(
                "LLM replies for no pending escalation (late, after the specialist's label stood, or repeated)")
            .register(registry);
    failures =
        Counter.builder("llmstreams.specialist.failures")
            .description(
                "Waiting events the model failed on when they were labelled from the tick (logged with the id)")
            .register(registry);
    Gauge.builder("llmstreams.specialist.escalation.rate", escalationShare, RecentShare::share)
        .description(
            "Share of the last "
                + RECENT
                + " events labelled by the model that were escalated to an LLM")
        .register(registry);
    Gauge.builder("llmstreams.specialist.online.accuracy", accuracy, RecentShare::share)
        .description(
            "Share of the last "
                + RECENT
                + " labels from people that agreed with the event's classification")
        .register(registry);
    // Series with a fixed set of tags start at 0, so rates and alerts on them work before the first
    // event.
    for (String reason :
        java.util.List.of(FALLBACK_LLM_ERROR, FALLBACK_INVALID_ANSWER, FALLBACK_NO_REPLY)) {
      fallbackCounter(reason);
    }
    for (Classification.Source source : Classification.Source.values()) {
      for (boolean correct : new boolean[] {true, false}) {
        onlineLabels(source, correct);
      }
    }
    RETRAIN_OUTCOMES.forEach(this::retrains);
    for (dev.llmstreams.events.LabelEvent.Source source :
        dev.llmstreams.events.LabelEvent.Source.values()) {
      notLearned(source);
    }
    // The shared sentence encoders' caches of exact vectors (a text embedded again, e.g. for the
    // nearest examples of an escalation, is a hit).
    for (dev.llmstreams.runtime.text.EncoderModel e :
        dev.llmstreams.runtime.text.EncoderModel.values()) {
      dev.llmstreams.runtime.text.SentenceEncoder encoder =
          dev.llmstreams.specialist.model.SpecialistModels.sharedEncoder(e);
      for (boolean hit : new boolean[] {true, false}) {
        io.micrometer.core.instrument.FunctionCounter.builder(
                "llmstreams.specialist.embedding.cache.lookups",
                encoder,
                hit
                    ? dev.llmstreams.runtime.text.SentenceEncoder::cacheHits
                    : dev.llmstreams.runtime.text.SentenceEncoder::cacheMisses)
            .description(
                "Texts the shared sentence encoder embedded one at a time, by whether its cache of exact vectors"
                    + " held the text")
            .tag("encoder", e.id())
            .tag("result", hit ? "hit" : "miss")
            .register(registry);
      }
    }
  }

  /**
   * Once per event the model labels: which of its stages decided (a cascade's cheap first stage or
   * its ensemble; a one-stage model's kind).
   */
  void decided(String stage) {
    String s = stage == null ? "model" : stage;
    stages
        .computeIfAbsent(
            s,
            k ->
                Counter.builder("llmstreams.specialist.stage.decisions")
                    .description(
                        "Events labelled by the model, by the stage that decided (a cascade's hashed first stage or its"
                            + " ensemble; a one-stage model's kind), escalated or not")
                    .tag("stage", k)
                    .register(registry))
        .increment();
    recentStages.add(s);
  }

  /** Share of the last events the model labelled that each stage decided. */
  java.util.Map<String, Double> recentStageShares() {
    return recentStages.shares();
  }

  void escalated(boolean escalated) {
    escalationShare.add(escalated);
    if (escalated) {
      escalations.increment();
    }
  }

  double escalationRate() {
    return escalationShare.share();
  }

  /**
   * Once per event: the counter of each (label, source) is built once, not looked up through the
   * registry each time.
   */
  void predicted(String label, Classification.Source source) {
    predictions
        .computeIfAbsent(source, k -> new java.util.concurrent.ConcurrentHashMap<>())
        .computeIfAbsent(
            label,
            l ->
                Counter.builder("llmstreams.specialist.predictions")
                    .description("Events labelled, by label and by who labelled")
                    .tags("label", l, "source", source.id())
                    .register(registry))
        .increment();
  }

  void fallbacks(String reason) {
    fallbackCounter(reason).increment();
  }

  private Counter fallbackCounter(String reason) {
    return Counter.builder("llmstreams.specialist.escalation.fallbacks")
        .description(
            "Escalations that kept the model's label: LLM error, an answer not among the labels, no reply")
        .tag("reason", reason)
        .register(registry);
  }

  void scored(Classification.Source source, boolean correct) {
    accuracy.add(correct);
    onlineLabels(source, correct).increment();
  }

  private Counter onlineLabels(Classification.Source source, boolean correct) {
    return Counter.builder("llmstreams.specialist.online.labels")
        .description(
            "People's labels compared with the event's classification, by who classified it and outcome")
        .tags("source", source.id(), "outcome", correct ? "correct" : "wrong")
        .register(registry);
  }

  void retrained(String outcome) {
    retrains(outcome).increment();
  }

  private Counter retrains(String outcome) {
    return Counter.builder("llmstreams.specialist.retrains")
        .description(
            "Retrainings, by outcome: published (the promotion gate let the candidate in), rejected"
                + " (worse, or too few held-out labels to tell), failed")
        .tag("outcome", outcome)
        .register(registry);
  }

  /** The share of true among the last {@code size} values; NaN before the first. */
  /** The stages that decided the last events, as shares. */
  static final class RecentStages {
    private final String[] ring;
    private int next;
    private int count;

    RecentStages(int size) {
      ring = new String[size];
    }

    synchronized void add(String stage) {
      ring[next] = stage;
      next = (next + 1) % ring.length;
      count = Math.min(ring.length, count + 1);
    }

    synchronized java.util.Map<String, Double> shares() {
      java.util.Map<String, Double> out = new java.util.TreeMap<>();
      for (int i = 0; i < count; i++) {
        out.merge(ring[i], 1.0 / count, Double::sum);
      }
      return out;
    }
  }

  static final class RecentShare {
    private final boolean[] ring;
    private int next;
    private int count;
    private int trues;

    RecentShare(int size) {
      ring = new boolean[size];
    }

    synchronized void add(boolean value) {
      if (count == ring.length) {
        trues -= ring[next] ? 1 : 0;
      } else {
        count++;
      }
      ring[next] = value;
      trues += value ? 1 : 0;
      next = (next + 1) % ring.length;
    }

    synchronized double share() {
      return count == 0 ? Double.NaN : (double) trues / count;
    }
  }

  /** A label the trainer left out: its source is not in specialist.learn.from. */
  Counter notLearned(dev.llmstreams.events.LabelEvent.Source source) {
    return Counter.builder("llmstreams.specialist.labels.not.learned")
        .description(
            "Labels the online trainer did not learn from, because specialist.learn.from leaves"
                + " their source out")
        .tag("source", source.id())
        .register(registry);
  }
}
