package dev.llmstreams.specialist;

import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.TextClassifier;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
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

  private final String name;
  private final ModelLoader loader;
  private final MeterRegistry registry;
  private final AtomicReference<TextClassifier> model = new AtomicReference<>();
  private final AtomicReference<SpecialistModel> record = new AtomicReference<>();
  private Gauge info;

  public CurrentModel(String name, ModelLoader loader, MeterRegistry registry) {
    this.name = name;
    this.loader = loader;
    this.registry = registry;
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
   * Loads {@code candidate} and serves it, unless it is another model's, the version in service, or
   * cannot be loaded (then it is logged and the model in service stays). True when it is now
   * served.
   */
  synchronized boolean offer(SpecialistModel candidate, String origin) {
    if (candidate == null || !name.equals(candidate.name())) {
      return false;
    }
    TextClassifier serving = model.get();
    if (serving != null && serving.version().equals(candidate.version())) {
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
      LOG.warn(
          "specialist: ignored model {} version {} ({}, format {}): {}; {}",
          candidate.name(),
          candidate.version(),
          origin,
          candidate.format(),
          e.getMessage(),
          serving == null
              ? "still no model in service"
              : "version " + serving.version() + " stays in service");
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
        "specialist: serving model {} version {} ({}; {} labels, recommended threshold {}){}",
        name,
        loaded.version(),
        origin,
        loaded.labels().size(),
        loaded.recommendedThreshold(),
        serving == null ? "" : " instead of " + serving.version());
    return true;
  }

  private void loads(String outcome) {
    Counter.builder("llmstreams.specialist.model.loads")
        .description("Model records read, by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }
}
