package dev.llmstreams.specialist;

import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.specialist.model.TextClassifier;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model this instance serves, shared by its stream threads. Only the global thread swaps it,
 * once per new version of the configured name; an event reads it once, so its label and the version
 * it names come from the same model.
 */
public final class CurrentModel {
  private static final Logger LOG = LoggerFactory.getLogger(CurrentModel.class);

  /**
   * The reason tag of a record the loader could not turn into a model (see {@link ModelLoader}).
   */
  static final String UNLOADABLE = "unloadable";

  /** The last record refused, for {@code GET /specialist}. */
  record Refused(String version, String reason, String detail, Instant at) {}

  private final String name;
  private final ModelLoader loader;
  private final ModelTrust trust;
  private final MeterRegistry registry;
  private final AtomicReference<TextClassifier> model = new AtomicReference<>();
  private final AtomicReference<SpecialistModel> record = new AtomicReference<>();
  private final AtomicReference<Refused> lastRefused = new AtomicReference<>();
  private final AtomicReference<SpecialistModel> rejected = new AtomicReference<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();
  private Gauge info;

  /** Serves any model whose digest, when it has one, matches (no signatures required). */
  public CurrentModel(String name, ModelLoader loader, MeterRegistry registry) {
    this(name, loader, ModelTrust.off(), registry);
  }

  /**
   * @param trust which records may be served (digest, signature), and how the in-app trainer seals
   *     the ones it publishes
   */
  public CurrentModel(String name, ModelLoader loader, ModelTrust trust, MeterRegistry registry) {
    this.name = name;
    this.loader = loader;
    this.trust = trust;
    this.registry = registry;
    // Every reason starts at 0, so an alert on the rate works before the first refusal.
    for (String reason : ModelTrust.REASONS) {
      refusedCounter(reason);
    }
    refusedCounter(UNLOADABLE);
    for (String score : new String[] {"accuracy", "kept_accuracy", "coverage"}) {
      promotionGauge("in_service", score, record);
      promotionGauge("rejected", score, rejected);
    }
  }

  public String name() {
    return name;
  }

  /** The model in service, or null while none has been published. */
  public TextClassifier get() {
    return model.get();
  }

  /** The record the model in service was loaded from (artifact included), or null. */
  SpecialistModel record() {
    return record.get();
  }

  /**
   * The last candidate the promotion gate rejected (the record under {@code <name>/rejected}), or
   * null.
   */
  SpecialistModel rejected() {
    return rejected.get();
  }

  /** Records the candidate rejected by the promotion gate: shown, never served. */
  void rejected(SpecialistModel candidate) {
    rejected.set(candidate);
    if (candidate != null) {
      LOG.info(
          "specialist: candidate {} {} was rejected by the promotion gate: {}",
          candidate.name(),
          candidate.version(),
          candidate.promotion() == null ? "(no reason recorded)" : candidate.promotion().reason());
    }
  }

  /** Which records may be served, and how this instance seals the ones it publishes. */
  ModelTrust trust() {
    return trust;
  }

  /** Records of this model refused since start (the refusal counters' sum). */
  long refusedCount() {
    return (long) refused.values().stream().mapToDouble(Counter::count).sum();
  }

  /** The last record of this model refused, or null. */
  Refused lastRefused() {
    return lastRefused.get();
  }

