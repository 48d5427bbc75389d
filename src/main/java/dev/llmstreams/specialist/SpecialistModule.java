package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.StoreQuery;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.runtime.tools.ToolWorkersTopology;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TrainedModel;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * The specialist as a pattern the runner starts: the model in service, the trainer's executor, the
 * topology.
 */
public final class SpecialistModule implements PatternModule {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(SpecialistModule.class);

  /**
   * Internal topics carry label texts up to the labels schema's 1,000,000 characters (the trainer
   * refuses longer).
   */
  static final int INTERNAL_TOPIC_MAX_BYTES = 8 * 1024 * 1024;

  private final ModelLoader loader;
  private final ModelRetrainer retrainer;
  private ExecutorService trainer;
  private CurrentModel current;
  private SpecialistTopology topology;

  /**
   * The module of this build: models of the formats {@link SpecialistModels} knows, retrained by
   * {@link ModelTrainer}.
   */
  public SpecialistModule() {
    this(SpecialistModels::load, null);
  }

  /**
   * @param retrainer null: {@link ModelTrainer} with the recipe of the model in service (or the
   *     default recipe)
   */
  public SpecialistModule(ModelLoader loader, ModelRetrainer retrainer) {
    this.loader = loader;
    this.retrainer = retrainer;
  }

