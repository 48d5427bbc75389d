package dev.llmstreams.app;

import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.summarizer.SynthesisReplay;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code replay documents}: the recorded documents of a slice are re-synthesized under a candidate
 * route, model or prompts by a separate in-process Streams application (gateway and summarizer)
 * whose topics are all under {@code <topics.prefix>replay.<run>.}; its syntheses are compared with
 * the latest recorded ones.
 */
@Command(
    name = "documents",
    mixinStandardHelpOptions = true,
    description = {
      "Re-synthesize the recorded documents of some keys (or of a time range) under a candidate "
          + "route, model or prompts, in a separate Streams application "
          + "(<application.id>-replay-<run>) whose topics are all under <topics.prefix>replay.<run>.: "
          + "the shadow syntheses go to <topics.prefix>replay.<run>.syntheses, never to syntheses. "
          + "Reports ROUGE of each shadow against the recorded synthesis (and a reference), LLM "
          + "calls, tokens, cost and latency."
    })
final class ReplayDocuments implements Callable<Integer> {
  /** Exit status when some shadow did not cover its documents within --timeout. */
  static final int INCOMPLETE = 4;

  @ParentCommand ReplayCommand replay;

  @Option(
      names = "--keys",
      split = ",",
      paramLabel = "KEY",
      description = "Only the documents of these keys (synthesis keys).")
  List<String> keys;

  @picocli.CommandLine.Mixin ReplayCommand.Range range;

  @picocli.CommandLine.Mixin ReplayCommand.Run candidateRun;

  @Option(
      names = "--limit",
      defaultValue = "1000",
      description = "At most this many documents, the oldest first (default ${DEFAULT-VALUE}).")
  int limit;

  @Option(
      names = "--references",
      paramLabel = "FILE",
      description =
          "JSON lines {\"key\": …, \"reference\": …}: reference syntheses to score both against.")
  Path references;

