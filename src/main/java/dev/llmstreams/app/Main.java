package dev.llmstreams.app;

import dev.llmstreams.broker.KafkaCommand;
import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
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
      KafkaCommand.class,
      TopicsCommand.class,
      RunCommand.class,
      ProduceCommand.class,
      TailCommand.class,
      DemoCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  @Option(names = "--config", paramLabel = "FILE",
      description = "Properties file (defaults < file < LLMSTREAMS_* environment variables).", scope = CommandLine.ScopeType.INHERIT)
  Path configFile;

  private AppConfig config;
  private TopicCatalog catalog;

  /** The effective configuration, loaded once. */
  AppConfig config() {
    if (config == null) {
      config = AppConfig.load(configFile);
    }
    return config;
  }

  TopicCatalog catalog() {
    if (catalog == null) {
      catalog = TopicCatalog.load().withPrefix(config().getString(AppConfig.TOPICS_PREFIX));
    }
    return catalog;
  }

  /** The local broker as the config describes it. */
  static LocalBroker.Settings brokerSettings(AppConfig config) {
    return new LocalBroker.Settings(Path.of(config.getString(AppConfig.KAFKA_HOME)), config.getString(AppConfig.KAFKA_HOST),
        config.getInt(AppConfig.KAFKA_PORT), config.getInt(AppConfig.KAFKA_CONTROLLER_PORT), LocalBroker.DEFAULT_HEAP);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof ConfigException || e instanceof UserError) {
        cmd.getErr().println("llm-streams: " + e.getMessage());
        return 2;
      }
      cmd.getErr().println("llm-streams: " + e);
      throw e;
    });
    return cli;
  }

  /** A problem the user can fix; printed as one line, no stack trace. */
  public static final class UserError extends RuntimeException {
    public UserError(String message) {
      super(message);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"llm-streams " + (v == null ? "dev" : v) + " (Kafka 4.4, Java " + Runtime.version() + ")"};
    }
  }
}