  @Override
  public String name() {
    return "specialist";
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    SpecialistTopology.Settings settings =
        SpecialistTopology.Settings.from(
            config,
            catalog,
            labelDescriptions(config.getString(AppConfig.SPECIALIST_LABEL_DESCRIPTIONS)));
    // Keys are read here, at start: a key that cannot be read stops the start with the reason.
    current = new CurrentModel(settings.modelName(), loader, ModelTrust.from(config), registry);
    trainer =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "specialist-trainer");
              t.setDaemon(true);
              t.setPriority(
                  Thread.MIN_PRIORITY); // training must not starve the stream threads of CPU
              return t;
            });
    ModelRetrainer retraining = retrainer != null ? retrainer : modelTrainer(settings.modelName());
    dev.llmstreams.observability.tracing.Tracing tracing = tracing(config);
    topology =
        new SpecialistTopology(catalog, settings, current, retraining, trainer, registry, tracing);
    // The classify tool runs here, beside the model, with the tool workers' machinery (schema,
    // idempotence on callId).
    ToolWorkersTopology classify =
        new ToolWorkersTopology(
            catalog,
            ToolRegistry.load(config.getString(AppConfig.TOOLS_DIR)),
            java.util.List.of(new ClassifyTool(current)),
            registry,
            java.time.Duration.ofMillis(config.getLong(AppConfig.TOOLS_RETENTION_MS)),
            ToolWorkersTopology.workerId(config, name()));
    classify.tracing(tracing);
    org.apache.kafka.streams.StreamsBuilder builder =
        dev.llmstreams.runtime.StreamsSettings.newBuilder();
    java.util.List<String> calls = classify.readCalls(builder);
    return classify.addTo(topology.build(builder), calls);
  }

  /**
   * {@code GET /specialist}: the model this instance serves, its threshold, the events waiting for
   * a model and the recent escalation rate; 503 with the reason while there is no model.
   */
  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    StoreQuery.routeByPartition(
        http,
        streams,
        self,
        "/classifications/",
        SpecialistTopology.RECENT_STORE,
        "specialist",
        (eventId, params, partition) -> {
          ObjectNode found = classification(streams, eventId, partition);
          return found == null
              ? HttpApi.Reply.error(
                  404,
                  "no classification of this eventId: never seen, not read yet, or labelled more"
                      + " than specialist.accuracy.retention.ms ago (its record stays on"
                      + " classifications)")
              : HttpApi.Reply.json(200, found.toString());
        });
    http.route(
        "/specialist",
        (rest, query) -> {
          Map<String, Object> status = topology.status();
          return HttpApi.Reply.json(
              Boolean.TRUE.equals(status.get("serving")) ? 200 : 503,
              Json.writer().writeValueAsString(status));
        });
  }

  /**
   * {@code GET /classifications/{eventId}}: the event's label as this instance's specialist task
   * keeps it ({@code status} labelled: label, confidence, who gave it, the model's own label and
   * version, the event's time), its escalation still waiting for the LLM ({@code status} escalated:
   * the model's label and confidence, the reason), or that it waits for a model ({@code status}
   * waiting); null when none is known.
   */
  static ObjectNode classification(KafkaStreams streams, String eventId, Integer partition) {
    Classify.Recent recent = null;
    long at = 0;
    try (WindowStoreIterator<Classify.Recent> it =
        StoreQuery.store(
                streams,
                SpecialistTopology.RECENT_STORE,
                QueryableStoreTypes.<String, Classify.Recent>windowStore(),
                partition)
            .fetch(eventId, Instant.EPOCH, Instant.ofEpochMilli(Long.MAX_VALUE))) {
      while (it.hasNext()) {
        var kv = it.next();
        if (kv.value != null) {
          recent = kv.value;
          at = kv.key;
        }
      }
    }
    ObjectNode out = JsonNodeFactory.instance.objectNode().put("eventId", eventId);
    if (recent != null) {
      out.put("status", "labelled").put("label", recent.label());
      if (recent.confidence() != null) {
        out.put("confidence", recent.confidence());
      }
      out.set("source", Json.toTree(recent.source()));
      out.put("specialistLabel", recent.specialistLabel())
          .put("modelVersion", recent.modelVersion())
          .put("timestamp", Instant.ofEpochMilli(at).toString());
      return out;
    }
    Classify.Escalation e =
        StoreQuery.store(
                streams,
                SpecialistTopology.ESCALATIONS_STORE,
                QueryableStoreTypes.<String, Classify.Escalation>keyValueStore(),
                partition)
            .get(eventId);
    if (e == null) {
      return waiting(streams, eventId, partition, out);
    }
    return out.put("status", "escalated")
        .put("specialistLabel", e.specialistLabel())
        .put("specialistConfidence", e.specialistConfidence())
        .put("modelVersion", e.modelVersion())
        .put("reason", e.reason())
        .put("escalatedAt", Instant.ofEpochMilli(e.arrivedAtMs()).toString());
  }

  /**
   * The event as it waits for a model, or null. The waiting store is kept in arrival order, so this
   * reads it through (at most specialist.waiting.max.events entries, and only while no model is in
   * service).
   */
  private static ObjectNode waiting(
      KafkaStreams streams, String eventId, Integer partition, ObjectNode out) {
    try (KeyValueIterator<String, Classify.Waiting> it =
        StoreQuery.store(
                streams,
                SpecialistTopology.WAITING_STORE,
                QueryableStoreTypes.<String, Classify.Waiting>keyValueStore(),
                partition)
            .all()) {
      while (it.hasNext()) {
        var kv = it.next();
        // the key ends with the eventId; the value says whose it is (an eventId may hold a '/')
        if (kv.key.endsWith("/" + eventId)
            && kv.value != null
            && eventId.equals(kv.value.request().eventId())) {
          return out.put("status", "waiting")
              .put("reason", "no model in service (GET /specialist says why)")
              .put("since", Instant.ofEpochMilli(kv.value.arrivedAtMs()).toString());
        }
      }
    }
    return null;
  }

  /**
   * The common commit interval (commit.interval.ms, 100 ms), not the interactive one: annotation is
   * a high-volume stream, and under exactly-once a 5 ms commit carries a handful of events, so the
   * commit, not the model, would set the throughput (bench specialist measured 66 events/s that
   * way). No task idling: requests, replies and labels need no alignment by time (each is handled
   * on its own), so a task does not wait for fetches of empty partitions.
   */
  @Override
  public Map<String, Object> streamsOverrides(AppConfig config) {
    return Map.of(
        StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG),
        INTERNAL_TOPIC_MAX_BYTES,
        StreamsConfig.MAX_TASK_IDLE_MS_CONFIG,
        StreamsConfig.MAX_TASK_IDLE_MS_DISABLED);
  }

  @Override
  public void afterClose() {
    if (trainer != null) {
      trainer.shutdownNow();
      try {
        trainer.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Retrains with the recipe the model in service was trained with (its record's config), logging
   * progress.
   */
  static ModelRetrainer modelTrainer(String name) {
    return (training, current) -> {
      TrainingOptions options =
          current == null ? TrainingOptions.defaults() : TrainingOptions.fromJson(current.config());
      TrainedModel trained =
          ModelTrainer.train(
              name,
              training,
              options,
              step -> {
                // Train's warnings (a model that would escalate most events) reach the log as such.
                if (ModelTrainer.isWarning(step)) {
                  LOG.warn("specialist: retraining {}: {}", name, step);
                } else {
                  LOG.info("specialist: retraining {}: {}", name, step);
                }
              });
      return new ModelRetrainer.Candidate(trained.classifier(), trained.record());
    };
  }

  /** The model this module serves (null before {@link #topology}), for tests. */
  public CurrentModel currentModel() {
    return current;
  }

  /**
   * {@code label: description} lines of a file; blank lines and lines starting with # are skipped.
   */
  static Map<String, String> labelDescriptions(String file) {
    Map<String, String> out = new LinkedHashMap<>();
    if (file == null || file.isBlank()) {
      return out;
    }
    try {
      for (String line : Files.readAllLines(Path.of(file))) {
        String l = line.strip();
        int colon = l.indexOf(':');
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        if (colon <= 0) {
          throw new ConfigException(
              AppConfig.SPECIALIST_LABEL_DESCRIPTIONS,
              file,
              "line '" + l + "' is not 'label: description'");
        }
        out.put(l.substring(0, colon).strip(), l.substring(colon + 1).strip());
      }
    } catch (IOException e) {
      throw new ConfigException(
          AppConfig.SPECIALIST_LABEL_DESCRIPTIONS, file, "cannot read it: " + e.getMessage());
    }
    return out;
  }
}
