package dev.llmstreams.specialist;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.observability.tracing.SpanSink;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.prompts.Prompt;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.specialist.model.PromotionGate;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.RejectedRecordException;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The specialist: a small model labels events inline, escalates the ones it is not confident about
 * to an LLM, and learns from the answers.
 *
 * <pre>
 * specialist-models (compacted, 1 partition) ─▶ global store specialist-models ─▶ specialist.load-model
 *                                                 (every instance; decodes each new version once, swaps it in)
 * classification-requests ─┐                                      ┌▶ classifications
 * specialist.llm-replies ──┼▶ specialist.classify ────────────────┼▶ llm-requests (specialist.escalate)
 * labels ──────────────────┤   stores specialist-waiting,         ├▶ labels (the LLM's answers)
 *                          │   -escalations, -recent              └▶ spans (classify {model})
 *                          └▶ specialist.example-key ─▶ repartition labels-for-trainer (1 partition)
 *                               ─▶ specialist.train ─▶ specialist-models (a better candidate)
 *                                  stores specialist-examples, specialist-trainer
 * </pre>
 */
public final class SpecialistTopology {
  private static final Logger LOG = LoggerFactory.getLogger(SpecialistTopology.class);

  public static final String MODELS_STORE = "specialist-models";
  public static final String WAITING_STORE = "specialist-waiting";
  public static final String ESCALATIONS_STORE = "specialist-escalations";
  public static final String RECENT_STORE = "specialist-recent";
  public static final String EXAMPLES_STORE = "specialist-examples";
  public static final String TRAINER_STORE = "specialist-trainer";

  /** The repartition topic that brings every label to the one trainer task. */
  public static final String TRAINER_REPARTITION = "labels-for-trainer";

  static final String CLASSIFY = "specialist.classify";
  static final String SINK_CLASSIFICATIONS = "specialist.classifications";
  static final String SINK_REQUESTS = "specialist.request-llm";
  static final String SINK_LABELS = "specialist.llm-labels";
  static final String SINK_SPANS = "specialist.spans";

  /**
   * The specialist's settings, from {@code specialist.*} (see AppConfig), and the template of its
   * escalations (prompt {@code specialist.escalate}).
   */
  public record Settings(
      String modelName,
      Double threshold,
      int maxTextChars,
      int maxPayloadBytes,
      int escalationExamples,
      long escalationTimeoutMs,
      Map<String, String> labelDescriptions,
      long tickMs,
      Set<LabelEvent.Source> learnFrom,
      int retrainAfterLabels,
      long retrainIntervalMs,
      int holdoutPercent,
      long accuracyRetentionMs,
      String modelsTopic,
      int maxWaiting,
      int maxExamples,
      PromotionGate gate,
      Prompt escalationPrompt) {

    public static Settings from(
        AppConfig config, TopicCatalog catalog, Map<String, String> labelDescriptions) {
      return new Settings(
          config.getString(AppConfig.SPECIALIST_MODEL_NAME),
          config.getDouble(AppConfig.SPECIALIST_THRESHOLD),
          config.getInt(AppConfig.SPECIALIST_MAX_TEXT_CHARS),
          config.getInt(AppConfig.SPECIALIST_MAX_PAYLOAD_BYTES),
          config.getInt(AppConfig.SPECIALIST_ESCALATION_EXAMPLES),
          config.getLong(AppConfig.SPECIALIST_ESCALATION_TIMEOUT_MS),
          labelDescriptions,
          config.getLong(AppConfig.SPECIALIST_TICK_MS),
          learnFrom(config.getList(AppConfig.SPECIALIST_LEARN_FROM)),
          config.getInt(AppConfig.SPECIALIST_RETRAIN_AFTER_LABELS),
          config.getLong(AppConfig.SPECIALIST_RETRAIN_INTERVAL_MS),
          config.getInt(AppConfig.SPECIALIST_RETRAIN_HOLDOUT_PERCENT),
          config.getLong(AppConfig.SPECIALIST_ACCURACY_RETENTION_MS),
          catalog.topic(Topics.SPECIALIST_MODELS).name(),
          config.getInt(AppConfig.SPECIALIST_WAITING_MAX_EVENTS),
          config.getInt(AppConfig.SPECIALIST_EXAMPLES_MAX),
          new PromotionGate(
              config.getDouble(AppConfig.SPECIALIST_PROMOTION_TOLERANCE),
              config.getInt(AppConfig.SPECIALIST_PROMOTION_MIN_EXAMPLES)),
          Prompts.of(config).get(Prompts.SPECIALIST_ESCALATE));
    }

    public Settings {
      labelDescriptions = Map.copyOf(labelDescriptions);
      learnFrom = Set.copyOf(learnFrom);
    }

    /**
     * The sources of specialist.learn.from ({@code human}, {@code llm}, {@code offline-engine}).
     */
    static Set<LabelEvent.Source> learnFrom(List<String> sources) {
      return LabelEvent.Source.of(sources);
    }

    /** The threshold {@code model} is served at: the operator's, else the model's own. */
    double thresholdFor(dev.llmstreams.specialist.model.TextClassifier model) {
      return threshold != null ? threshold : model.recommendedThreshold();
    }

    /**
     * Refuses (to dead-letters, with the reason) a payload over the limit, before any work: a
     * classification carries it back and an escalation keeps it in state, and a record larger than
     * their topics take would be refused by the broker after the event was labelled (or escalated).
     */
    void requirePayload(String what, com.fasterxml.jackson.databind.JsonNode payload) {
      if (payload == null || payload.isNull()) {
        return;
      }
      int bytes;
      try {
        bytes = dev.llmstreams.events.Json.writer().writeValueAsBytes(payload).length;
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new RejectedRecordException(what + " has a payload that cannot be written as JSON");
      }
      if (bytes > maxPayloadBytes) {
        throw new RejectedRecordException(
            String.format(
                java.util.Locale.ROOT,
                "%s has a payload of %,d bytes; the limit (specialist.max.payload.bytes) is %,d:"
                    + " its classification carries the payload back",
                what,
                bytes,
                maxPayloadBytes));
      }
    }

    /**
     * Refuses (to dead-letters, with the reason) a text the model should not read: blank, or over
     * the limit.
     */
    void requireText(String what, String text) {
      if (text.isBlank()) {
        throw new RejectedRecordException(what + " has no text");
      }
      if (text.length() > maxTextChars) {
        throw new RejectedRecordException(
            String.format(
                java.util.Locale.ROOT,
                "%s has %,d characters of text; the limit (specialist.max.text.chars) is %,d",
                what,
                text.length(),
                maxTextChars));
      }
    }
  }

  private final TopicCatalog catalog;
  private final Settings settings;
  private final CurrentModel current;
  private final ModelRetrainer retrainer;
  private final Executor trainingExecutor;
  private final SpecialistMeters meters;
  private final Tracing tracing;

  /**
   * @param current the model this instance serves, shared by its threads (built from the loader by
   *     the module)
   * @param trainingExecutor where retraining runs: never a stream thread
   */
  public SpecialistTopology(
      TopicCatalog catalog,
      Settings settings,
      CurrentModel current,
      ModelRetrainer retrainer,
      Executor trainingExecutor,
      MeterRegistry registry) {
    this(
        catalog,
        settings,
        current,
        retrainer,
        trainingExecutor,
        registry,
        Tracing.off("llm-streams-specialist"));
  }

  /**
   * @param tracing a {@code classify} span per event classified (see {@link Classify})
   */
  public SpecialistTopology(
      TopicCatalog catalog,
      Settings settings,
      CurrentModel current,
      ModelRetrainer retrainer,
      Executor trainingExecutor,
      MeterRegistry registry,
      Tracing tracing) {
    this.tracing = tracing;
    this.catalog = catalog;
    this.settings = settings;
    this.current = current;
    this.retrainer = retrainer;
    this.trainingExecutor = trainingExecutor;
    this.meters = new SpecialistMeters(registry);
  }

  /**
   * What this instance serves, for {@code GET /specialist}: the model and version, the threshold,
   * the events waiting for a model and the recent escalation rate, whether signatures are required
   * and the records of the model refused (count, last one and why); with no model, what to do about
   * it.
   */
  public Map<String, Object> status() {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    var model = current.get();
    out.put("model", current.name());
    out.put("serving", model != null);
    out.put("version", model == null ? null : model.version());
    if (model instanceof dev.llmstreams.specialist.model.SpecialistClassifier c) {
      out.put("kind", c.kind().id());
      if (c.kind() == dev.llmstreams.specialist.model.ModelKind.CASCADE) {
        // The hashed stage keeps a text at or above this whatever specialist.threshold says.
        out.put("stageThreshold", c.stageThreshold());
      }
    }
    out.put(
        "threshold",
        settings.threshold() != null
            ? settings.threshold()
            : model == null ? null : model.recommendedThreshold());
    out.put("waiting", meters.waiting.get());
    double rate = meters.escalationRate();
    out.put("escalationRate", Double.isNaN(rate) ? null : rate);
    // Which stage of the model decided the last events (a cascade: how often the cheap first stage
    // was sure).
    out.put("stages", meters.recentStageShares());
    // How the model treats events of labels it never saw: its out-of-scope calibration (the share
    // it keeps of such held-out examples, or why there was none); null when trained without it.
    SpecialistModel served = current.record();
    out.put(
        "outOfScope",
        served == null || served.metrics() == null ? null : served.metrics().get("outOfScope"));
    out.put("signaturesRequired", current.trust().verifies());
    // The sources of labels the online trainer learns from (specialist.learn.from).
    out.put(
        "learnFrom", settings.learnFrom().stream().sorted().map(source -> source.id()).toList());
    Map<String, Object> refused = new java.util.LinkedHashMap<>();
    refused.put("count", current.refusedCount());
    CurrentModel.Refused last = current.lastRefused();
    if (last != null) {
      Map<String, Object> l = new java.util.LinkedHashMap<>();
      l.put("version", last.version());
      l.put("reason", last.reason());
      l.put("detail", last.detail());
      l.put("at", last.at().toString());
      refused.put("last", l);
    }
    out.put("refused", refused);
    // The promotion gate: why the model in service is there, and the last candidate it turned down.
    if (served != null && served.promotion() != null) {
      out.put("promotion", served.promotion());
    }
    SpecialistModel rejected = current.rejected();
    if (rejected != null) {
      Map<String, Object> r = new java.util.LinkedHashMap<>();
      r.put("version", rejected.version());
      r.put("promotion", rejected.promotion());
      out.put("rejected", r);
    }
    if (model == null) {
      out.put(
          "reason",
          "no model '"
              + current.name()
              + "' on topic "
              + settings.modelsTopic()
              + " yet: events wait"
              + " and are labelled once one arrives; train and publish one with `bin/llm-streams train ... --publish`");
    }
    return out;
  }

  public Topology build() {
    return build(StreamsSettings.newBuilder());
  }

  /**
   * Builds the specialist from {@code builder}, which may already hold other parts of the same
   * application.
   */
  public Topology build(StreamsBuilder builder) {
    Topic<ClassificationRequest> requests = catalog.topic(Topics.CLASSIFICATION_REQUESTS);
    Topic<LlmReply> replies = catalog.topic(Topics.SPECIALIST_LLM_REPLIES);
    Topic<LabelEvent> labels = catalog.topic(Topics.LABELS);
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    Topic<Classification> classifications = catalog.topic(Topics.CLASSIFICATIONS);
    Topic<LlmRequest> llmRequests = catalog.topic(Topics.LLM_REQUESTS);

    // Every instance reads every model; the processor also runs when the store is restored after a
    // restart.
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(MODELS_STORE), Serdes.String(), models.valueSerde())
            .withLoggingDisabled(),
        models.name(),
        Consumed.with(models.keySerde(), models.valueSerde()).withName("specialist.models"),
        LoadModel::new);

    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(EXAMPLES_STORE),
            Serdes.String(),
            JsonSerde.of(Train.Example.class)));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(TRAINER_STORE),
            Serdes.String(),
            JsonSerde.of(Train.State.class)));
    // Whatever partition a producer chose, each record reaches the task holding its event's state
    // (see KeyedInput).
    int partitions = catalog.keyPartitions(TopicCatalog.SPECIALIST_CO_PARTITIONED);
    String requestsNode =
        KeyedInput.read(
                builder,
                "specialist",
                requests,
                "specialist.classification-requests",
                partitions,
                meters.registry())
            .node();
    String repliesNode =
        KeyedInput.read(
                builder,
                "specialist",
                replies,
                "specialist.llm-replies",
                partitions,
                meters.registry())
            .node();
    KeyedInput.Placed<LabelEvent> placedLabels =
        KeyedInput.read(
            builder, "specialist", labels, "specialist.labels", partitions, meters.registry());
    // One trainer for all labels: a one-partition repartition topic, keyed by the example's
    // identity.
    placedLabels.stream()
        // A label with no value is dead-lettered once, by specialist.classify; the trainer has
        // nothing to learn from it.
        .filter((eventId, label) -> label != null, Named.as("specialist.labels-with-value"))
        .selectKey(
            (eventId, label) -> {
              // Refused here, before the repartition, so the dead letter names the labels topic and
              // the label's offset.
              settings.requireText("label '" + label.label() + "'", label.text());
              return Train.exampleKey(label.eventId(), label.text());
            },
            Named.as("specialist.example-key"))
        .repartition(
            Repartitioned.with(Serdes.String(), labels.valueSerde())
                .withName(TRAINER_REPARTITION)
                .withNumberOfPartitions(1))
        .process(
            () -> new Train(settings, current, retrainer, trainingExecutor, meters),
            Named.as("specialist.train"),
            EXAMPLES_STORE,
            TRAINER_STORE)
        .to(
            models.name(),
            Produced.with(models.keySerde(), models.valueSerde())
                .withName("specialist.publish-model"));
    Topology topology = builder.build();

    String replyTo = replies.name();
    topology.addProcessor(
        CLASSIFY,
        () -> new Classify(settings, current, meters, replyTo, tracing, SINK_SPANS),
        requestsNode,
        repliesNode,
        placedLabels.node());
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(WAITING_STORE),
            Serdes.String(),
            JsonSerde.of(Classify.Waiting.class)),
        CLASSIFY);
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(ESCALATIONS_STORE),
            Serdes.String(),
            JsonSerde.of(Classify.Escalation.class)),
        CLASSIFY);
    Duration retention = Duration.ofMillis(settings.accuracyRetentionMs());
    topology.addStateStore(
        Stores.windowStoreBuilder(
            Stores.persistentWindowStore(RECENT_STORE, retention, Duration.ofMillis(1), false),
            Serdes.String(),
            JsonSerde.of(Classify.Recent.class)),
        CLASSIFY);
    topology.addSink(
        SINK_CLASSIFICATIONS,
        classifications.name(),
        classifications.keySerde().serializer(),
        classifications.sinkSerializer(),
        CLASSIFY);
    topology.addSink(
        SINK_REQUESTS,
        llmRequests.name(),
        llmRequests.keySerde().serializer(),
        llmRequests.sinkSerializer(),
        CLASSIFY);
    topology.addSink(
        SINK_LABELS,
        labels.name(),
        labels.keySerde().serializer(),
        labels.sinkSerializer(),
        CLASSIFY);
    SpanSink.add(topology, catalog, SINK_SPANS, CLASSIFY);
    return topology;
  }

  /**
   * Keeps the latest record of every model name and serves the configured one. Runs on the global
   * thread, once per record, live and when the store is restored: a model is checked (digest,
   * signature: {@link dev.llmstreams.specialist.model.ModelTrust}) and decoded once per version,
   * never per event. A record that is refused or cannot be loaded is not stored, so the store, and
   * a restart that reads it, keep the last good version.
   */
  private final class LoadModel implements Processor<String, SpecialistModel, Void, Void> {
    private KeyValueStore<String, SpecialistModel> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(MODELS_STORE);
      SpecialistModel stored = store.get(current.name());
      if (stored != null) {
        current.offer(
            stored,
            "restored from the store"); // a no-op when the restore already loaded this version
      }
      SpecialistModel rejected = store.get(SpecialistModel.rejectedKey(current.name()));
      if (rejected != null && current.rejected() == null) {
        current.rejected(rejected);
      }
    }

    @Override
    public void process(Record<String, SpecialistModel> record) {
      String name = record.key();
      SpecialistModel model = record.value();
      if (name == null) {
        throw new RejectedRecordException("a model record needs the model name as its key");
      }
      if (model == null) {
        store.delete(name);
        if (name.equals(current.name())) {
          LOG.warn(
              "specialist: model {} was deleted from {}; the version in memory stays in service until the next",
              name,
              settings.modelsTopic());
        }
        return;
      }
      if (name.equals(SpecialistModel.rejectedKey(model.name()))) {
        // A candidate the promotion gate rejected: kept to be seen, never served.
        store.put(name, model);
        if (model.name().equals(current.name())) {
          current.rejected(model);
        }
        return;
      }
      if (!name.equals(model.name())) {
        throw new RejectedRecordException(
            "the key '"
                + name
                + "' is neither the model's name '"
                + model.name()
                + "' nor '"
                + SpecialistModel.rejectedKey(model.name())
                + "'");
      }
      if (!name.equals(current.name()) || current.offer(model, "from " + settings.modelsTopic())) {
        store.put(name, model);
      }
    }
  }
}
