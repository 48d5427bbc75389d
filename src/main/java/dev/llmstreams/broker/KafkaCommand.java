package dev.llmstreams.broker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code llm-streams kafka start|stop|status}: a real local KRaft broker for machines without
 * Docker.
 *
 * <p>Option defaults come from one {@link Defaults} (the app config passes its own); build the
 * command with {@link #commandLine(Defaults)} so that {@code --help} shows them.
 */
@Command(
    name = "kafka",
    description =
        "Run a real single-node Kafka broker (KRaft) from the jars this application ships.",
    mixinStandardHelpOptions = true,
    subcommands = {KafkaCommand.Start.class, KafkaCommand.Stop.class, KafkaCommand.Status.class})
public final class KafkaCommand implements Runnable {

  /** Exit code of {@code status} when the broker is not running, as for LSB init scripts. */
  public static final int EXIT_NOT_RUNNING = 3;

  public static final int EXIT_ERROR = 1;

  /** Defaults of the options; {@code controllerPort == null} means port + 1. */
  public record Defaults(Path home, String host, int port, Integer controllerPort, String heap) {
    public static Defaults builtIn() {
      return new Defaults(
          LocalBroker.DEFAULT_HOME,
          LocalBroker.DEFAULT_HOST,
          LocalBroker.DEFAULT_PORT,
          null,
          LocalBroker.DEFAULT_HEAP);
    }

    /** Picocli's default values, by option name, so {@code --help} shows the values in effect. */
    CommandLine.IDefaultValueProvider provider() {
      return (ArgSpec arg) -> {
        if (!(arg instanceof OptionSpec option)) {
          return null;
        }
        switch (option.longestName()) {
          case "--home":
            return home.toString();
          case "--host":
            return host;
          case "--port":
            return Integer.toString(port);
          case "--heap":
            return heap;
          default:
            return null;
        }
      };
    }
  }

  private final Defaults defaults;
  @Spec CommandSpec spec;

  public KafkaCommand() {
    this(Defaults.builtIn());
  }

  public KafkaCommand(Defaults defaults) {
    this.defaults = defaults;
  }

  /** The {@code kafka} command with its sub-commands, showing {@code defaults} in help. */
  public static CommandLine commandLine(Defaults defaults) {
    CommandLine commandLine = new CommandLine(new KafkaCommand(defaults));
    commandLine.setDefaultValueProvider(defaults.provider());
    return commandLine;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Options shared by the sub-commands; unset ones fall back to the parent's {@link Defaults}. */
  abstract static class BrokerCommand implements Callable<Integer> {
    @ParentCommand KafkaCommand parent;
    @Spec CommandSpec spec;

    @Option(
        names = "--home",
        paramLabel = "DIR",
        description =
            "Directory for the broker's config, data and logs (default: ${DEFAULT-VALUE}).")
    Path home;

    @Option(
        names = "--host",
        paramLabel = "HOST",
        description = "Address the broker listens on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(
        names = "--port",
        paramLabel = "PORT",
        description = "Client port (default: ${DEFAULT-VALUE}).")
    Integer port;

    @Option(
        names = "--controller-port",
        paramLabel = "PORT",
        description = "KRaft controller port (default: the client port + 1, unless configured).")
    Integer controllerPort;

    LocalBroker.Settings settings() {
      Defaults d = parent.defaults;
      int p = port != null ? port : d.port();
      boolean portGiven = spec.commandLine().getParseResult().hasMatchedOption("--port");
      int c =
          controllerPort != null
              ? controllerPort
              : !portGiven && d.controllerPort() != null ? d.controllerPort() : p + 1;
      return new LocalBroker.Settings(
          home != null ? home : d.home(), host != null ? host : d.host(), p, c, heap());
    }

    String heap() {
      return parent.defaults.heap();
    }

    @Override
    public final Integer call() {
      try {
        return run(new LocalBroker(settings()));
      } catch (LocalBroker.BrokerException | IllegalArgumentException e) {
        spec.commandLine().getErr().println("Error: " + e.getMessage());
        return EXIT_ERROR;
      }
    }

    abstract int run(LocalBroker broker);

    void out(String line) {
      spec.commandLine().getOut().println(line);
      spec.commandLine().getOut().flush();
    }
  }

  @Command(
      name = "start",
      mixinStandardHelpOptions = true,
      description =
          "Start the broker in the background and wait until it answers; does nothing if it runs.")
  static final class Start extends BrokerCommand {
    @Option(
        names = "--heap",
        paramLabel = "SIZE",
        description = "Maximum heap of the broker JVM (default: ${DEFAULT-VALUE}).")
    String heap;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "60",
        description = "How long to wait for the broker to answer (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    String heap() {
      return heap != null ? heap : super.heap();
    }

    @Override
    int run(LocalBroker broker) {
      LocalBroker.StartResult result = broker.start(Duration.ofSeconds(timeoutSeconds));
      LocalBroker.Settings s = broker.settings();
      if (result.outcome() == LocalBroker.StartResult.Outcome.ALREADY_RUNNING) {
        out(
            "Kafka broker already running on "
                + result.bootstrap()
                + " (pid "
                + result.pid()
                + ")");
      } else {
        out(
            String.format(
                Locale.ROOT,
                "Kafka broker started on %s (pid %d, %.1f s); data and logs in %s",
                result.bootstrap(),
                result.pid(),
                result.elapsed().toMillis() / 1000.0,
                s.home()));
      }
      return 0;
    }
  }

  @Command(
      name = "stop",
      mixinStandardHelpOptions = true,
      description =
          "Stop the broker (SIGTERM, then SIGKILL after the timeout); does nothing if it is not running.")
  static final class Stop extends BrokerCommand {
    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "30",
        description =
            "How long to wait for a clean shutdown before killing it (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    int run(LocalBroker broker) {
      LocalBroker.StopResult result = broker.stop(Duration.ofSeconds(timeoutSeconds));
      if (result.outcome() == LocalBroker.StopResult.Outcome.NOT_RUNNING) {
        out("Kafka broker is not running");
      } else {
        out(
            "Kafka broker stopped (pid "
                + result.pid()
                + (result.forced() ? ", killed after timeout" : "")
                + ")");
      }
      return 0;
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description =
          "Tell whether the broker runs; exits 0 if it does and " + EXIT_NOT_RUNNING + " if not.")
  static final class Status extends BrokerCommand {
    @Override
    int run(LocalBroker broker) {
      LocalBroker.Status status = broker.status();
      if (status.running()) {
        out(
            "Kafka broker running on "
                + status.bootstrap()
                + " (pid "
                + status.pid().orElseThrow()
                + ")");
        return 0;
      }
      if (status.pid().isPresent()) {
        out(
            "Kafka broker process "
                + status.pid().get()
                + " is alive but "
                + status.bootstrap()
                + " does not answer; see "
                + broker.logFile());
      } else {
        out("Kafka broker is not running");
      }
      return EXIT_NOT_RUNNING;
    }
  }
}
