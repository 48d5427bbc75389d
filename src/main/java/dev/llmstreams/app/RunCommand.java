package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.mcp.McpServers;
import dev.llmstreams.runtime.mcp.McpUnavailableException;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description =
        "Run the app: the selected patterns, the HTTP server (/metrics, /health, /ready, the MCP server at /mcp). Stops on SIGTERM or Ctrl-C.")
final class RunCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @ParentCommand Main main;

  @Option(
      names = "--patterns",
      split = ",",
      paramLabel = "NAME",
      description =
          "Patterns to run (gateway, tools, controller, summarizer, specialist); default: config `patterns`.")
  List<String> patterns;

  @Override
  @SuppressWarnings(
      "try") // the shutdown hook closes the app, which the try also closes (close is idempotent)
  public Integer call() throws Exception {
    AppConfig config = main.config();
    List<String> requested = patterns != null ? patterns : config.patterns();
    List<String> unknown =
        requested.stream().filter(p -> !AppConfig.ALL_PATTERNS.contains(p)).toList();
    if (!unknown.isEmpty()) {
      throw new Main.UserError(
          "unknown pattern(s) " + unknown + "; known: " + AppConfig.ALL_PATTERNS);
    }
    List<PatternModule> modules = Patterns.select(requested, patterns != null);
    List<String> later = Patterns.unavailable(requested);
    if (!later.isEmpty()) {
      LOG.info(
          "patterns {} are not in this build yet; running {}",
          later,
          modules.stream().map(PatternModule::name).toList());
    }
    LlmStreamsApp.requireHttpAuth(config); // before Kafka is asked: a mistake is told at once
    LlmStreamsApp.requirePrompts(config);
    requireCluster(config, main.catalog(), modules);
    config.describe().forEach((k, v) -> LOG.debug("config {} = {}", k, v));
    CountDownLatch stopped = new CountDownLatch(1);
    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(config, main.catalog(), observability)) {
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    app.close();
                    stopped.countDown();
                  },
                  "llmstreams-shutdown"));
      McpServers mcp = requireMcpServers(config, modules, observability);
      try {
        app.start(modules);
        System.out.printf(
            "llm-streams running %s on %s; %s://%s:%d/metrics%n",
            modules.stream().map(PatternModule::name).toList(),
            config.bootstrapServers(),
            app.http().scheme(),
            config.getString(AppConfig.HTTP_HOST),
            app.httpPort());
        stopped.await();
      } finally {
        McpServers.release(config, mcp);
      }
    }
    return 0;
  }

  /**
   * Starts the declared MCP servers and lists their tools before any pattern starts, when the
   * controller or the tools pattern runs here; refuses with the reason when one cannot be reached.
   * The patterns then share these sessions.
   */
  static McpServers requireMcpServers(
      AppConfig config, List<PatternModule> modules, Observability observability) {
    McpServers mcp = McpServers.shared(config, observability.registry());
    boolean needed =
        modules.stream().anyMatch(m -> m.name().equals("controller") || m.name().equals("tools"));
    try {
      if (needed) {
        mcp.connectAll();
      }
    } catch (McpUnavailableException e) {
      McpServers.release(config, mcp);
      throw new Main.UserError(
          e.getMessage()
              + "; check its declaration in "
              + config.getString(AppConfig.MCP_DIR)
              + " (command, args and env, or url and headers)");
    }
    return mcp;
  }

  /**
   * Checks the cluster before anything starts, with one admin client and one topic listing: the
   * catalog topics exist, and so do what the selected patterns need (see the checks below).
   */
  static void requireCluster(AppConfig config, TopicCatalog catalog, List<PatternModule> modules)
      throws Exception {
    try (Admin admin = Clients.admin(config)) {
      Set<String> existing;
      try {
        existing = admin.listTopics().names().get();
      } catch (java.util.concurrent.ExecutionException e) {
        throw new Main.UserError(
            "cannot reach Kafka at "
                + config.bootstrapServers()
                + ": "
                + e.getCause().getMessage()
                + " (start one with `llm-streams kafka start`, or set KAFKA_BOOTSTRAP)");
      }
      Set<String> missing = TopicAdmin.missing(catalog.all(), existing);
      if (!missing.isEmpty()) {
        throw new Main.UserError(
            "topics missing on "
                + config.bootstrapServers()
                + ": "
                + missing
                + "; run `llm-streams topics apply` first");
      }
      // Topics a pattern meets by key may differ in partition count: records are placed on their
      // key's partition
      // (KeyedInput), and LlmStreamsApp says at start what that costs or why it cannot work.
      if (modules.stream().anyMatch(m -> m.name().equals("tools"))) {
        requirePublishTopics(config, existing);
      }
    }
  }

  /**
   * Refuses to start the tool workers when a topic the publish tool may write to does not exist:
   * its write would fail inside the worker's transaction, again on every retry of the call.
   */
  private static void requirePublishTopics(AppConfig config, Set<String> existing) {
    List<String> missing =
        config.getList(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS).stream()
            .map(String::trim)
            .filter(t -> !t.isEmpty() && !existing.contains(t))
            .toList();
    if (!missing.isEmpty()) {
      throw new Main.UserError(
          AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS
              + " names topics that do not exist on "
              + config.bootstrapServers()
              + ": "
              + missing
              + "; create them (or remove them from the list) first");
    }
  }
}
