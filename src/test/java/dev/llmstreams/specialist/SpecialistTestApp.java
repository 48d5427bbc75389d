package dev.llmstreams.specialist;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Path;
import java.util.List;

/**
 * Test-only entry point for a separate JVM (so a test can SIGKILL it): the gateway and the
 * specialist, with the test stand-in model loader, until killed. {@code run --patterns specialist}
 * would serve no model in this build: the product's loader arrives with the models.
 */
public final class SpecialistTestApp {
  private SpecialistTestApp() {}

  public static void main(String[] args) throws Exception {
    AppConfig config = AppConfig.load(Path.of(args[0]));
    TopicCatalog catalog =
        TopicCatalog.load().withPrefix(config.getString(AppConfig.TOPICS_PREFIX));
    Observability observability = new Observability();
    LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability);
    Runtime.getRuntime().addShutdownHook(new Thread(app::close));
    app.start(
        List.of(
            new GatewayModule(),
            new SpecialistModule(TestBayesClassifier.loader(), ModelRetrainer.none())));
    Thread.currentThread().join();
  }
}