  @Option(
      names = "--timeout",
      defaultValue = "PT10M",
      paramLabel = "DURATION",
      description =
          "How long to wait for the shadow to cover every document (default ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the report (totals and every synthesis, with their texts) here.")
  Path json;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description = "Write the totals and a row per synthesis as Markdown tables here.")
  Path markdown;

  /** One recorded document of the slice. */
  private record Recorded(ConsumerRecord<byte[], byte[]> record, String key, Document document) {}

  /** The run's temporary state folder (null until made), deleted however the run ends. */
  private Path state;

  @Override
  public Integer call() throws Exception {
    return ReplayCommand.deletingState(this::replay, () -> state);
  }

  private Integer replay() throws Exception {
    AppConfig config = replay.main.config();
    TopicCatalog catalog = replay.main.catalog();
    Progress progress = new Progress(System.err, "replay");
    Instant now = Instant.now();
    Instant fromTime = range.from(now);
    Instant toTime = range.to(now);
    String runId = ReplayCommand.runId(candidateRun.run, now);
    Map<String, String> refs = references == null ? Map.of() : references(references);
    Map<String, String> candidate = new LinkedHashMap<>();
    AppConfig shadowConfig;
    state = Files.createTempDirectory("llm-streams-replay-" + runId);
    try {
      shadowConfig = candidateRun.config(config, runId, state, "summarizer", candidate);
    } catch (org.apache.kafka.common.config.ConfigException e) {
      throw new Main.UserError(e.getMessage());
    }
    TopicCatalog runCatalog =
        TopicCatalog.load().withPrefix(shadowConfig.getString(AppConfig.TOPICS_PREFIX));

    List<Recorded> slice = slice(config, catalog, fromTime, toTime, progress);
    if (slice.isEmpty()) {
      throw new Main.UserError("no documents to replay in the slice");
    }
    Map<String, Map<String, Instant>> byKey = new TreeMap<>();
    slice.forEach(
        r ->
            byKey
                .computeIfAbsent(r.key(), k -> new HashMap<>())
                .putIfAbsent(r.document().docId(), r.document().timestamp()));
    // The document ids each tree (all-time per key, and each window) covers when the shadow is
    // done.
    Map<String, Set<String>> trees = new TreeMap<>();
    byKey.forEach(
        (k, docs) ->
            trees.putAll(
                SynthesisReplay.trees(
                    k, docs, shadowConfig.getLong(AppConfig.SUMMARIZER_WINDOW_MS))));
    progress.say("%,d documents of %,d keys; candidate %s", slice.size(), byKey.size(), candidate);

    String runDocuments = runCatalog.topic(Topics.DOCUMENTS).name();
    String runSyntheses = runCatalog.topic(Topics.SYNTHESES).name();
    try (Admin admin = Clients.admin(config)) {
      List<TopicSpec> topics = new java.util.ArrayList<>(runCatalog.all());
      topics.add(ReplayCommand.replyCacheSpec(config, catalog));
      new TopicAdmin(admin, config.getShort(AppConfig.TOPICS_REPLICATION_FACTOR))
          .apply(topics, false);
    }
    ReplayCommand.refuseWritten(config, runId, runDocuments);

    Map<String, Synthesis> shadow;
    long started;
    long wallMs;
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(shadowConfig, runCatalog, observability)) {
      app.start(List.of(new GatewayModule(), new SummarizerModule()));
      if (!app.awaitReady(timeout)) {
        throw new Main.UserError("the shadow application did not start within " + timeout);
      }
      started = System.nanoTime();
      copy(config, runId, runDocuments, slice);
      progress.say(
          "%,d documents copied to %s; waiting for the shadow", slice.size(), runDocuments);
      shadow = awaitShadow(config, catalog, runSyntheses, trees, started, progress);
      wallMs = (System.nanoTime() - started) / 1_000_000;
    }
    Folders.deleteQuietly(state);

    List<LlmReply> replies = new ArrayList<>();
    Map<String, Synthesis> original = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      Topic<LlmReply> repliesTopic = runCatalog.topic(Topics.SUMMARIZER_LLM_REPLIES);
      ReplayCommand.eachSince(consumer, repliesTopic, null, replies::add);
      Topic<Synthesis> syntheses = catalog.topic(Topics.SYNTHESES);
      ReplayCommand.eachSince(
          consumer,
          syntheses,
          null,
          s -> {
            if (byKey.containsKey(s.key())) {
              original.put(s.recordKey(), s);
            }
          });
    }
    // A window's synthesis counts its own tree's calls; an all-time one every call of its key (the
    // all-time tree is built on the chunk summaries of the window trees).
    Map<String, SynthesisReplay.Calls> calls = SynthesisReplay.callsByTree(replies);
    Map<String, SynthesisReplay.Calls> keyCalls = SynthesisReplay.callsByKey(replies);
    List<SynthesisReplay.Item> items = new ArrayList<>();
    Map<String, Synthesis> byTree = new HashMap<>();
    Stream.concat(original.values().stream(), shadow.values().stream())
        .forEach(x -> byTree.put(SynthesisReplay.treeOf(x), x));
    trees.forEach(
        (tree, ids) -> {
          Synthesis any = byTree.get(tree);
          String recordKey = any == null ? tree : any.recordKey();
          String key = any == null ? tree : any.key();
          boolean allTime = any == null || any.window() == null;
          items.add(
              new SynthesisReplay.Item(
                  recordKey,
                  ids.size(),
                  original.get(recordKey),
                  shadow.get(recordKey),
                  allTime ? refs.get(key) : null,
                  (allTime ? keyCalls : calls)
                      .getOrDefault(allTime ? key : tree, SynthesisReplay.Calls.NONE)));
        });
    SynthesisReplay.Report report =
        new SynthesisReplay.Report(
            candidate, slice.size(), wallMs, items, SynthesisReplay.total(replies));
    var out = report.toJson();
    out.put("run", runId);
    out.put("topic", runSyntheses);
    out.put("application_id", shadowConfig.getString(AppConfig.APPLICATION_ID));
    if (markdown != null) {
      Files.writeString(markdown, report.toMarkdown());
      progress.say("Markdown report written to %s", markdown);
    }
    if (json == null) {
      out.remove("items"); // the console shows the totals; --json keeps every synthesis
    }
    BenchCommand.report(out, json);
    long incomplete = items.stream().filter(i -> !i.complete()).count();
    if (incomplete > 0) {
      progress.say(
          "%,d syntheses did not cover their documents within %s (see complete in the report)",
          incomplete, timeout);
      return INCOMPLETE;
    }
    return 0;
  }

  /** The documents of the slice, oldest first, at most --limit. */
  private List<Recorded> slice(
      AppConfig config, TopicCatalog catalog, Instant fromTime, Instant toTime, Progress progress) {
    Topic<Document> documents = catalog.topic(Topics.DOCUMENTS);
    Set<String> only = keys == null ? null : new HashSet<>(keys);
    List<ConsumerRecord<byte[], byte[]>> records =
        ReplayCommand.sliceRecords(
            config, documents.name(), fromTime, toTime, only == null ? null : only::contains);
    List<Recorded> out = new ArrayList<>();
    int unreadable = 0;
    for (var r : records) {
      if (out.size() >= limit) {
        break;
      }
      Document d;
      try {
        d = documents.valueSerde().deserializer().deserialize(documents.name(), r.value());
      } catch (RuntimeException e) {
        unreadable++; // the summarizer dead-lettered it: nothing to replay
        continue;
      }
      if (d != null) {
        out.add(
            new Recorded(
                r, new String(r.key(), StandardCharsets.UTF_8), d.atRecordTime(r.timestamp())));
      }
    }
    if (unreadable > 0) {
      progress.say("%,d records of the slice could not be read as documents; skipped", unreadable);
    }
    return out;
  }

  /**
   * Copies the slice to the run's documents topic in one transaction: key, value, headers, time.
   */
  private static void copy(AppConfig config, String runId, String topic, List<Recorded> slice) {
    try (KafkaProducer<byte[], byte[]> producer =
        Clients.transactionalProducer(
            config,
            config.getString(AppConfig.APPLICATION_ID) + "-replay-" + runId + "-documents")) {
      producer.initTransactions();
      producer.beginTransaction();
      for (Recorded r : slice) {
        ConsumerRecord<byte[], byte[]> c = r.record();
        producer.send(
            new ProducerRecord<>(topic, null, c.timestamp(), c.key(), c.value(), c.headers()));
      }
      producer.commitTransaction();
    }
  }

  /**
   * Reads the run's syntheses (read committed) until the synthesis of each tree (a key's all-time
   * one, and each of its windows) covers exactly the slice's documents of that tree, or --timeout
   * passes; the latest synthesis per record key.
   */
  private Map<String, Synthesis> awaitShadow(
      AppConfig config,
      TopicCatalog catalog,
      String topic,
      Map<String, Set<String>> trees,
      long started,
      Progress progress) {
    Topic<Synthesis> syntheses = catalog.topic(Topics.SYNTHESES);
    Map<String, String> wanted = new HashMap<>();
    trees.forEach((t, ids) -> wanted.put(t, Synthesis.sourceDigest(ids)));
    Map<String, Synthesis> latest = new HashMap<>();
    Set<String> done = new HashSet<>();
    long deadline = started + timeout.toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.committedReader(config, "llm-streams-replay-")) {
      consumer.seekToBeginning(TopicReads.assign(consumer, topic));
      while (done.size() < wanted.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          Synthesis s;
          try {
            s = syntheses.valueSerde().deserializer().deserialize(topic, r.value());
          } catch (RuntimeException e) {
            continue;
          }
          if (s == null) {
            continue;
          }
          latest.put(s.recordKey(), s);
          String tree = SynthesisReplay.treeOf(s);
          if (s.sourceDigest().equals(wanted.get(tree))) {
            if (done.add(tree)) {
              progress.say("%s: shadow covers its %,d documents", s.recordKey(), s.documents());
            }
          }
        }
      }
    }
    return latest;
  }

  /** JSON lines {@code {"key": …, "reference": …}}. */
  static Map<String, String> references(Path file) {
    Map<String, String> out = new HashMap<>();
    List<String> lines;
    try {
      lines = TextLines.read(file);
    } catch (java.io.IOException e) {
      throw new Main.UserError("--references " + file + ": " + e.getMessage());
    }
    int n = 0;
    for (String line : lines) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      try {
        var node = Json.tree(line);
        String key = node.path("key").asText(null);
        String reference = node.path("reference").asText(null);
        if (key == null || reference == null) {
          throw new IllegalArgumentException("needs \"key\" and \"reference\"");
        }
        out.put(key, reference);
      } catch (RuntimeException e) {
        throw new Main.UserError("--references " + file + " line " + n + ": " + e.getMessage());
      }
    }
    return out;
  }
}
