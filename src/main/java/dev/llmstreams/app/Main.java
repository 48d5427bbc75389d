package dev.llmstreams.app;

import dev.llmstreams.broker.KafkaCommand;
import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Causes;
import dev.llmstreams.runtime.mcp.McpServerSpec;
import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Path;
import org.apache.kafka.common.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/llm-streams}: the command line of the whole product. */
@Command(
    name = "llm-streams",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Kafka-native LLM patterns: controller, recursive summarizer, specialist.",
    subcommands = {
      TopicsCommand.class,
      AclsCommand.class,
      RunCommand.class,
      ProduceCommand.class,
      TailCommand.class,
      DemoCommand.class,
      TrainCommand.class,
      EvaluateCommand.class,
      ReplayCommand.class,
      BenchCommand.class,
      ChaosCommand.class,
      McpCommand.class,
      dev.llmstreams.llm.sim.SimLlmCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file (defaults < file < LLMSTREAMS_* environment variables).",
      scope = CommandLine.ScopeType.INHERIT)
  Path configFile;

  private AppConfig config;
  private TopicCatalog catalog;

  /** The effective configuration, loaded once. */
  AppConfig config() {
    if (config == null) {
      config = AppConfig.load(configFile, System.getenv(), overrides);
    }
    return config;
  }

  private final java.util.Map<String, String> overrides = new java.util.LinkedHashMap<>();

  /**
   * Sets {@code key} over the file and the environment for this run (the demo's MCP server); the
   * configuration and the catalog are read again.
   */
  void override(String key, String value) {
    overrides.put(key, value);
    config = null;
    catalog = null;
  }

  TopicCatalog catalog() {
    if (catalog == null) {
      catalog = catalog(config());
    }
    return catalog;
  }

  /**
   * The topics of a configuration: the shipped catalog under {@code topics.prefix}, a {@code
   * tool-calls.<tool>} topic per tool defined in {@code tools.dir} and one per declared MCP server
   * (no I/O: names only).
   */
  static TopicCatalog catalog(AppConfig config) {
    String prefix = config.getString(AppConfig.TOPICS_PREFIX);
    return TopicCatalog.load()
        .withPrefix(prefix)
        .withToolTopics(
            dev.llmstreams.runtime.tools.ToolRegistry.load(config.getString(AppConfig.TOOLS_DIR))
                .topicTools(),
            prefix)
        .withMcpTopics(
            McpServerSpec.load(config.getString(AppConfig.MCP_DIR)).stream()
                .map(McpServerSpec::name)
                .toList(),
            prefix);
  }

  private static KafkaCommand.Defaults kafkaDefaults(String[] args) {
    Path file = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        file = Path.of(args[i + 1]);
      } else if (args[i].startsWith("--config=")) {
        file = Path.of(args[i].substring("--config=".length()));
      }
    }
    try {
      LocalBroker.Settings s = brokerSettings(AppConfig.load(file));
      return new KafkaCommand.Defaults(s.home(), s.host(), s.port(), s.controllerPort(), s.heap());
    } catch (RuntimeException e) {
      return KafkaCommand.Defaults
          .builtIn(); // the command that runs reports the config problem itself
    }
  }

  /** The local broker as the config describes it. */
  static LocalBroker.Settings brokerSettings(AppConfig config) {
    return new LocalBroker.Settings(
        Path.of(config.getString(AppConfig.KAFKA_HOME)),
        config.getString(AppConfig.KAFKA_HOST),
        config.getInt(AppConfig.KAFKA_PORT),
        config.controllerPort(),
        LocalBroker.DEFAULT_HEAP);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(commandLine(args).execute(args));
  }

  /**
   * The command line; {@code args} are only scanned for {@code --config} so `kafka` shows
   * configured defaults.
   */
  static CommandLine commandLine(String... args) {
    return commandLine(kafkaDefaults(args));
  }

  /**
   * The command line with these defaults for {@code kafka} (the built-in ones make a help text that
   * is the same everywhere).
   */
  static CommandLine commandLine(KafkaCommand.Defaults kafka) {
    CommandLine cli = new CommandLine(new Main());
    cli.addSubcommand("kafka", KafkaCommand.commandLine(kafka));
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          // Each of these names what to change (a setting, a port, a file): one line, no stack
          // trace.
          if (e instanceof ConfigException
              || e instanceof UserError
              || e instanceof LocalBroker.BrokerException
              || e instanceof java.net.BindException) {
            cmd.getErr().println("llm-streams: " + e.getMessage());
            return 2;
          }
          // A broker that is not there, or a topic that is not: the client's timeout, in one line.
          Throwable timeout = kafkaTimeout(e);
          if (timeout != null) {
            cmd.getErr().println("llm-streams: " + kafkaTimeoutLine(cli.getCommand(), timeout));
            return 2;
          }
          cmd.getErr().println("llm-streams: " + e);
          throw e;
        });
    return cli;
  }

  /** The Kafka client timeout in {@code e}'s causes, or null. */
  static Throwable kafkaTimeout(Throwable e) {
    return Causes.find(e, org.apache.kafka.common.errors.TimeoutException.class);
  }

  private static String kafkaTimeoutLine(Main main, Throwable timeout) {
    String where;
    try {
      where = " at " + main.config().bootstrapServers();
    } catch (RuntimeException configUnreadable) {
      where = "";
    }
    return "Kafka"
        + where
        + " did not answer in time: "
        + timeout.getMessage()
        + " (is a broker running there, with the catalog's topics? `llm-streams kafka start`"
        + " and `llm-streams topics apply`, or set KAFKA_BOOTSTRAP)";
  }

  /** A problem the user can fix; printed as one line, no stack trace. */
  public static final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UserError(String message) {
      super(message);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {
        "llm-streams " + (v == null ? "dev" : v) + " (Kafka 4.4, Java " + Runtime.version() + ")"
      };
    }
  }
}
