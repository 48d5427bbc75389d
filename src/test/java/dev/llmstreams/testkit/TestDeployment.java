package dev.llmstreams.testkit;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One deployment of the app on a (shared) test cluster: its own topic prefix with every catalog
 * topic created, and the settings that point the app at them, to which a test adds its own.
 *
 * @param settings mutable: the cluster, prefix, application id, a private state dir and a free HTTP
 *     port
 */
public record TestDeployment(String prefix, TopicCatalog catalog, Map<String, String> settings) {
  /**
   * For an app that a test SIGKILLs and starts again: a killed member leaves its groups after 6 s
   * (the broker's minimum) instead of the clients' default 45 s, so its partitions move within
   * seconds and the restarted instance does not wait for them.
   */
  public static final Map<String, String> SHORT_SESSIONS =
      Map.of(
          AppConfig.CLIENT_PREFIX + "session.timeout.ms",
          "6000",
          AppConfig.CLIENT_PREFIX + "heartbeat.interval.ms",
          "1500");

  /** How long {@link #start} waits for every pattern to be RUNNING. */
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  public static TestDeployment create(KafkaCluster kafka, String name, Path dir) throws Exception {
    String prefix = KafkaCluster.uniqueName(name) + ".";
    TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    Map<String, String> settings =
        new HashMap<>(
            Map.of(
                AppConfig.KAFKA_BOOTSTRAP,
                kafka.bootstrapServers(),
                AppConfig.TOPICS_PREFIX,
                prefix,
                AppConfig.APPLICATION_ID,
                prefix + "app",
                AppConfig.STATE_DIR,
                dir.resolve("state").toString(),
                AppConfig.HTTP_PORT,
                "0",
                // Calls go through tool-calls and tool-results, which these tests follow; a test of
                // the calculator answered in the controller's transaction (the default) sets it.
                AppConfig.CONTROLLER_INLINE_TOOLS,
                "",
                // Likewise the controller's LLM requests go through controller.llm-requests and
                // controller.llm-replies; a test of direct calls (the default) sets it.
                AppConfig.CONTROLLER_LLM_CALLS,
                "topic"));
    return new TestDeployment(prefix, catalog, settings);
  }

  /** Writes the settings as a properties file, for the command line's {@code --config}. */
  public Path writeProperties(Path file) throws java.io.IOException {
    StringBuilder text = new StringBuilder();
    settings.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    return java.nio.file.Files.writeString(file, text.toString());
  }

  /**
   * Every LLM call routed to an OpenAI-compatible server at {@code baseUrl} (the simulator, a
   * scripted server), with a test key.
   */
  public TestDeployment withOpenAi(java.net.URI baseUrl) {
    return with(
        Map.of(
            dev.llmstreams.config.AppConfig.LLM_ROUTE_DEFAULT,
            "openai",
            dev.llmstreams.config.AppConfig.provider("openai", "base.url"),
            baseUrl.toString(),
            dev.llmstreams.config.AppConfig.provider("openai", "api.key"),
            "sk-test-not-a-secret"));
  }

  /** The OpenAI provider's prices, USD per million input and output tokens. */
  public TestDeployment withOpenAiPrices(double input, double output) {
    return with(
        Map.of(
            dev.llmstreams.config.AppConfig.provider("openai", "price.input.per.mtok"),
            Double.toString(input),
            dev.llmstreams.config.AppConfig.provider("openai", "price.output.per.mtok"),
            Double.toString(output)));
  }

  /** The settings with {@code more} added. */
  public TestDeployment with(Map<String, String> more) {
    settings.putAll(more);
    return this;
  }

  /**
   * Starts the app of this deployment (its settings as they are now) with {@code modules}, and
   * returns it once every pattern is RUNNING; the caller closes it.
   */
  public LlmStreamsApp start(Observability observability, List<PatternModule> modules)
      throws Exception {
    LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
    try {
      app.start(modules);
      if (!app.awaitReady(READY_TIMEOUT)) {
        throw new AssertionError(
            "the app of "
                + prefix
                + " was not ready within "
                + READY_TIMEOUT
                + ": "
                + app.health());
      }
      return app;
    } catch (Exception | Error e) {
      app.close();
      throw e;
    }
  }
}
