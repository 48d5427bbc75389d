package dev.llmstreams.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.bench.GatewayBench;
import dev.llmstreams.bench.InputPartitioner;
import dev.llmstreams.bench.SvgChart;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.specialist.model.LabeledData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Benchmarks that print ratios measured in one run (against the ceiling or a baseline).",
    subcommands = {
      BenchCommand.Gateway.class,
      BenchCommand.Summarizer.class,
      BenchCommand.Controller.class,
      BenchCommand.Specialist.class
    })
final class BenchCommand implements Runnable {
  @ParentCommand Main main;

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  /**
   * The cluster named by KAFKA_BOOTSTRAP / kafka.bootstrap, or null: the benchmark starts its own
   * broker.
   */
  String externalBootstrap() {
    AppConfig config = main.config();
    return config.usesExternalCluster() ? config.bootstrapServers() : null;
  }

  static void report(ObjectNode report, Path json) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    String text = mapper.writerWithDefaultPrettyPrinter().writeValueAsString(report);
    System.out.println(text);
    if (json != null) {
      if (json.toAbsolutePath().getParent() != null) {
        Files.createDirectories(json.toAbsolutePath().getParent());
      }
      Files.writeString(json, text + "\n");
      System.err.println("report written to " + json);
    }
  }

  static final String PARTITIONER_HELP =
      "How the inputs are spread over partitions: java (a Java producer's default,"
          + " murmur2 of the key), librdkafka (where kcat, confluent-kafka and node-rdkafka put them by default: CRC-32 of"
          + " the key), or both, each measured in turn on the same broker and app (default both).";

  /** The value of {@code --partitioner} (null: both), or a one-line refusal. */
  static List<InputPartitioner> parsePartitioner(String value) {
    try {
      return InputPartitioner.parse(value);
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  static final String TRACING_HELP =
      "off (default): the apps record no spans; on: they record spans to the spans topic and ship them over"
          + " OTLP/HTTP to a local receiver started by the bench; compare: the measured phase with tracing off and"
          + " on, each on its own app, interleaved in rounds, and tracing_overhead_ratio = on / off throughput.";

  /** The value of {@code --tracing}, or a one-line refusal. */
  static dev.llmstreams.bench.TracingMode parseTracing(String value) {
    try {
      return dev.llmstreams.bench.TracingMode.parse(value);
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  static void draw(SvgChart svg, Path file) throws Exception {
    if (file != null) {
      svg.write(file);
      System.err.println("chart written to " + file);
    }
  }

  @Command(
      name = "summarizer",
      mixinStandardHelpOptions = true,
      description = {
        "The summarizer through a real broker and the gateway against a SIMULATED LLM (tokens, "
            + "not quality):",
        "LLM input tokens per ingested token, against re-summarizing everything on each new "
            + "document.",
        "With --quality: bundled QMSum test meetings through the provider the configuration "
            + "routes the summarizer to (the offline engine by default), ROUGE-1/2/L of each final "
            + "synthesis against the reference, beside a lead baseline."
      })
  static final class Summarizer implements Callable<Integer> {
    @ParentCommand BenchCommand bench;

    @Option(
        names = "--docs",
        defaultValue = "2000",
        description = "Documents to stream (default ${DEFAULT-VALUE}).")
    int docs;

    @Option(
        names = "--quality",
        description = "Score syntheses against reference summaries instead of counting tokens.")
    boolean quality;

    @Option(
        names = "--dataset",
        defaultValue = "qmsum",
        description = "With --quality: the data set (only ${DEFAULT-VALUE}).")
    String dataset;

    @Option(
        names = "--points",
        defaultValue = "10",
        description = {
          "Without --quality: points along the stream where tokens are counted; the documents go in "
              + "that many batches, each once the previous one has settled (default ${DEFAULT-VALUE})."
        })
    int points;

    @Option(
        names = "--partitioner",
        paramLabel = "java|librdkafka|both",
        description = PARTITIONER_HELP + " Not with --quality.")
    String partitioner;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the report to this file.")
    Path json;

    @Option(
        names = "--chart",
        paramLabel = "FILE.svg",
        description =
            "Without --quality: also draw tokens per ingested token against documents, tree against naive.")
    Path chart;

    /** The partitioners {@code --partitioner} names. */
    List<InputPartitioner> partitioners() {
      if (quality && partitioner != null) {
        throw new Main.UserError("--partitioner goes with the token bench, not with --quality");
      }
      return parsePartitioner(partitioner);
    }

    @Override
    public Integer call() throws Exception {
      List<InputPartitioner> partitioners = partitioners();
      if (!quality) {
        ObjectNode report =
            new dev.llmstreams.bench.SummarizerBench(
                    docs, points, bench.externalBootstrap(), partitioners, System.err)
                .run();
        report(report, json);
        draw(dev.llmstreams.bench.SummarizerBench.chart(report), chart);
        return 0;
      }
      if (!"qmsum".equals(dataset)) {
        System.err.println("unknown --dataset '" + dataset + "': the bundled data set is qmsum");
        return 2;
      }
      report(
          new dev.llmstreams.bench.QualityBench(
                  bench.main.config(), bench.externalBootstrap(), System.err)
              .run(),
          json);
      return 0;
    }
  }

  @Command(
      name = "gateway",
      mixinStandardHelpOptions = true,
      description = {
        "The LLM gateway through a real broker against a SIMULATED LLM of fixed latency: "
            + "throughput against the ceiling concurrency/latency, latency percentiles, provider calls, "
            + "and the same requests answered by a baseline that calls the provider synchronously "
            + "inside a stream processor."
      })
  static final class Gateway implements Callable<Integer> {
    @ParentCommand BenchCommand bench;

    @Option(
        names = "--latency-ms",
        defaultValue = "200",
        description = "Simulated LLM latency (default ${DEFAULT-VALUE}).")
    long latencyMs;

    @Option(
        names = "--concurrency",
        defaultValue = "64",
        split = ",",
        paramLabel = "C",
        description = {
          "Gateway calls in flight (default ${DEFAULT-VALUE}); a list such as 8,16,32,64 sweeps "
              + "them in one run (one warm-up, then each point on fresh topics), the last one being the "
              + "headline."
        })
    java.util.List<Integer> concurrency;

    @Option(
        names = "--requests",
        defaultValue = "2000",
        description =
            "Requests through the gateway, at each concurrency (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(
        names = "--partitions",
        defaultValue = "1",
        description = "Partitions of llm-requests (default ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
        names = "--baseline-requests",
        defaultValue = "50",
        description =
            "Requests through the synchronous baseline (default ${DEFAULT-VALUE}; it runs at 1/latency per second).")
    int baselineRequests;

    @Option(
        names = "--warmup-requests",
        defaultValue = "1000",
        description =
            "Requests sent first and not measured, so the JIT has compiled the path (default ${DEFAULT-VALUE}).")
    int warmupRequests;

    @Option(
        names = "--tracing",
        paramLabel = "off|on|compare",
        description =
            TRACING_HELP
                + " With compare: one --concurrency, --rounds rounds of tracing off and on (the order"
                + " turned each round); with on, the spans of the sweep's last point are counted.")
    String tracing;

    @Option(
        names = "--rounds",
        defaultValue = "3",
        paramLabel = "N",
        description =
            "With --tracing compare: rounds of --requests through the gateway with tracing off and"
                + " with it on, interleaved; the ratio on / off is the rounds' median (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the report to this file.")
    Path json;

    @Option(
        names = "--chart",
        paramLabel = "FILE.svg",
        description = "Also draw throughput and ceiling against concurrency.")
    Path chart;

    @Override
    public Integer call() throws Exception {
      if (concurrency.stream().anyMatch(c -> c < 1)) {
        System.err.println("--concurrency: every value must be at least 1, got " + concurrency);
        return 2;
      }
      dev.llmstreams.bench.TracingMode mode = parseTracing(tracing);
      if (mode == dev.llmstreams.bench.TracingMode.COMPARE && concurrency.size() > 1) {
        throw new Main.UserError(
            "--tracing compare measures one concurrency, not a sweep: give one --concurrency");
      }
      if (rounds < 1) {
        throw new Main.UserError("--rounds must be at least 1, was " + rounds);
      }
      ObjectNode report =
          new GatewayBench(
                  new GatewayBench.Options(
                      latencyMs,
                      concurrency,
                      requests,
                      partitions,
                      baselineRequests,
                      warmupRequests,
                      bench.externalBootstrap(),
                      mode,
                      rounds),
                  System.err)
              .run();
      report(report, json);
      draw(GatewayBench.chart(report), chart);
      return 0;
    }
  }

  @Command(
      name = "controller",
      mixinStandardHelpOptions = true,
      description = {
        "Goals through the controller, the gateway and the calculator's tool worker over a real "
            + "broker, against a SIMULATED LLM that asks for steps-1 calculator calls, then answers: "
            + "goals/s against the ceiling concurrency/(latency*steps), the loop's overhead per step "
            + "(p50/p99), LLM and tool calls, duplicates."
      })
  static final class Controller implements Callable<Integer> {
    @ParentCommand BenchCommand bench;

    @Option(
        names = "--goals",
        defaultValue = "500",
        description = "Goals to run (default ${DEFAULT-VALUE}).")
    int goals;

    @Option(
        names = "--steps",
        defaultValue = "3",
        description =
            "LLM turns per goal: steps-1 with a tool call, then the final answer (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(
        names = "--latency-ms",
        defaultValue = "200",
        description = "Simulated LLM latency (default ${DEFAULT-VALUE}).")
    long latencyMs;

    @Option(
        names = "--concurrency",
        defaultValue = "64",
        description = "Gateway calls in flight (default ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(
        names = "--partitions",
        defaultValue = "0",
        description =
            "Partitions of goals, tool-results, approvals, controller.llm-replies, llm-requests,"
                + " controller.llm-requests and tool-calls;"
                + " 0: the catalog's (default ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
        names = "--in-flight",
        defaultValue = "64",
        split = ",",
        paramLabel = "N",
        description =
            "Goals running at once in the throughput phase, a new one sent as one finishes; 0: all at once."
                + " A list (e.g. 64,256) runs a throughput phase per level; the first level's figures are the"
                + " report's top-level ones, the others are in in_flight_levels (default ${DEFAULT-VALUE}).")
    List<Integer> inFlight;

    @Option(
        names = "--warmup-goals",
        defaultValue = "1000",
        description =
            "Goals run first and not measured, so the JIT has compiled the path; then 500 more at a time"
                + " while the JIT (app and broker) still used 5%% or more of the machine's CPU, up to"
                + " --warmup-max-goals; 0: no warm-up (default ${DEFAULT-VALUE}).")
    int warmupGoals;

    @Option(
        names = "--warmup-max-goals",
        defaultValue = "8000",
        description =
            "The most warm-up goals, whether the JIT has settled or not (default ${DEFAULT-VALUE}).")
    int warmupMaxGoals;

    @Option(
        names = "--latency-goals",
        defaultValue = "50",
        description =
            "Goals run one at a time after the throughput phase, for the step overhead without queueing;"
                + " 0: none (default ${DEFAULT-VALUE}).")
    int latencyGoals;

    @Option(
        names = "--commit-interval-ms",
        description =
            "The app's interactive.commit.interval.ms, for gateway, controller and tools (default: the app's, 5).")
    Long commitIntervalMs;

    @Option(
        names = "--kafka-client",
        paramLabel = "KEY=VALUE",
        description =
            "A setting of the app's Kafka clients (as kafka.client.KEY), e.g. fetch.max.wait.ms=10; repeatable.")
    java.util.Map<String, String> clientSettings = new java.util.TreeMap<>();

    @Option(
        names = "--rounds",
        defaultValue = "3",
        paramLabel = "N",
        description =
            "Throughput phases per partitioner, interleaved (java, librdkafka, then the other way round);"
                + " the ratio librdkafka / java is the rounds' median (default ${DEFAULT-VALUE}). With"
                + " --tracing compare: per tracing setting (off, on, then on, off), the ratio on / off.")
    int rounds;

    @Option(
        names = "--partitioner",
        paramLabel = "java|librdkafka|both",
        description = PARTITIONER_HELP)
    String partitioner;

    @Option(
        names = "--tracing",
        paramLabel = "off|on|compare",
        description =
            TRACING_HELP
                + " With compare, --rounds rounds of tracing off and on (the order turned each round),"
                + " one partitioner (java unless --partitioner says librdkafka).")
    String tracing;

    @Option(
        names = "--compare",
        split = ",(?=[^,=]+=)",
        paramLabel = "KEY=VALUE",
        description =
            "Two apps in one run: a baseline with the defaults and a variant with these settings (e.g."
                + " controller.inline.tools= for the tool-calls topic path against the inline one, or"
                + " interactive.commit.interval.ms=20), each with its own topics and state, the same phases on"
                + " each in --rounds interleaved rounds; the report's compare object has both and"
                + " variant_to_baseline_ratio (goals/s). One partitioner (java unless --partitioner says"
                + " librdkafka); not with --tracing compare.")
    java.util.Map<String, String> compare = new java.util.TreeMap<>();

    @Option(
        names = "--profile",
        arity = "0..1",
        fallbackValue = "",
        paramLabel = "FILE",
        description =
            "Profile the measured phases of the first round: CPU ms per goal by component (stream threads,"
                + " producers, gateway HTTP client, simulated LLM, JVM, broker) and, from a JFR recording, by code"
                + " (JSON, state stores, producer, consumer, Streams, llm-streams logic); a table at the end and"
                + " the report's profile object. With FILE, each phase's recording is kept beside it, named"
                + " FILE-<variant>-<phase>.jfr, for JDK Mission Control.")
    String profile;

    @Option(
        names = "--beside-transactions-ms",
        defaultValue = "0",
        paramLabel = "MS",
        description =
            "Run a producer beside the app that keeps a transaction open this long on every partition of"
                + " llm-requests, commits it and opens the next, as a busy summarizer or specialist"
                + " (commit.interval.ms 100) does; 0: none (default ${DEFAULT-VALUE}).")
    long besideTransactionsMs;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the report to this file.")
    Path json;

    /**
     * The partitioners {@code --partitioner} names (java alone for a tracing or settings
     * comparison).
     */
    List<InputPartitioner> partitioners() {
      boolean tracingCompare = parseTracing(tracing) == dev.llmstreams.bench.TracingMode.COMPARE;
      if (tracingCompare && !compare.isEmpty()) {
        throw new Main.UserError(
            "--compare and --tracing compare are two comparisons: run one at a time");
      }
      if (tracingCompare || !compare.isEmpty()) {
        List<InputPartitioner> named =
            partitioner == null ? List.of(InputPartitioner.JAVA) : parsePartitioner(partitioner);
        if (named.size() > 1) {
          throw new Main.UserError(
              (tracingCompare ? "--tracing compare" : "--compare")
                  + " measures one partitioner: --partitioner java or librdkafka");
        }
        return named;
      }
      return parsePartitioner(partitioner);
    }

    /** What {@code bench controller} runs, as its options say. */
    dev.llmstreams.bench.ControllerBench.Options options() {
      return new dev.llmstreams.bench.ControllerBench.Options(
          goals,
          steps,
          latencyMs,
          concurrency,
          partitions,
          inFlight,
          warmupGoals,
          warmupMaxGoals,
          latencyGoals,
          commitIntervalMs,
          clientSettings,
          bench.externalBootstrap(),
          partitioners(),
          rounds,
          parseTracing(tracing),
          compare,
          profile != null,
          profile == null || profile.isEmpty() ? null : Path.of(profile),
          besideTransactionsMs);
    }

    @Override
    public Integer call() throws Exception {
      report(new dev.llmstreams.bench.ControllerBench(options(), System.err).run(), json);
      return 0;
    }
  }

  @Command(
      name = "specialist",
      mixinStandardHelpOptions = true,
      description = {
        "Each model kind trained on --train and scored on --test (accuracy, macro-F1, coverage "
            + "and accuracy at the model's threshold), then the best served by the specialist over a "
            + "real broker: events per second from produced requests to committed classifications, "
            + "against the model's own speed outside Kafka, as a ratio.",
        "Without --train/--test: the bundled Banking77 (CC BY 4.0)."
      })
  static final class Specialist implements Callable<Integer> {
    @ParentCommand BenchCommand bench;

    @Option(
        names = "--train",
        paramLabel = "FILE",
        description = "Training examples (.csv or .jsonl); default: Banking77 train.")
    Path train;

    @Option(
        names = "--test",
        paramLabel = "FILE",
        description = "Held-out examples (.csv or .jsonl); default: Banking77 test.")
    Path test;

    @picocli.CommandLine.Mixin LabeledColumns columns;

    @Option(
        names = "--kinds",
        split = ",",
        defaultValue = "hashed,embedding,ensemble,cascade",
        description =
            "Model kinds to train and score (default ${DEFAULT-VALUE}); --serve picks the one served inline.")
    List<String> kinds;

    @Option(
        names = "--serve",
        defaultValue = "cascade",
        description =
            "The kind served inline (default ${DEFAULT-VALUE}; when not among --kinds, the most accurate).")
    String serve;

    @Option(
        names = "--baseline",
        defaultValue = "ensemble",
        description =
            "Also serve this kind inline in the same run, rounds interleaved by hot swap, for the speed-up"
                + " (default ${DEFAULT-VALUE}; none to skip).")
    String baseline;

    @Option(
        names = "--encoders",
        split = ",",
        defaultValue = "minilm,bge-small,e5-small",
        description =
            "Sentence encoders whose embedding model is trained and scored side by side: accuracy, speed, size"
                + " (default ${DEFAULT-VALUE}; none to skip).")
    List<String> encoders;

    @Option(
        names = "--more-encoders",
        split = ",",
        defaultValue = "bge-small",
        description =
            "Train the served kind once more with an embedding member per encoder, MiniLM's and these, and score it"
                + " beside the one-encoder model: accuracy, coverage, speed, training time (default ${DEFAULT-VALUE};"
                + " none to skip).")
    List<String> moreEncoders;

    @Option(
        names = "--out-of-scope-labels",
        defaultValue = "10",
        description =
            "Train the served kind again without this many labels (a seeded pick) and count how many of their"
                + " test events it keeps, with and without out-of-scope calibration (default ${DEFAULT-VALUE};"
                + " 0 skips).")
    int outOfScopeLabels;

    @Option(
        names = "--events",
        defaultValue = "5000",
        description = "Requests streamed in the measured phase (default ${DEFAULT-VALUE}).")
    int events;

    @Option(
        names = "--warmup-events",
        defaultValue = "8000",
        description =
            "Requests streamed first and not measured, so the JIT has compiled the path (default ${DEFAULT-VALUE}).")
    int warmupEvents;

    @Option(
        names = "--commit-interval-ms",
        description =
            "The app's commit.interval.ms, which the specialist uses (default: the app's, 100).")
    Long commitIntervalMs;

    @Option(
        names = "--model",
        paramLabel = "DIR",
        description =
            "Score and serve this saved model (train --out DIR) instead of training --kinds.")
    Path model;

    @Option(
        names = "--rounds",
        defaultValue = "5",
        description =
            "Inline phases, each between two runs of the model alone on the same texts; the ratio reported is"
                + " the rounds' median (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
        names = "--chart",
        paramLabel = "FILE.svg",
        description = "Also draw accuracy against coverage per model.")
    Path chart;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the report to this file.")
    Path json;

    @Override
    public Integer call() throws Exception {
      if (model != null && train != null) {
        throw new Main.UserError(
            "--model serves a saved model: give --test (or neither, for Banking77 test), not --train");
      }
      dev.llmstreams.events.SpecialistModel saved = null;
      if (model != null) {
        try {
          saved = dev.llmstreams.specialist.model.SpecialistModels.read(model);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
          throw new Main.UserError(
              "--model "
                  + model
                  + " is not a model directory (train --out DIR writes one): "
                  + e.getMessage());
        }
      }
      if (model == null && (train == null) != (test == null)) {
        throw new Main.UserError(
            "give both --train and --test, or neither (the bundled Banking77)");
      }
      List<dev.llmstreams.specialist.model.ModelKind> modelKinds = new java.util.ArrayList<>();
      for (String k : kinds) {
        try {
          modelKinds.add(dev.llmstreams.specialist.model.ModelKind.of(k.strip()));
        } catch (IllegalArgumentException e) {
          throw new Main.UserError(e.getMessage());
        }
      }
      List<dev.llmstreams.specialist.model.LabeledText> trainData =
          model != null
              ? List.of()
              : train == null
                  ? LabeledData.classpath(LabeledData.BANKING77_TRAIN)
                  : columns.read(train);
      dev.llmstreams.bench.SpecialistBench.Options options;
      try {
        options =
            new dev.llmstreams.bench.SpecialistBench.Options(
                trainData,
                test == null
                    ? LabeledData.classpath(LabeledData.BANKING77_TEST)
                    : columns.read(test),
                test == null ? "banking77" : test.getFileName().toString(),
                modelKinds,
                events,
                warmupEvents,
                commitIntervalMs,
                chart,
                bench.externalBootstrap(),
                saved,
                rounds,
                kindOf(serve),
                "none".equals(baseline) ? null : kindOf(baseline),
                outOfScopeLabels,
                encoderList(encoders),
                encoderList(moreEncoders));
      } catch (IllegalArgumentException e) {
        throw new Main.UserError(e.getMessage());
      }
      report(new dev.llmstreams.bench.SpecialistBench(options, System.err).run(), json);
      return 0;
    }

    private static List<dev.llmstreams.runtime.text.EncoderModel> encoderList(List<String> ids) {
      List<dev.llmstreams.runtime.text.EncoderModel> out = new java.util.ArrayList<>();
      for (String e : ids) {
        if (e.isBlank() || "none".equals(e.strip())) {
          continue;
        }
        try {
          out.add(dev.llmstreams.runtime.text.EncoderModel.of(e));
        } catch (IllegalArgumentException x) {
          throw new Main.UserError(x.getMessage());
        }
      }
      return out;
    }

    private static dev.llmstreams.specialist.model.ModelKind kindOf(String id) {
      try {
        return dev.llmstreams.specialist.model.ModelKind.of(id.strip());
      } catch (IllegalArgumentException e) {
        throw new Main.UserError(e.getMessage());
      }
    }
  }
}
