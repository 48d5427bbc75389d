package dev.llmstreams.app;

import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.specialist.ClassificationReplay;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Re-run a slice of recorded traffic under a candidate and compare it with what was "
          + "recorded, never touching the production outputs: the candidate's answers go to "
          + "run-scoped topics (<topics.prefix>replay.<run>.<topic>) and a report (JSON, and Markdown "
          + "with --markdown)."
    },
    subcommands = {
      ReplayCommand.Classifications.class,
      ReplayDocuments.class,
      ReplayGoals.class,
      ReplayDelete.class
    })
final class ReplayCommand implements Runnable {
  @ParentCommand Main main;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        new picocli.CommandLine(this),
        "name what to replay (classifications, documents or goals), or delete runs");
  }

  /** The time range of a slice: {@code --from} and {@code --to}. */
  static final class Range {
    @Option(
        names = "--from",
        paramLabel = "TIME",
        description =
            "Inputs recorded at or after this: an instant (2026-12-05T10:00:00Z) or a duration back from now (PT1H)."
                + " Default: the beginning of the topic.")
    String from;

    @Option(
        names = "--to",
        paramLabel = "TIME",
        description = "Inputs recorded at or before this (same forms). Default: now.")
    String to;

    Instant from(Instant now) {
      return time("--from", from, now);
    }

    Instant to(Instant now) {
      return to == null ? now : time("--to", to, now);
    }
  }

  /**
   * The content-addressed reply cache every replay run shares: {@code <prefix>replay.reply-cache}.
   */
  static String replyCacheTopic(AppConfig config) {
    return config.getString(AppConfig.TOPICS_PREFIX) + "replay.reply-cache";
  }

  /**
   * The reply cache's topic: compacted (one reply per question), one partition (every instance
   * reads all of it), values shaped like the LLM replies.
   */
  static TopicSpec replyCacheSpec(AppConfig config, TopicCatalog catalog) {
    TopicSpec replies = catalog.spec(TopicRole.SUMMARIZER_LLM_REPLIES);
    return new TopicSpec(
        replyCacheTopic(config),
        TopicRole.SUMMARIZER_LLM_REPLIES,
        null,
        1,
        replies.replicationFactor(),
        Map.of("cleanup.policy", "compact"),
        "sha256: and the hex SHA-256 of what was asked (see llm.reply.cache.topic)",
        null,
        replies.valueSchema(),
        replies.valueType(),
        "Replies of replay runs by what was asked, so a second replay of a slice costs no provider call.");
  }

  /**
   * A run's id and the candidate of {@code replay documents} and {@code replay goals}: route,
   * model, prompts and other settings of the pattern replayed.
   */
  static final class Run {
    @Option(
        names = "--run",
        description =
            "The run's id, part of its topics' names (default: the time, base 36). A run is written once.")
    String run;

    @Option(
        names = "--route",
        paramLabel = "PROVIDER",
        description =
            "The candidate's provider (llm.route.controller for goals, llm.route.summarizer for documents).")
    String route;

    @Option(
        names = "--model",
        paramLabel = "NAME",
        description =
            "The candidate's model (llm.<provider>.model of the provider the pattern is routed to).")
    String model;

    @Option(
        names = "--prompts",
        paramLabel = "DIR",
        description = "The candidate's prompts folder (prompts.dir).")
    Path prompts;

    @Option(
        names = "--set",
        paramLabel = "KEY=VALUE",
        description =
            "A setting of the candidate: llm.*, controller.*, summarizer.*, prompts.dir or tools.synthesis.url"
                + " (e.g. llm.openai.base.url=http://127.0.0.1:8000/v1). Repeatable.")
    Map<String, String> set = new LinkedHashMap<>();

    /** The run's configuration (see {@link ReplayCommand#runConfig}) for {@code purpose}. */
    AppConfig config(
        AppConfig config, String runId, Path state, String purpose, Map<String, String> candidate) {
      return runConfig(config, runId, state, purpose, route, model, prompts, set, candidate);
    }
  }

  /** Where the candidate comes from. */
  static final class Candidate {
    @Option(names = "--model", paramLabel = "DIR", description = "A saved model (train --out DIR).")
    Path dir;

    @Option(
        names = "--rejected",
        description =
            "The last candidate the promotion gate rejected (<specialist.model.name>/rejected on specialist-models).")
    boolean rejected;
  }

  @Command(
      name = "classifications",
      mixinStandardHelpOptions = true,
      description = {
        "A candidate specialist model labels recorded classification requests beside the labels "
            + "they were given in service, and both are scored against people's later labels where "
            + "there are some. The candidate never calls an LLM: an event below its threshold is "
            + "counted as one it would escalate. Its labels go to "
            + "<topics.prefix>replay.<run>.classifications, in one transaction."
      })
  static final class Classifications implements Callable<Integer> {
    @ParentCommand ReplayCommand replay;

    @ArgGroup(multiplicity = "1")
    Candidate candidate;

    @picocli.CommandLine.Mixin Range range;

    @Option(
        names = "--ids",
        split = ",",
        paramLabel = "EVENT_ID",
        description = "Only these events (the requests' keys).")
    List<String> ids;

    @Option(
        names = "--limit",
        defaultValue = "100000",
        description = "At most this many requests, the oldest first (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(
        names = "--run",
        description =
            "The run's id, part of its topic's name (default: the time, base 36). A run's topic is written once.")
    String run;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the report (totals and every item) here.")
    Path json;

    @Option(
        names = "--markdown",
        paramLabel = "FILE",
        description =
            "Write the totals and the first --rows disagreements as a Markdown table here.")
    Path markdown;

    @Option(
        names = "--rows",
        defaultValue = "20",
        description = "Disagreements in the Markdown table (default ${DEFAULT-VALUE}).")
    int rows;

    @Override
    public Integer call() throws Exception {
      Main main = replay.main;
      AppConfig config = main.config();
      TopicCatalog catalog = main.catalog();
      Progress progress = new Progress(System.err, "replay");
      Instant now = Instant.now();
      Instant fromTime = range.from(now);
      Instant toTime = range.to(now);
      String runId = runId(run, now);
      TextClassifier model;
      try (KafkaConsumer<byte[], byte[]> consumer =
          Clients.committedReader(config, "llm-streams-replay-")) {
        model = candidate(config, catalog, consumer);
        Double configured = config.getDouble(AppConfig.SPECIALIST_THRESHOLD);
        double threshold = configured != null ? configured : model.recommendedThreshold();
        progress.say(
            "candidate %s %s at threshold %.4f; reading requests recorded from %s to %s",
            model.name(),
            model.version(),
            threshold,
            fromTime == null ? "the beginning" : fromTime,
            toTime);
        int[] unreadable = {0};
        Map<String, ClassificationRequest> requests =
            requests(consumer, catalog, fromTime, toTime, unreadable);
        Map<String, Classification> recorded =
            classifications(consumer, catalog, fromTime, requests);
        Map<String, String> human = humanLabels(consumer, catalog, fromTime, requests);
        List<ClassificationReplay.Recorded> slice = new ArrayList<>();
        requests.forEach(
            (id, r) ->
                slice.add(
                    new ClassificationReplay.Recorded(
                        id, r.text(), recorded.get(id), human.get(id))));
        progress.say(
            "%,d requests (%,d with a recorded label, %,d with a person's label); labelling them",
            slice.size(), recorded.size(), human.size());
        ClassificationReplay.Report report =
            ClassificationReplay.run(model, threshold, slice, unreadable[0]);
        String topic = write(config, catalog, runId, report, progress);
        var out = report.toJson();
        out.put("run", runId);
        out.put("topic", topic);
        if (markdown != null) {
          Files.writeString(markdown, report.toMarkdown(rows));
          progress.say("Markdown report written to %s", markdown);
        }
        if (json == null) {
          out.remove("items"); // the console shows the totals; --json keeps every item
        }
        BenchCommand.report(out, json);
        return 0;
      }
    }

    private TextClassifier candidate(
        AppConfig config, TopicCatalog catalog, KafkaConsumer<byte[], byte[]> consumer) {
      if (candidate.dir != null) {
        try {
          return SpecialistModels.load(candidate.dir);
        } catch (RuntimeException e) {
          throw new Main.UserError("--model " + candidate.dir + ": " + e.getMessage());
        }
      }
      String key = SpecialistModel.rejectedKey(config.getString(AppConfig.SPECIALIST_MODEL_NAME));
      SpecialistModel rejected = PromotionCheck.latestModel(consumer, catalog, key);
      if (rejected == null) {
        throw new Main.UserError(
            "no rejected candidate under "
                + key
                + " on "
                + catalog.topic(Topics.SPECIALIST_MODELS).name());
      }
      return SpecialistModels.load(rejected);
    }

    /** The requests of the slice, one per event (the first recorded), oldest first. */
    private Map<String, ClassificationRequest> requests(
        KafkaConsumer<byte[], byte[]> consumer,
        TopicCatalog catalog,
        Instant fromTime,
        Instant toTime,
        int[] unreadable) {
      Topic<ClassificationRequest> topic = catalog.topic(Topics.CLASSIFICATION_REQUESTS);
      Set<String> only = ids == null ? null : new HashSet<>(ids);
      Map<String, ClassificationRequest> out = new LinkedHashMap<>();
      List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records =
          new ArrayList<>();
      TopicReads.since(
          consumer,
          topic.name(),
          fromTime,
          r -> {
            if (r.timestamp() <= toTime.toEpochMilli()) {
              records.add(r);
            }
          });
      records.sort(
          java.util.Comparator.comparingLong(
                  org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>::timestamp)
              .thenComparingInt(r -> r.partition())
              .thenComparingLong(r -> r.offset()));
      for (var r : records) {
        if (out.size() >= limit) {
          break;
        }
        ClassificationRequest request;
        try {
          request = topic.valueSerde().deserializer().deserialize(topic.name(), r.value());
        } catch (RuntimeException e) {
          unreadable[0]++; // the specialist dead-lettered it; nothing to replay
          continue;
        }
        if (request == null || (only != null && !only.contains(request.eventId()))) {
          continue;
        }
        out.putIfAbsent(request.eventId(), request);
      }
      return out;
    }

    /** The first classification recorded for each event of the slice. */
    private static Map<String, Classification> classifications(
        KafkaConsumer<byte[], byte[]> consumer,
        TopicCatalog catalog,
        Instant fromTime,
        Map<String, ClassificationRequest> slice) {
      Map<String, Classification> out = new HashMap<>();
      eachSince(
          consumer,
          catalog.topic(Topics.CLASSIFICATIONS),
          fromTime,
          c -> {
            if (slice.containsKey(c.eventId())) {
              out.putIfAbsent(c.eventId(), c);
            }
          });
      return out;
    }

    /** The last label a person gave each event of the slice. */
    private static Map<String, String> humanLabels(
        KafkaConsumer<byte[], byte[]> consumer,
        TopicCatalog catalog,
        Instant fromTime,
        Map<String, ClassificationRequest> slice) {
      Map<String, String> out = new HashMap<>();
      eachSince(
          consumer,
          catalog.topic(Topics.LABELS),
          fromTime,
          l -> {
            if (l.source() == LabelEvent.Source.HUMAN
                && l.eventId() != null
                && slice.containsKey(l.eventId())) {
              out.put(l.eventId(), l.label());
            }
          });
      return out;
    }

    /**
     * Creates the run's topic, shaped like classifications, and writes the candidate's labels to it
     * in one transaction; refuses a run whose topic already holds records.
     */
    private static String write(
        AppConfig config,
        TopicCatalog catalog,
        String runId,
        ClassificationReplay.Report report,
        Progress progress)
        throws Exception {
      TopicSpec base = catalog.spec(TopicRole.CLASSIFICATIONS);
      String name =
          config.getString(AppConfig.TOPICS_PREFIX) + "replay." + runId + ".classifications";
      try (Admin admin = Clients.admin(config)) {
        new TopicAdmin(admin, config.getShort(AppConfig.TOPICS_REPLICATION_FACTOR))
            .apply(List.of(base.withName(name)), false);
      }
      refuseWritten(config, runId, name);
      Topic<Classification> classifications = catalog.topic(Topics.CLASSIFICATIONS);
      try (KafkaProducer<byte[], byte[]> producer =
          Clients.transactionalProducer(
              config, config.getString(AppConfig.APPLICATION_ID) + "-replay-" + runId)) {
        producer.initTransactions();
        producer.beginTransaction();
        for (ClassificationReplay.Item item : report.items()) {
          Classification c =
              ClassificationReplay.asClassification(
                  item, report.candidateVersion(), report.threshold());
          producer.send(
              new ProducerRecord<>(
                  name,
                  c.eventId().getBytes(StandardCharsets.UTF_8),
                  classifications.valueSerde().serializer().serialize(name, c)));
        }
        producer.commitTransaction();
      }
      progress.say("%,d labels written to %s", report.items().size(), name);
      return name;
    }
  }

  /**
   * Every readable value of {@code topic} since {@code fromTime}; one that cannot be read is no
   * evidence (the app dead-lettered it, or wrote it).
   */
  static <V> void eachSince(
      KafkaConsumer<byte[], byte[]> consumer,
      Topic<V> topic,
      Instant fromTime,
      java.util.function.Consumer<V> each) {
    TopicReads.since(
        consumer,
        topic.name(),
        fromTime,
        r -> {
          V value;
          try {
            value = topic.valueSerde().deserializer().deserialize(topic.name(), r.value());
          } catch (RuntimeException e) {
            return;
          }
          if (value != null) {
            each.accept(value);
          }
        });
  }

  /**
   * The configuration of a run: the production one with its own application id, topic prefix, state
   * dir and HTTP port, no MCP server of its own and no gateway shadow candidates, the shared reply
   * cache, and the candidate's route (for {@code purpose}), model, prompts and settings. Fills
   * {@code candidate} with what differs, secrets masked.
   */
  static AppConfig runConfig(
      AppConfig config,
      String runId,
      Path state,
      String purpose,
      String route,
      String model,
      Path prompts,
      Map<String, String> set,
      Map<String, String> candidate) {
    Map<String, String> settings = new java.util.HashMap<>(config.originalsStrings());
    set.forEach(
        (k, v) -> {
          if (!CANDIDATE_KEYS.matcher(k).matches()
              || k.startsWith("llm.shadow.")
              || k.equals(AppConfig.LLM_REPLY_CACHE_TOPIC)) {
            throw new Main.UserError(
                "--set "
                    + k
                    + ": a replay's candidate may set llm.*, controller.*, summarizer.*, prompts.dir"
                    + " and tools.synthesis.url only (not llm.shadow.* nor llm.reply.cache.topic)");
          }
          settings.put(k, v);
          candidate.put(k, SECRET_KEYS.matcher(k).find() ? "(secret)" : v);
        });
    settings.put(
        AppConfig.TOPICS_PREFIX,
        config.getString(AppConfig.TOPICS_PREFIX) + "replay." + runId + ".");
    settings.put(
        AppConfig.APPLICATION_ID, config.getString(AppConfig.APPLICATION_ID) + "-replay-" + runId);
    settings.put(AppConfig.STATE_DIR, state.toString());
    settings.put(AppConfig.HTTP_HOST, "127.0.0.1");
    settings.put(AppConfig.HTTP_PORT, "0");
    settings.put(AppConfig.MCP_SERVER_ENABLED, "false");
    // The replies of every run, by what was asked: the same slice under the same candidate again
    // costs no provider call.
    settings.put(AppConfig.LLM_REPLY_CACHE_TOPIC, replyCacheTopic(config));
    // No shadow candidates of the gateway's own (llm.shadow.*): a replay calls its candidate only.
    settings.keySet().removeIf(k -> k.startsWith("llm.shadow."));
    String purposeRoute = AppConfig.route(purpose);
    if (route != null) {
      settings.put(purposeRoute, route);
      candidate.put("route", route);
    }
    if (model != null) {
      // The model of the route's first provider: the one that answers unless it fails.
      String configured = route != null ? route : settings.get(purposeRoute);
      List<AppConfig.RouteStep> steps =
          new ArrayList<>(
              AppConfig.parseRoute(
                  configured == null || configured.isBlank()
                      ? config.getString(AppConfig.LLM_ROUTE_DEFAULT)
                      : configured));
      String provider = steps.get(0).provider();
      settings.put(AppConfig.provider(provider, "model"), model);
      if (steps.get(0).model() != null) {
        // The model a route entry names wins over its provider's: name this one there instead.
        steps.set(0, new AppConfig.RouteStep(provider, model));
        settings.put(purposeRoute, String.join(",", steps.stream().map(Object::toString).toList()));
      }
      candidate.put("model", provider + "/" + model);
    }
    if (prompts != null) {
      settings.put(AppConfig.PROMPTS_DIR, prompts.toString());
      candidate.put("prompts", prompts.toString());
    }
    try {
      return AppConfig.of(settings);
    } catch (org.apache.kafka.common.config.ConfigException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  /** The settings {@code --set} may give a candidate. */
  private static final java.util.regex.Pattern CANDIDATE_KEYS =
      java.util.regex.Pattern.compile(
          "(llm|controller|summarizer)\\.[a-z0-9._-]+|prompts\\.dir|tools\\.synthesis\\.url");

  /** Settings whose values the report does not show. */
  private static final java.util.regex.Pattern SECRET_KEYS =
      java.util.regex.Pattern.compile("api\\.key|secret|password|credential");

  /**
   * The records of {@code topic} recorded from {@code fromTime} (null: the beginning) to {@code
   * toTime} whose key {@code keys} accepts (null: any key), read committed, the oldest first.
   */
  static List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> sliceRecords(
      AppConfig config,
      String topic,
      Instant fromTime,
      Instant toTime,
      java.util.function.Predicate<String> keys) {
    List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records =
        new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      TopicReads.since(
          consumer,
          topic,
          fromTime,
          r -> {
            if (r.timestamp() <= toTime.toEpochMilli()
                && r.key() != null
                && (keys == null || keys.test(new String(r.key(), StandardCharsets.UTF_8)))) {
              records.add(r);
            }
          });
    }
    records.sort(
        java.util.Comparator.comparingLong(
                org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>::timestamp)
            .thenComparingInt(org.apache.kafka.clients.consumer.ConsumerRecord::partition)
            .thenComparingLong(org.apache.kafka.clients.consumer.ConsumerRecord::offset));
    return records;
  }

  /**
   * Runs a replay and then deletes its temporary state folder (null: none made yet), however the
   * run ends.
   */
  static Integer deletingState(
      java.util.concurrent.Callable<Integer> run, java.util.function.Supplier<Path> state)
      throws Exception {
    try {
      return run.call();
    } finally {
      Path made = state.get();
      if (made != null) {
        Folders.deleteQuietly(made);
      }
    }
  }

  /** The run's id: the one given, else the time in base 36. */
  static String runId(String run, Instant now) {
    String runId = run != null ? run : Long.toString(now.toEpochMilli(), 36);
    if (!runId.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new Main.UserError("--run: letters, digits, '.', '_' and '-' only, at most 64");
    }
    return runId;
  }

  /** Refuses a run whose topic {@code name} already holds records: a run is written once. */
  static void refuseWritten(AppConfig config, String runId, String name) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(name).forEach(p -> parts.add(new TopicPartition(name, p.partition())));
      long held = consumer.endOffsets(parts).values().stream().mapToLong(Long::longValue).sum();
      if (held > 0) {
        throw new Main.UserError(
            "run "
                + runId
                + " was written already ("
                + name
                + " holds records): use another --run");
      }
    }
  }

  static Instant time(String option, String value, Instant now) {
    if (value == null) {
      return null;
    }
    try {
      return value.startsWith("P") || value.startsWith("p")
          ? now.minus(Duration.parse(value))
          : Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new Main.UserError(
          option
              + ": '"
              + value
              + "' is neither an instant (2026-12-05T10:00:00Z) nor a duration (PT1H)");
    }
  }
}
