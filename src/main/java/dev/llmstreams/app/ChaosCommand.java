package dev.llmstreams.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.chaos.ChaosRun;
import dev.llmstreams.chaos.Partitioning;
import dev.llmstreams.config.AppConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "chaos",
    mixinStandardHelpOptions = true,
    description = {
      "Kills app instances under load and counts: two instances of every pattern (one "
          + "application id, own JVMs) against a local broker (or KAFKA_BOOTSTRAP / --bootstrap) and "
          + "a SIMULATED LLM, a known load with unique ids plus poison on every topic the app "
          + "consumes, SIGKILL of a random instance at random moments (restarted each time), then "
          + "every output read with read_committed. Prints the JSON report (lost, duplicated, dead "
          + "letters, repeated LLM and tool calls, recovery times, store sizes); exit 0 only when it "
          + "passes."
    })
final class ChaosCommand implements Callable<Integer> {
  @ParentCommand Main main;

  @Option(
      names = "--kills",
      defaultValue = "5",
      description = "SIGKILLs, each followed by a restart (default ${DEFAULT-VALUE}).")
  int kills;

  @Option(
      names = "--goals",
      defaultValue = "200",
      description = "Goals, each using one built-in tool (default ${DEFAULT-VALUE}).")
  int goals;

  @Option(
      names = "--documents",
      defaultValue = "1000",
      description = "Documents to summarize (default ${DEFAULT-VALUE}).")
  int documents;

  @Option(
      names = "--requests",
      defaultValue = "5000",
      description = "Classification requests (default ${DEFAULT-VALUE}).")
  int requests;

  @Option(
      names = "--poison-share",
      defaultValue = "0.02",
      description =
          "Malformed records per valid input, on every topic the app consumes (default ${DEFAULT-VALUE}).")
  double poisonShare;

  @Option(
      names = "--restart-broker",
      description = "Also restart the (local) broker once, between two kills.")
  boolean restartBroker;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the load, the kill moments and victims (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--partitioner",
      paramLabel = "java|librdkafka|explicit|mixed",
      defaultValue = "mixed",
      description =
          "Where every record the run produces goes: java (the Java producer's murmur2 of the key),"
              + " librdkafka (CRC32 of the key: kcat, Python, Go, .NET, Node clients), explicit (round robin whatever the"
              + " key), mixed (a seeded draw of one of those per record; default ${DEFAULT-VALUE}).")
  String partitioner;

  @Option(
      names = "--bootstrap",
      paramLabel = "HOST:PORT",
      description =
          "An existing Kafka cluster (default: KAFKA_BOOTSTRAP, else a local broker started for the run).")
  String bootstrap;

  @Option(
      names = "--feed-seconds",
      defaultValue = "150",
      description =
          "Time the load is spread over; the kills fall within it (default ${DEFAULT-VALUE}).")
  long feedSeconds;

  @Option(
      names = "--timeout-seconds",
      defaultValue = "600",
      description =
          "How long to wait for every output after the load and the kills (default ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  @Option(
      names = "--ready-timeout-seconds",
      defaultValue = "300",
      description =
          "How long an instance may take to be ready after a (re)start (default ${DEFAULT-VALUE}).")
  long readySeconds;

  @Option(
      names = "--llm-latency-ms",
      defaultValue = "200",
      description = "Simulated LLM latency (default ${DEFAULT-VALUE}).")
  long llmLatencyMs;

  @Option(
      names = "--llm-concurrency",
      defaultValue = "16",
      description =
          "The gateway's in-flight limit per instance, llm.openai.concurrency (default ${DEFAULT-VALUE}).")
  int llmConcurrency;

  @Option(
      names = "--train-examples",
      defaultValue = "3000",
      description =
          "Banking77 examples the specialist's hashed model is trained on (default ${DEFAULT-VALUE}).")
  int trainExamples;

  @Option(
      names = "--app-heap",
      defaultValue = "768m",
      description = "-Xmx of each instance (default ${DEFAULT-VALUE}).")
  String appHeap;

  @Option(
      names = "--app-jvm-option",
      paramLabel = "OPTION",
      description =
          "One more JVM option of each instance, before its main class (repeat it for more), e.g."
              + " -XX:TieredStopAtLevel=1.")
  List<String> appJvmOptions = List.of();

  @Option(
      names = "--client",
      paramLabel = "KEY=VALUE",
      description =
          "A Kafka client setting of the instances (kafka.client.KEY), e.g. session.timeout.ms=10000.")
  Map<String, String> clientSettings = Map.of();

  @Option(
      names = "--work-dir",
      defaultValue = ".llm-streams/chaos",
      description = "Where instance configs, logs and state go (default ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the report to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    Partitioning.Mode mode;
    try {
      mode = Partitioning.Mode.parse(partitioner);
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage());
    }
    String external = bootstrap;
    if (external == null) {
      AppConfig config = main.config();
      external = config.usesExternalCluster() ? config.bootstrapServers() : null;
    }
    ObjectNode report =
        new ChaosRun(
                new ChaosRun.Options(
                    goals,
                    documents,
                    requests,
                    kills,
                    poisonShare,
                    restartBroker,
                    seed,
                    mode,
                    external,
                    Duration.ofSeconds(feedSeconds),
                    Duration.ofSeconds(timeoutSeconds),
                    Duration.ofSeconds(readySeconds),
                    llmLatencyMs,
                    llmConcurrency,
                    trainExamples,
                    appHeap,
                    appJvmOptions,
                    clientSettings,
                    workDir),
                System.err)
            .run();
    BenchCommand.report(report, json);
    return report.path("verdict").path("passed").asBoolean(false) ? 0 : 1;
  }
}
