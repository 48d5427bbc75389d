package dev.llmstreams.llm.sim;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code llm-streams sim-llm}: runs a {@link SimulatedLlmServer} in the foreground until Ctrl-C or
 * SIGTERM.
 */
@Command(
    name = "sim-llm",
    mixinStandardHelpOptions = true,
    description =
        "Run a SIMULATED OpenAI-compatible LLM server (not an LLM: canned answers with configured latency "
            + "and faults) for benchmarks and trying llm-streams without an LLM.")
public final class SimLlmCommand implements Callable<Integer> {
  public static final int DEFAULT_PORT = 8089;
  public static final int EXIT_ERROR = 1;

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + DEFAULT_PORT,
      description = "Port to listen on; 0 for a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--host",
      paramLabel = "HOST",
      defaultValue = SimulatedLlmServer.Settings.DEFAULT_HOST,
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--latency-ms",
      paramLabel = "MS",
      defaultValue = "200",
      description = "Time before each answer, in milliseconds (default: ${DEFAULT-VALUE}).")
  long latencyMs;

  @Option(
      names = "--jitter-ms",
      paramLabel = "MS",
      defaultValue = "0",
      description =
          "The latency varies uniformly within latency +/- jitter (default: ${DEFAULT-VALUE}).")
  long jitterMs;

  @Option(
      names = "--error-rate",
      paramLabel = "R",
      defaultValue = "0",
      description = "Share of calls answered HTTP 500, 0..1 (default: ${DEFAULT-VALUE}).")
  double errorRate;

  @Option(
      names = "--rate-limit-rate",
      paramLabel = "R",
      defaultValue = "0",
      description =
          "Share of calls answered HTTP 429 with Retry-After: 1 (default: ${DEFAULT-VALUE}).")
  double rateLimitRate;

  @Option(
      names = "--malformed-rate",
      paramLabel = "R",
      defaultValue = "0",
      description =
          "Share of calls answered 200 with a body that is not JSON (default: ${DEFAULT-VALUE}).")
  double malformedRate;

  @Option(
      names = "--hang-rate",
      paramLabel = "R",
      defaultValue = "0",
      description =
          "Share of calls never answered until the client gives up (closed after 5 minutes) "
              + "(default: ${DEFAULT-VALUE}).")
  double hangRate;

  @Option(
      names = "--endless-rate",
      paramLabel = "R",
      defaultValue = "0",
      description =
          "Share of calls answered 200 with a body that never ends (a byte every 100 ms) "
              + "(default: ${DEFAULT-VALUE}).")
  double endlessRate;

  @Option(
      names = "--bad-tool-call-rate",
      paramLabel = "R",
      defaultValue = "0",
      description =
          "Share of calls offering tools answered with a tool call whose arguments are not JSON "
              + "(default: ${DEFAULT-VALUE}).")
  double badToolCallRate;

  @Option(
      names = "--retry-after-s",
      paramLabel = "S",
      defaultValue = "1",
      description =
          "Retry-After of the 429 answers, seconds (default: ${DEFAULT-VALUE}). Faults can be switched while"
              + " the server runs: POST /admin/faults (see GET /admin/faults).")
  long retryAfterS;

  @Option(
      names = "--seed",
      paramLabel = "N",
      defaultValue = "" + SimulatedLlmServer.Settings.DEFAULT_SEED,
      description =
          "Seed of the fault and jitter draws; same seed, same sequence (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--model",
      paramLabel = "NAME",
      defaultValue = SimulatedLlmServer.DEFAULT_MODEL,
      description = "Model name in answers (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(
      names = "--tool-steps",
      paramLabel = "N",
      defaultValue = "" + SimulatedLlmServer.Settings.DEFAULT_TOOL_STEPS,
      description =
          "When tools are offered: tool-call turns before the final answer (default: ${DEFAULT-VALUE}).")
  int toolSteps;

  public SimLlmCommand() {}

  /** The server settings the options describe. */
  public SimulatedLlmServer.Settings settings() {
    return new SimulatedLlmServer.Settings(
        host,
        port,
        Duration.ofMillis(latencyMs),
        Duration.ofMillis(jitterMs),
        errorRate,
        rateLimitRate,
        malformedRate,
        hangRate,
        seed,
        model,
        toolSteps);
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    SimulatedLlmServer server;
    try {
      server = new SimulatedLlmServer(settings());
      server.setFaults(
          server
              .faults()
              .withEndlessRate(endlessRate)
              .withBadToolCallRate(badToolCallRate)
              .withRetryAfter(Duration.ofSeconds(retryAfterS)));
      server.start();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    } catch (IOException e) {
      err.println("Error: " + e.getMessage() + (port != 0 ? "; choose another with --port" : ""));
      err.flush();
      return EXIT_ERROR;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.stop();
                  out.println("sim-llm stopped: " + summary(server.stats()));
                  out.flush();
                  stopped.countDown();
                },
                "sim-llm-shutdown"));
    out.println(startLine(server));
    out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  static String startLine(SimulatedLlmServer server) {
    SimulatedLlmServer.Settings s = server.settings();
    return String.format(
        Locale.ROOT,
        "SIMULATED LLM (not an LLM) at %s - set it as the OpenAI base URL; latency %d ms +/- %d ms, "
            + "errors %.2f, rate limits %.2f, malformed %.2f, hangs %.2f, seed %d, model %s, tool steps %d; Ctrl-C stops",
        server.baseUrl(),
        s.latency().toMillis(),
        s.jitter().toMillis(),
        s.errorRate(),
        s.rateLimitRate(),
        s.malformedRate(),
        s.hangRate(),
        s.seed(),
        s.model(),
        s.toolSteps());
  }

  static String summary(SimulatedLlmServer.Stats s) {
    return String.format(
        Locale.ROOT,
        "calls=%d ok=%d error=%d rate_limited=%d malformed=%d hang=%d bad_request=%d max_in_flight=%d "
            + "prompt_tokens=%d completion_tokens=%d",
        s.calls(),
        s.ok(),
        s.errors(),
        s.rateLimited(),
        s.malformed(),
        s.hangs(),
        s.badRequests(),
        s.maxInFlight(),
        s.promptTokens(),
        s.completionTokens());
  }
}
