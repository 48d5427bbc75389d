package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.mcpserver.AppQueries;
import dev.llmstreams.mcpserver.LlmStreamsMcpServer;
import dev.llmstreams.mcpserver.LogClient;
import dev.llmstreams.observability.Health;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.HttpAuth;
import dev.llmstreams.observability.HttpTls;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running service: one Kafka Streams application per pattern, the HTTP server, the meters. The
 * only place that creates {@link KafkaStreams}.
 */
public final class LlmStreamsApp implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LlmStreamsApp.class);

  private final AppConfig config;
  private final TopicCatalog catalog;
  private final Observability observability;
  private final Map<String, KafkaStreams> streams = new LinkedHashMap<>();
  private final Map<String, PatternModule> runningModules = new LinkedHashMap<>();
  private HttpApi http;
  private LlmStreamsMcpServer mcp;
  private dev.llmstreams.observability.tracing.SpanExport spanExport;
  private boolean closed;

  public LlmStreamsApp(AppConfig config, TopicCatalog catalog, Observability observability) {
    this.config = config;
    this.catalog = catalog;
    this.observability = observability;
  }

  /**
   * Starts the selected patterns and the HTTP server; returns once everything is started (not yet
   * RUNNING).
   */
  public void start(List<PatternModule> modules) throws IOException {
    HttpAuth auth = HttpAuth.from(config);
    HttpTls tls = HttpTls.from(config).orElse(null);
    refuseUnsafe(config, auth);
    requirePrompts(config);
    HttpAuth.warnings(config).forEach(LOG::warn);
    http =
        new HttpApi(
            config.getString(AppConfig.HTTP_HOST),
            config.getInt(AppConfig.HTTP_PORT),
            observability,
            this::health,
            auth,
            tls);
    link(modules);
    Map<PatternModule, Topology> topologies;
    // One admin client for the start-up checks: the topics' partitions, then the groups.
    try (org.apache.kafka.clients.admin.Admin admin = Clients.admin(config)) {
      topologies = topologies(modules, admin);
      prepareGroups(modules, admin);
    }
    for (PatternModule module : modules) {
      Topology topology = topologies.get(module);
      org.apache.kafka.streams.TopologyDescription description = topology.describe();
      java.util.Properties props =
          StreamsSettings.forPattern(config, catalog, module.name(), observability.registry());
      // Interactive queries: every instance can tell where a key's state lives and ask that
      // instance.
      String advertised = config.getString(AppConfig.HTTP_ADVERTISED_HOST);
      org.apache.kafka.streams.state.HostInfo self =
          new org.apache.kafka.streams.state.HostInfo(
              advertised.isBlank() ? config.getString(AppConfig.HTTP_HOST) : advertised,
              http.port());
      props.put(
          org.apache.kafka.streams.StreamsConfig.APPLICATION_SERVER_CONFIG,
          self.host() + ":" + self.port());
      props.putAll(module.streamsOverrides(config));
      KafkaStreams ks = new KafkaStreams(topology, props);
      Counter replaced =
          Counter.builder("llmstreams.stream.threads.replaced")
              .description("Stream threads that died of an unexpected error and were replaced")
              .tag("pattern", module.name())
              .register(observability.registry());
      dev.llmstreams.runtime.ThreadReplacements deaths =
          new dev.llmstreams.runtime.ThreadReplacements(
              config.getInt(AppConfig.STREAM_THREAD_REPLACEMENTS_MAX));
      ks.setUncaughtExceptionHandler(
          e -> {
            if (!deaths.replace()) {
              LOG.error(
                  "pattern {}: stream thread died, {} deaths within 10 minutes ({}={}); shutting"
                      + " the pattern down: /health reports it, and a restart of the process tries"
                      + " again",
                  module.name(),
                  deaths.recent(),
                  AppConfig.STREAM_THREAD_REPLACEMENTS_MAX,
                  deaths.limit(),
                  e);
              return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            LOG.error("pattern {}: stream thread died; replacing it", module.name(), e);
            replaced.increment();
            return StreamThreadExceptionResponse.REPLACE_THREAD;
          });
      ks.setStateListener(
          (now, before) -> LOG.info("pattern {}: {} -> {}", module.name(), before, now));
      observability.bind(ks, module.name());
      dev.llmstreams.observability.StateTransferMeters.bind(
          ks, module.name(), observability.registry(), description);
      dev.llmstreams.observability.StoreEntries.register(
          observability.registry(), ks, module.name(), description);
      module.registerRoutes(http, ks, self);
      streams.put(module.name(), ks);
      runningModules.put(module.name(), module);
    }
    String advertisedHost = config.getString(AppConfig.HTTP_ADVERTISED_HOST);
    String instance =
        (advertisedHost.isBlank() ? config.getString(AppConfig.HTTP_HOST) : advertisedHost)
            + ":"
            + http.port();
    http.route(
        "/tasks",
        (rest, query) ->
            HttpApi.Reply.json(
                200,
                dev.llmstreams.events.Json.writer()
                    .writeValueAsString(
                        dev.llmstreams.observability.TaskView.of(
                            streams, instance, config.getString(AppConfig.GROUP_PROTOCOL)))));
    if (config.getBoolean(AppConfig.MCP_SERVER_ENABLED)) {
      // The MCP server's Kafka clients are made at its first tool call: none for an app never
      // asked.
      LogClient log =
          new LogClient(
              catalog,
              () -> Clients.producer(config),
              () -> Clients.committedReader(config, "llm-streams-mcp-"));
      mcp =
          LlmStreamsMcpServer.http(
              http,
              config,
              log,
              new AppQueries(this::ownUrl, http.client(), null),
              observability.registry());
    }
    streams.values().forEach(KafkaStreams::start);
    startSpanExport();
    http.start();
    LOG.info(
        "serving {}://{}:{}/metrics /health /ready{}; {}",
        http.scheme(),
        http.host(),
        http.port(),
        mcp == null ? "" : " /mcp",
        auth.required()
            ? "bearer tokens "
                + auth.names()
                + " required but on "
                + config.getList(AppConfig.HTTP_AUTH_OPEN_PATHS)
            : "no authentication");
  }

  /**
   * Before the patterns join their groups: refuses to start when a group is of the other protocol
   * and still has members (each stream thread would die at every heartbeat). Under {@code
   * group.protocol=streams}, also refuses a cluster without streams groups, and writes the standby
   * count, session timeout and heartbeat interval the app was given onto each pattern's group,
   * where the broker keeps them under that protocol ({@link dev.llmstreams.runtime.StreamsGroups}).
   * A group it may not change keeps its own settings; the WARN names the command that sets them.
   */
  private void prepareGroups(
      List<PatternModule> modules, org.apache.kafka.clients.admin.Admin admin) {
    String protocol = config.getString(AppConfig.GROUP_PROTOCOL);
    boolean streamsProtocol = dev.llmstreams.runtime.StreamsGroups.enabled(config);
    Duration timeout = Duration.ofMillis(Clients.COMMAND_TIMEOUT_MS);
    List<String> groups =
        modules.stream()
            .map(module -> StreamsSettings.applicationId(config, module.name()))
            .toList();
    if (streamsProtocol) {
      dev.llmstreams.runtime.StreamsGroups.requireSupported(admin, timeout);
    }
    dev.llmstreams.runtime.StreamsGroups.requireJoinable(admin, protocol, groups, timeout);
    if (!streamsProtocol) {
      return;
    }
    Map<String, String> wanted = dev.llmstreams.runtime.StreamsGroups.wanted(config);
    for (var outcome : dev.llmstreams.runtime.StreamsGroups.apply(admin, groups, wanted, timeout)) {
      if (outcome.failure() != null) {
        LOG.warn(
            "streams group {}: could not set {} ({}); the group keeps its own settings. Set them"
                + " with: {}",
            outcome.group(),
            wanted,
            outcome.failure(),
            outcome.command(config.bootstrapServers(), wanted));
      } else if (!outcome.changed().isEmpty()) {
        LOG.info("streams group {}: set {}", outcome.group(), outcome.changed());
      }
    }
    LOG.info(
        "group.protocol=streams: the brokers assign the patterns' tasks; group settings {}",
        wanted.isEmpty() ? "as the groups have them" : wanted);
  }

  /**
   * Ships the spans topic over OTLP when tracing is on (the exporters of all instances share one
   * consumer group, so each span is sent by one of them).
   */
  private void startSpanExport() {
    var tracing = dev.llmstreams.observability.tracing.TracingSettings.of(config);
    if (!tracing.recording()) {
      return;
    }
    var otel =
        dev.llmstreams.observability.tracing.TracingSettings.otel(
            System.getenv(), System.getProperties());
    String endpoint = otel.apply("otel.exporter.otlp.traces.endpoint");
    if (endpoint == null) {
      endpoint = otel.apply("otel.exporter.otlp.endpoint");
    }
    if (!tracing.export()) {
      LOG.info("tracing: spans recorded to topic {}; exported by other instances", spansTopic());
      return;
    }
    spanExport =
        new dev.llmstreams.observability.tracing.SpanExport(
            config.clientProperties(),
            StreamsSettings.applicationId(config, "span-export"),
            spansTopic(),
            otel,
            observability.registry());
    spanExport.start();
    LOG.info(
        "tracing: spans recorded to topic {} and exported over OTLP to {}",
        spansTopic(),
        endpoint == null
            ? "the OTLP default endpoint"
            : endpoint.replaceAll("//[^/@]*@", "//***@")); // no credentials in the log
  }

  private String spansTopic() {
    return catalog.topic(dev.llmstreams.topics.Topics.SPANS).name();
  }

  /**
   * Refuses an HTTP server that anyone on the network could call, and one whose tokens or keystore
   * cannot be read: {@code http.host} not loopback without tokens and without an explicit {@code
   * http.auth=none} (see {@link HttpAuth#refusal}).
   */
  static void requireHttpAuth(AppConfig config) {
    HttpAuth auth = HttpAuth.from(config);
    HttpTls.from(config);
    refuseUnsafe(config, auth);
  }

  /**
   * Loads the prompts (the shipped ones, and those of {@code prompts.dir} over them) for this
   * process, which logs the replaced ones; refuses, naming the file and the problem, a folder the
   * patterns could not use.
   */
  static void requirePrompts(AppConfig config) {
    try {
      Prompts.of(config);
    } catch (IllegalStateException | java.io.UncheckedIOException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  private static void refuseUnsafe(AppConfig config, HttpAuth auth) {
    HttpAuth.refusal(config, auth)
        .ifPresent(
            why -> {
              throw new Main.UserError(why);
            });
  }

  /**
   * This instance's HTTP server, as the MCP tools ask it (loopback when bound to every address).
   */
  private String ownUrl() {
    String host = http.host();
    java.net.InetAddress bound = http.address();
    if (bound == null || bound.isAnyLocalAddress()) {
      // A certificate names localhost more often than 127.0.0.1.
      host = http.scheme().equals("https") ? "localhost" : "127.0.0.1";
    } else if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return http.scheme() + "://" + host + ":" + http.port();
  }

  /**
   * A controller beside the gateway in this app may call it directly ({@code
   * controller.llm.calls}).
   */
  private void link(List<PatternModule> modules) {
    dev.llmstreams.llm.GatewayModule gateway =
        modules.stream()
            .filter(dev.llmstreams.llm.GatewayModule.class::isInstance)
            .map(dev.llmstreams.llm.GatewayModule.class::cast)
            .findFirst()
            .orElse(null);
    for (PatternModule module : modules) {
      if (module instanceof dev.llmstreams.controller.ControllerModule controller) {
        controller.withLlmCalls(
            gateway == null ? null : gateway.directCalls(config, observability.registry()));
      }
    }
  }

  /**
   * Each module's topology, built from the catalog with the partition counts the cluster has (keyed
   * records are placed by them, see KeyedInput), then checked against it with {@code admin} and one
   * listing of the cluster's topics: inputs with fewer partitions than their key partners are
   * warned of, state that would have to move is refused. When the cluster cannot be asked, the
   * declared counts (what {@code topics apply} creates) and no check.
   */
  private Map<PatternModule, Topology> topologies(
      List<PatternModule> modules, org.apache.kafka.clients.admin.Admin admin) {
    Map<PatternModule, Topology> out = new LinkedHashMap<>();
    try {
      java.util.Set<String> existing = admin.listTopics().names().get();
      TopicCatalog deployed = InputPartitions.resolve(admin, catalog, existing);
      for (PatternModule module : modules) {
        Topology topology = module.topology(deployed, config, observability.registry());
        org.apache.kafka.streams.TopologyDescription description = topology.describe();
        InputPartitions.warnings(module.name(), description, deployed).forEach(LOG::warn);
        out.put(module, topology);
        try {
          InputPartitions.requireStateFits(
              admin,
              existing,
              module.name(),
              StreamsSettings.applicationId(config, module.name()),
              description,
              deployed);
        } catch (java.util.concurrent.ExecutionException e) {
          LOG.warn(
              "pattern {}: cannot compare its changelogs' partitions with its inputs' ({})",
              module.name(),
              e.toString());
        }
      }
      return out;
    } catch (java.util.concurrent.ExecutionException | org.apache.kafka.common.KafkaException e) {
      LOG.warn(
          "cannot read the topics' partition counts ({}); placing keyed records by the catalog's",
          e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (PatternModule module : modules) {
      out.putIfAbsent(module, module.topology(catalog, config, observability.registry()));
    }
    return out;
  }

  public Health health() {
    Map<String, String> states = new LinkedHashMap<>();
    streams.forEach((name, ks) -> states.put(name, ks.state().name()));
    return Health.of(states);
  }

  /** Waits until every pattern is RUNNING; false when the timeout passes first. */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (!health().ready()) {
      if (System.nanoTime() > until) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  public int httpPort() {
    return http.port();
  }

  public HttpApi http() {
    return http;
  }

  public Map<String, KafkaStreams> streams() {
    return streams;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    Duration timeout = Duration.ofMillis(config.getLong(AppConfig.SHUTDOWN_TIMEOUT_MS));
    // Leave the group on a graceful stop so partitions move to other instances at once.
    runningModules.forEach(
        (name, module) -> {
          try {
            module.beforeClose(timeout);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (RuntimeException e) {
            LOG.warn("pattern {}: could not finish work in flight before closing", name, e);
          }
        });
    // All patterns close at once: in turn, a broker that is gone would cost the timeout once per
    // pattern.
    List<Thread> closing = new java.util.ArrayList<>();
    streams.forEach(
        (name, ks) -> {
          Thread t =
              new Thread(
                  () -> {
                    boolean clean =
                        ks.close(
                            CloseOptions.groupMembershipOperation(
                                    CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                                .withTimeout(timeout));
                    LOG.info("pattern {} closed{}", name, clean ? "" : " (timed out)");
                  },
                  "llmstreams-close-" + name);
          t.start();
          closing.add(t);
        });
    boolean interrupted = false;
    for (Thread t : closing) {
      try {
        t.join(timeout.toMillis() + 5_000);
      } catch (InterruptedException e) {
        interrupted =
            true; // keep waiting: afterClose must not release what a closing pattern still uses
        try {
          t.join(timeout.toMillis() + 5_000);
        } catch (InterruptedException again) {
          // give up on this one; the flag is restored below
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    runningModules.values().forEach(PatternModule::afterClose);
    if (spanExport != null) {
      spanExport.close();
    }
    if (mcp != null) {
      mcp.close();
    }
    if (http != null) {
      http.close();
    }
  }
}
