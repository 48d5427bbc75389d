package dev.llmstreams.llm;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The LLM gateway as a pattern the runner starts: providers, limits, and the gateway topology. */
public final class GatewayModule implements PatternModule {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayModule.class);

  /** Makes the provider clients; tests pass their own (a scripted server, a fake). */
  @FunctionalInterface
  public interface ProviderFactory {
    LlmProvider create(ProviderSettings settings);
  }

  private final ProviderFactory factory;
  private final Map<String, String> env;
  private final LongSupplier nanoTime;
  private LlmGateway gateway;

  public GatewayModule() {
    this(Providers::create, System.getenv());
  }

  public GatewayModule(ProviderFactory factory, Map<String, String> env) {
    this(factory, env, System::nanoTime);
  }

  /** As {@link #GatewayModule(ProviderFactory, Map)}, measuring latencies with {@code nanoTime}. */
  public GatewayModule(ProviderFactory factory, Map<String, String> env, LongSupplier nanoTime) {
    this.factory = factory;
    this.env = env;
    this.nanoTime = nanoTime;
  }

  @Override
  public String name() {
    return "gateway";
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    Set<String> used = new LinkedHashSet<>(config.routeOf("default"));
    for (String route : AppConfig.ROUTES) {
      used.addAll(config.routeOf(route));
    }
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    Map<String, ProviderSettings> settings = new LinkedHashMap<>();
    for (String name : used) {
      ProviderSettings s = ProviderSettings.from(config, name, env);
      settings.put(name, s);
      providers.put(name, factory.create(s));
      LOG.info(
          "gateway: provider {} at {} (model {}, {} calls at once)",
          name,
          s.connection().baseUrl(),
          s.connection().defaultModel(),
          s.concurrency());
    }
    // Each shadow candidate gets a client of its own: even on a primary's provider, its calls never
    // wait behind the primary's in that client (the offline engine's threads, a connection pool).
    Map<String, ShadowRoute> shadows = ShadowRoute.configured(config, env);
    Map<String, LlmProvider> shadowProviders = new LinkedHashMap<>();
    for (ShadowRoute shadow : shadows.values()) {
      shadowProviders.computeIfAbsent(shadow.scope(), s -> factory.create(shadow.candidate()));
      LOG.info(
          "gateway: {}% of {} requests also go to the shadow candidate {} (model {}, {} calls at"
              + " once, llm.shadow.{}.*)",
          shadow.sample() * 100,
          shadow.purpose(),
          shadow.provider(),
          shadow.model(),
          shadow.candidate().concurrency(),
          shadow.scope());
    }
    gateway =
        new LlmGateway(
            config,
            providers,
            settings,
            shadows,
            shadowProviders,
            registry,
            Clock.systemUTC(),
            nanoTime);
    return new GatewayTopology(
            catalog,
            gateway,
            registry,
            Duration.ofMillis(config.getLong(AppConfig.LLM_CACHE_TTL_MS)),
            Duration.ofMillis(config.getLong(AppConfig.GATEWAY_POLL_MS)),
            config.getInt(AppConfig.GATEWAY_MAX_QUEUED),
            tracing(config),
            config.getInt(AppConfig.LLM_SHADOW_MAX_QUEUED))
        .withReplyCache(config.getString(AppConfig.LLM_REPLY_CACHE_TOPIC))
        .build();
  }

  /**
   * Finished calls are handed on at each poll: a short poll keeps slots from idling between calls.
   */
  @Override
  public Map<String, Object> streamsOverrides(AppConfig config) {
    Map<String, Object> settings =
        new LinkedHashMap<>(dev.llmstreams.runtime.StreamsSettings.interactive(config));
    settings.put(
        org.apache.kafka.streams.StreamsConfig.POLL_MS_CONFIG,
        config.getLong(AppConfig.GATEWAY_POLL_MS));
    return settings;
  }

  /**
   * Lets calls in flight finish and their replies be committed, so a graceful restart repeats none.
   */
  @Override
  public void beforeClose(Duration timeout) throws InterruptedException {
    if (gateway != null && !gateway.quiesce(timeout)) {
      LOG.warn(
          "gateway: calls still in flight after {} s; they will be sent again after restart",
          timeout.toSeconds());
    }
  }

  @Override
  public void afterClose() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /**
   * Calls through this module's gateway from another pattern's task in the same app ({@code
   * controller.llm.calls=direct}); the gateway is the one {@link #topology} builds.
   */
  public dev.llmstreams.runtime.LlmCalls directCalls(AppConfig config, MeterRegistry registry) {
    return new DirectCalls(
        () -> gateway,
        ShadowRoute.configured(config, env).keySet(),
        config.getString(AppConfig.LLM_REPLY_CACHE_TOPIC),
        registry);
  }

  /** The gateway built by {@link #topology}, for tests and benchmarks. */
  public LlmGateway gateway() {
    return gateway;
  }
}