  /**
   * Checks {@code candidate} (digest, signature: see {@link ModelTrust}), loads it and serves it,
   * unless it is another model's, the version in service, or is refused (then it is logged and
   * counted, and the model in service stays). True when it is now served.
   */
  synchronized boolean offer(SpecialistModel candidate, String origin) {
    if (candidate == null || !name.equals(candidate.name())) {
      return false;
    }
    TextClassifier serving = model.get();
    // Checked before anything else, even for the version in service: a tampered copy of it must
    // not replace the good record in the store, which a restart reads.
    Optional<ModelTrust.Refusal> refusal = trust.check(candidate);
    if (refusal.isPresent()) {
      refuse(candidate, origin, refusal.get().reason(), refusal.get().detail(), serving);
      return false;
    }
    if (serving != null && serving.version().equals(candidate.version())) {
      record.set(candidate); // the same model, perhaps signed again (a key rotation)
      return true;
    }
    TextClassifier loaded;
    try {
      loaded = loader.load(candidate);
      if (!name.equals(loaded.name()) || !candidate.version().equals(loaded.version())) {
        throw new IllegalArgumentException(
            "the artifact holds model "
                + loaded.name()
                + " "
                + loaded.version()
                + ", the record says "
                + candidate.name()
                + " "
                + candidate.version());
      }
      if (loaded.labels().isEmpty()) {
        throw new IllegalArgumentException("the model has no labels");
      }
    } catch (RuntimeException e) {
      loads("rejected");
      refuse(candidate, origin, UNLOADABLE, e.getMessage(), serving);
      return false;
    }
    model.set(loaded);
    record.set(candidate);
    loads("loaded");
    if (info != null) {
      registry.remove(info);
    }
    info =
        Gauge.builder("llmstreams.specialist.model", () -> 1)
            .description(
                "The specialist model in service on this instance (value 1, name and version as tags)")
            .tags("name", name, "version", loaded.version())
            .register(registry);
    LOG.info(
        "specialist: serving model {} version {} ({}; {}; {} labels, recommended threshold {}){}",
        name,
        loaded.version(),
        origin,
        candidate.signature() != null && trust.verifies()
            ? "signed by " + candidate.keyId()
            : candidate.digest() != null ? "digest " + candidate.digest() : "no digest",
        loaded.labels().size(),
        loaded.recommendedThreshold(),
        serving == null ? "" : " instead of " + serving.version());
    return true;
  }

  private void refuse(
      SpecialistModel candidate,
      String origin,
      String reason,
      String detail,
      TextClassifier serving) {
    refusedCounter(reason).increment();
    lastRefused.set(new Refused(candidate.version(), reason, detail, Instant.now()));
    LOG.warn(
        "specialist: refused model {} version {} ({}, format {}): {}: {}; {}",
        candidate.name(),
        candidate.version(),
        origin,
        candidate.format(),
        reason,
        detail,
        serving == null
            ? "still no model in service"
            : "version " + serving.version() + " stays in service");
  }

  /**
   * The promotion gate's score of the model in service (the candidate side of the decision that put
   * it there) or of the last rejected candidate; NaN when there is no such decision.
   */
  private void promotionGauge(String model, String score, AtomicReference<SpecialistModel> from) {
    Gauge.builder(
            "llmstreams.specialist.promotion.score",
            from,
            r -> {
              SpecialistModel m = r.get();
              if (m == null || m.promotion() == null || m.promotion().candidate() == null) {
                return Double.NaN;
              }
              var s = m.promotion().candidate();
              return switch (score) {
                case "accuracy" -> s.accuracy();
                case "coverage" -> s.coverage();
                default -> s.keptAccuracy() == null ? Double.NaN : s.keptAccuracy();
              };
            })
        .description(
            "The promotion gate's scores (on recent labelled events the model never trained on) of the"
                + " model in service and of the last candidate it rejected")
        .tag("model", model)
        .tag("score", score)
        .register(registry);
  }

  private Counter refusedCounter(String reason) {
    return refused.computeIfAbsent(
        reason,
        r ->
            Counter.builder("llmstreams.specialist.models.refused")
                .description(
                    "Model records of the served name not served, by reason: digest_mismatch, unsigned,"
                        + " unknown_key, bad_signature, malformed (see ModelTrust), unloadable (the loader"
                        + " refused it)")
                .tag("reason", r)
                .register(registry));
  }

  private void loads(String outcome) {
    Counter.builder("llmstreams.specialist.model.loads")
        .description("Model records read, by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }
}
