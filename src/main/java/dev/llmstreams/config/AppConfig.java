package dev.llmstreams.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

/**
 * The one typed configuration of the app: defaults &lt; properties file &lt; environment variables.
 *
 * <p>A key such as {@code http.port} is read from {@code LLMSTREAMS_HTTP_PORT}; {@code
 * KAFKA_BOOTSTRAP} sets {@code kafka.bootstrap}. Keys under {@code kafka.client.} pass straight
 * through to every Kafka client (security settings, config providers). Kafka's own {@link
 * ConfigDef} does types, ranges and messages that name the key.
 */
public final class AppConfig extends AbstractConfig {
  private final Map<String, TenantSettings> tenants;
  public static final String ENV_PREFIX = "LLMSTREAMS_";
  public static final String BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP";
  public static final String CLIENT_PREFIX = "kafka.client.";

  public static final String APPLICATION_ID = "application.id";
  public static final String KAFKA_BOOTSTRAP = "kafka.bootstrap";
  public static final String KAFKA_HOST = "kafka.host";
  public static final String KAFKA_PORT = "kafka.port";
  public static final String KAFKA_CONTROLLER_PORT = "kafka.controller.port";
  public static final String KAFKA_HOME = "kafka.home";
  public static final String HTTP_HOST = "http.host";
  public static final String HTTP_PORT = "http.port";
  public static final String HTTP_ADVERTISED_HOST = "http.advertised.host";
  public static final String HTTP_AUTH = "http.auth";
  public static final String HTTP_AUTH_TOKENS_FILE = "http.auth.tokens.file";
  public static final String HTTP_AUTH_OPEN_PATHS = "http.auth.open.paths";
  public static final String HTTP_TLS_KEYSTORE_FILE = "http.tls.keystore.file";
  public static final String HTTP_TLS_KEYSTORE_PASSWORD = "http.tls.keystore.password";
  public static final String HTTP_TLS_KEYSTORE_PASSWORD_FILE = "http.tls.keystore.password.file";
  public static final String HTTP_TLS_KEYSTORE_TYPE = "http.tls.keystore.type";
  public static final String STATE_DIR = "state.dir";
  public static final String PROCESSING_GUARANTEE = "processing.guarantee";
  public static final String COMMIT_INTERVAL_MS = "commit.interval.ms";
  public static final String POLL_MS = "poll.ms";
  public static final String INTERACTIVE_COMMIT_INTERVAL_MS = "interactive.commit.interval.ms";
  public static final String INTERACTIVE_COMMIT_QUIET_MS = "interactive.commit.quiet.ms";
  public static final String INTERACTIVE_MAX_TASK_IDLE_MS = "interactive.max.task.idle.ms";
  public static final String NUM_STREAM_THREADS = "num.stream.threads";
  public static final String NUM_STANDBY_REPLICAS = "num.standby.replicas";
  public static final String GROUP_PROTOCOL = "group.protocol";
  public static final String TOPICS_REPLICATION_FACTOR = "topics.replication.factor";
  public static final String TOPICS_PREFIX = "topics.prefix";
  public static final String PATTERNS = "patterns";
  public static final String SHUTDOWN_TIMEOUT_MS = "shutdown.timeout.ms";
  public static final String STREAM_THREAD_REPLACEMENTS_MAX = "stream.thread.replacements.max";
  public static final String LOG_LEVEL = "log.level";
  public static final String SUMMARIZER_CHUNK_TOKENS = "summarizer.chunk.tokens";
  public static final String SUMMARIZER_CHUNK_OVERLAP_TOKENS = "summarizer.chunk.overlap.tokens";
  public static final String SUMMARIZER_MAX_DOCUMENT_CHARS = "summarizer.max.document.chars";
  public static final String SUMMARIZER_MERGE_FAN_IN = "summarizer.merge.fan.in";
  public static final String SUMMARIZER_MERGE_TOKEN_BUDGET = "summarizer.merge.token.budget";
  public static final String SUMMARIZER_SYNTHESIS_INTERVAL_MS = "summarizer.synthesis.interval.ms";
  public static final String SUMMARIZER_WINDOW_MS = "summarizer.window.ms";
  public static final String SUMMARIZER_WINDOW_GRACE_MS = "summarizer.window.grace.ms";
  public static final String SUMMARIZER_TIMESTAMP_AFTER_MAX_MS =
      "summarizer.timestamp.after.max.ms";
  public static final String SUMMARIZER_WINDOW_RETENTION_MS = "summarizer.window.retention.ms";
  public static final String CONTROLLER_MAX_STEPS = "controller.max.steps";
  public static final String CONTROLLER_MAX_TOKENS = "controller.max.tokens";
  public static final String CONTROLLER_MAX_COST_USD = "controller.max.cost.usd";
  public static final String CONTROLLER_DEADLINE_MS = "controller.deadline.ms";
  public static final String CONTROLLER_TENANT_BUDGET_PERIOD = "controller.tenant.budget.period";
  public static final String CONTROLLER_MAX_REPAIRS = "controller.max.repairs";
  public static final String CONTROLLER_INLINE_TOOLS = "controller.inline.tools";
  public static final String CONTROLLER_LLM_CALLS = "controller.llm.calls";
  public static final String CONTROLLER_MAX_DELEGATION_DEPTH = "controller.max.delegation.depth";
  public static final String CONTROLLER_RETENTION_MS = "controller.retention.ms";
  public static final String CONTROLLER_TICK_MS = "controller.tick.ms";
  public static final String CONTROLLER_MAX_RESULT_CHARS = "controller.max.result.chars";
  public static final String CONTROLLER_MAX_GOAL_CHARS = "controller.max.goal.chars";
  public static final int DEFAULT_CONTROLLER_MAX_GOAL_CHARS = 100_000;
  public static final String CONTROLLER_MAX_ARGUMENTS_CHARS = "controller.max.arguments.chars";
  public static final int DEFAULT_CONTROLLER_MAX_ARGUMENTS_CHARS = 100_000;
  public static final int DEFAULT_CONTROLLER_MAX_DELEGATION_DEPTH = 2;
  public static final String CONTROLLER_MAX_ANSWER_CHARS = "controller.max.answer.chars";
  public static final int DEFAULT_CONTROLLER_MAX_ANSWER_CHARS = 100_000;
  public static final String CONTROLLER_MAX_STATE_BYTES = "controller.max.state.bytes";
  public static final int DEFAULT_CONTROLLER_MAX_STATE_BYTES = 900_000;
  public static final String TOOLS_DIR = "tools.dir";
  public static final String MCP_DIR = "mcp.dir";
  public static final String PROMPTS_DIR = "prompts.dir";
  public static final String MCP_SERVER_ENABLED = "mcp.server.enabled";
  public static final String TRACING_ENABLED = "tracing.enabled";
  public static final String TRACING_CAPTURE_CONTENT = "tracing.capture.content";
  public static final String TRACING_EXPORT = "tracing.export";
  public static final String MCP_SERVER_TOKEN = "mcp.server.token";
  public static final String MCP_SERVER_TOKEN_FILE = "mcp.server.token.file";
  public static final String MCP_SERVER_ALLOWED_ORIGINS = "mcp.server.allowed.origins";
  public static final String MCP_APP_URL = "mcp.app.url";
  public static final String MCP_APP_TOKEN = "mcp.app.token";
  public static final String MCP_APP_TOKEN_FILE = "mcp.app.token.file";
  public static final String TOOLS_HTTP_ALLOWED_HOSTS = "tools.http.allowed.hosts";
  public static final String TOOLS_HTTP_MAX_BYTES = "tools.http.max.bytes";
  public static final String TOOLS_HTTP_TIMEOUT_MS = "tools.http.timeout.ms";
  public static final String TOOLS_PUBLISH_ALLOWED_TOPICS = "tools.publish.allowed.topics";
  public static final String TOOLS_SYNTHESIS_URL = "tools.synthesis.url";
  public static final String TOOLS_RETENTION_MS = "tools.retention.ms";
  public static final String SPECIALIST_MODEL_NAME = "specialist.model.name";
  public static final String SPECIALIST_THRESHOLD = "specialist.threshold";
  public static final String SPECIALIST_MAX_TEXT_CHARS = "specialist.max.text.chars";
  public static final String SPECIALIST_MAX_PAYLOAD_BYTES = "specialist.max.payload.bytes";
  public static final String SPECIALIST_ESCALATION_EXAMPLES = "specialist.escalation.examples";
  public static final String SPECIALIST_ESCALATION_TIMEOUT_MS = "specialist.escalation.timeout.ms";
  public static final String SPECIALIST_LABEL_DESCRIPTIONS = "specialist.label.descriptions";
  public static final String SPECIALIST_TICK_MS = "specialist.tick.ms";
  public static final String SPECIALIST_RETRAIN_AFTER_LABELS = "specialist.retrain.after.labels";
  public static final String SPECIALIST_LEARN_FROM = "specialist.learn.from";
  public static final String SPECIALIST_RETRAIN_INTERVAL_MS = "specialist.retrain.interval.ms";
  public static final String SPECIALIST_RETRAIN_HOLDOUT_PERCENT =
      "specialist.retrain.holdout.percent";
  public static final String SPECIALIST_PROMOTION_TOLERANCE = "specialist.promotion.tolerance";
  public static final String SPECIALIST_PROMOTION_MIN_EXAMPLES =
      "specialist.promotion.min.examples";
  public static final String SPECIALIST_ACCURACY_RETENTION_MS = "specialist.accuracy.retention.ms";
  public static final String SPECIALIST_WAITING_MAX_EVENTS = "specialist.waiting.max.events";
  public static final String SPECIALIST_EXAMPLES_MAX = "specialist.examples.max";
  public static final String SPECIALIST_MODELS_SIGNING_KEY = "specialist.models.signing.key";
  public static final String SPECIALIST_MODELS_SIGNING_KEY_FILE =
      "specialist.models.signing.key.file";
  public static final String SPECIALIST_MODELS_VERIFY_KEY_FILE =
      "specialist.models.verify.key.file";

  public static final List<String> PROVIDERS = List.of("openai", "anthropic", "offline");
  public static final List<String> PURPOSES = List.of("controller", "summarizer", "specialist");
  public static final String LLM_ROUTE_DEFAULT = "llm.route.default";

  /**
   * The controller's turn after one whose tool calls failed the guards: routed by {@code
   * llm.route.controller.repair} (e.g. a stronger model), else as {@code controller}.
   */
  public static final String CONTROLLER_REPAIR = "controller.repair";

  /** What has a route key of its own ({@code llm.route.<name>}), besides the default. */
  public static final List<String> ROUTES =
      List.of("controller", CONTROLLER_REPAIR, "summarizer", "specialist");

  public static final String LLM_RETRY_MAX_ATTEMPTS = "llm.retry.max.attempts";
  public static final String LLM_RETRY_INITIAL_BACKOFF_MS = "llm.retry.initial.backoff.ms";
  public static final String LLM_RETRY_MAX_BACKOFF_MS = "llm.retry.max.backoff.ms";
  public static final String LLM_CIRCUIT_FAILURE_RATE = "llm.circuit.failure.rate.threshold";
  public static final String LLM_CIRCUIT_MINIMUM_CALLS = "llm.circuit.minimum.calls";
  public static final String LLM_CIRCUIT_OPEN_MS = "llm.circuit.open.ms";
  public static final String LLM_CACHE_TTL_MS = "llm.cache.ttl.ms";
  public static final String LLM_REPLY_CACHE_TOPIC = "llm.reply.cache.topic";
  public static final String LLM_MAX_CALL_MS = "llm.max.call.ms";
  public static final String LLM_SHADOW_CONCURRENCY = "llm.shadow.concurrency";
  public static final String LLM_SHADOW_MAX_QUEUED = "llm.shadow.max.queued";
  public static final int DEFAULT_LLM_SHADOW_MAX_QUEUED = 1_000;

  /** Where shadow settings are given: {@code default}, then each purpose. */
  public static final List<String> SHADOW_SCOPES = List.of(concat("default", PURPOSES));

  public static final String GATEWAY_MAX_QUEUED = "gateway.max.queued";
  public static final String GATEWAY_POLL_MS = "gateway.poll.ms";

  /** The key of a per-purpose route, e.g. {@code llm.route.summarizer}. */
  public static String route(String purpose) {
    return "llm.route." + purpose;
  }

  /**
   * The route a request's purpose follows, by its key in {@link #ROUTES}: the purpose itself when
   * it has a route of its own ({@code controller.repair}), else its first segment ({@code
   * summarizer.chunk} → {@code summarizer}).
   */
  public static String routeName(String purpose) {
    if (ROUTES.contains(purpose)) {
      return purpose;
    }
    int dot = purpose.indexOf('.');
    return dot < 0 ? purpose : purpose.substring(0, dot);
  }

  /**
   * The providers a route's requests go to, in the order they are tried: {@link #routeStepsOf}
   * without the models.
   */
  public List<String> routeOf(String route) {
    return routeStepsOf(route).stream().map(RouteStep::provider).toList();
  }

  /**
   * A route's steps, in the order they are tried: its value ({@code llm.route.<route>}, a
   * comma-separated list), else the route it refines ({@code controller.repair} → {@code
   * controller}), else {@code llm.route.default}.
   */
  public List<RouteStep> routeStepsOf(String route) {
    if (ROUTES.contains(route)) {
      String own = getString(route(route));
      if (!own.isBlank()) {
        return parseRoute(own);
      }
      int dot = route.lastIndexOf('.');
      if (dot > 0) {
        return routeStepsOf(route.substring(0, dot));
      }
    }
    return parseRoute(getString(LLM_ROUTE_DEFAULT));
  }

  /**
   * One step of a route: a provider, and the model to ask it for (null: the provider's {@code
   * llm.<provider>.model}); a request naming its own model keeps it.
   */
  public record RouteStep(String provider, String model) {
    /**
     * {@code provider} or {@code provider:model}, split at the first ':' ({@code openai:llama3:8b}
     * is openai's model {@code llama3:8b}).
     */
    public static RouteStep parse(String entry) {
      int colon = entry.indexOf(':');
      if (colon < 0) {
        return new RouteStep(entry.trim(), null);
      }
      return new RouteStep(entry.substring(0, colon).trim(), entry.substring(colon + 1).trim());
    }

    @Override
    public String toString() {
      return model == null ? provider : provider + ":" + model;
    }
  }

  /** The entries of a route's value, in order, as written ({@code openai:gpt-4o, offline}). */
  public static List<String> splitRoute(String value) {
    return java.util.Arrays.stream(value.split(","))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .toList();
  }

  /** The steps of a route's value, in order. */
  public static List<RouteStep> parseRoute(String value) {
    return splitRoute(value).stream().map(RouteStep::parse).toList();
  }

  /**
   * A route: one provider, or several separated by commas, each once, each perhaps with a model
   * ({@code openai:gpt-4o}); empty when allowed.
   */
  private static ConfigDef.Validator routeValidator(boolean emptyAllowed) {
    return (name, value) -> {
      String text = value == null ? "" : value.toString();
      List<RouteStep> steps = parseRoute(text);
      List<String> providers = steps.stream().map(RouteStep::provider).toList();
      if (providers.isEmpty()) {
        if (emptyAllowed && text.isBlank()) {
          return;
        }
        throw new ConfigException(name, value, "name a provider: one of " + PROVIDERS);
      }
      for (String p : providers) {
        if (!PROVIDERS.contains(p)) {
          throw new ConfigException(
              name, value, "unknown provider '" + p + "'; one of " + PROVIDERS);
        }
      }
      for (RouteStep step : steps) {
        if (step.model() != null && step.model().isEmpty()) {
          throw new ConfigException(
              name, value, "name a model after '" + step.provider() + ":', or leave out the ':'");
        }
      }
      if (new java.util.HashSet<>(providers).size() != providers.size()) {
        // A provider's slots, rate limits and circuit are shared by all its models: the same
        // provider again, with another model, would mostly fail the same way.
        throw new ConfigException(name, value, "a provider may appear once in a route");
      }
    };
  }

  /**
   * The key of a shadow setting of a scope ({@code default} or a purpose), e.g. {@code
   * llm.shadow.controller.sample}.
   */
  public static String shadow(String scope, String setting) {
    return "llm.shadow." + scope + "." + setting;
  }

  /** The key of a per-provider setting, e.g. {@code llm.openai.base.url}. */
  public static String provider(String provider, String setting) {
    return "llm." + provider + "." + setting;
  }

  /** Every pattern the runner knows; each arrives with its own issue. */
  public static final List<String> ALL_PATTERNS =
      List.of("gateway", "tools", "controller", "summarizer", "specialist");

  public static final ConfigDef DEFINITION =
      new ConfigDef()
          .define(
              APPLICATION_ID,
              Type.STRING,
              "llm-streams",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Kafka Streams application id prefix; each pattern runs as <application.id>-<pattern>.")
          .define(
              KAFKA_BOOTSTRAP,
              Type.STRING,
              "",
              Importance.HIGH,
              "Bootstrap servers of an existing cluster; also read from KAFKA_BOOTSTRAP. When set, nothing local is"
                  + " started, demo included. Empty: the local broker at kafka.host:kafka.port.")
          .define(
              KAFKA_HOST,
              Type.STRING,
              "127.0.0.1",
              new ConfigDef.NonEmptyString(),
              Importance.LOW,
              "Address the local broker (llm-streams kafka start) listens on.")
          .define(
              KAFKA_PORT,
              Type.INT,
              9092,
              Range.between(1, 65535),
              Importance.MEDIUM,
              "Port of the local broker.")
          .define(
              KAFKA_CONTROLLER_PORT,
              Type.INT,
              0,
              Range.between(0, 65535),
              Importance.LOW,
              "KRaft controller port of the local broker; 0 means kafka.port + 1.")
          .define(
              KAFKA_HOME,
              Type.STRING,
              ".llm-streams/kafka",
              Importance.LOW,
              "Data and logs of the local broker.")
          .define(
              HTTP_HOST,
              Type.STRING,
              "127.0.0.1",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Address of the HTTP server (/metrics, /health, /ready, /syntheses, /goals, /specialist, /mcp)."
                  + " Loopback unless set; bound to any other address, the app refuses to start without bearer"
                  + " tokens (http.auth.tokens.file) unless http.auth=none says so explicitly.")
          .define(
              HTTP_PORT,
              Type.INT,
              9400,
              Range.between(0, 65535),
              Importance.MEDIUM,
              "Port of the HTTP server; 0 picks a free one.")
          .define(
              HTTP_ADVERTISED_HOST,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Host other instances use to reach this one's HTTP server for interactive queries (GET"
                  + " /syntheses/{key} and GET /goals/{id} are forwarded to the instance that owns the key); empty:"
                  + " http.host.")
          .define(
              HTTP_AUTH,
              Type.STRING,
              "auto",
              ValidString.in("auto", "bearer", "none"),
              Importance.HIGH,
              "Authentication of the HTTP server: bearer requires Authorization: Bearer <token> with a token of"
                  + " http.auth.tokens.file (or mcp.server.token) holding the route's scope on every route but"
                  + " http.auth.open.paths, and refuses to start without tokens; none serves everyone (beyond"
                  + " loopback only when set explicitly, with a warning at start); auto is bearer when tokens are"
                  + " configured, else none on a loopback http.host, and a refusal to start on any other.")
          .define(
              HTTP_AUTH_TOKENS_FILE,
              Type.STRING,
              "",
              Importance.HIGH,
              "File of the HTTP server's bearer tokens, one per line: name:scopes:token, scopes a comma list of"
                  + " read (GET /goals, /syntheses, /specialist; MCP tools that read), write (MCP tools that"
                  + " produce: submit_goal, send_document, classify_text) and metrics (GET /metrics); the token"
                  + " either as is (at least 16 characters) or as sha256:<64 hex digits> of it, so that the file"
                  + " need not hold it. # starts a comment. Read at start; tokens are never logged, names are.")
          .define(
              HTTP_AUTH_OPEN_PATHS,
              Type.LIST,
              "/health,/ready",
              ConfigDef.ValidList.in("/health", "/ready", "/metrics"),
              Importance.MEDIUM,
              "Routes served without a token when authentication is on (of /health, /ready and /metrics):"
                  + " probes usually cannot send one. Empty: every route needs a token.")
          .define(
              HTTP_TLS_KEYSTORE_FILE,
              Type.STRING,
              "",
              Importance.HIGH,
              "Keystore (the server's private key and certificate chain) that turns the HTTP server to HTTPS"
                  + " (TLSv1.3 and TLSv1.2 only); empty: plain HTTP. The app refuses to start when it cannot be"
                  + " read. Instances forward interactive queries to each other over HTTPS then, trusting the"
                  + " JVM's trust store and this keystore's certificates.")
          .define(
              HTTP_TLS_KEYSTORE_PASSWORD,
              Type.PASSWORD,
              null,
              Importance.HIGH,
              "Password of http.tls.keystore.file (and of its key); else read from"
                  + " http.tls.keystore.password.file. Never logged.")
          .define(
              HTTP_TLS_KEYSTORE_PASSWORD_FILE,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "File holding the password of http.tls.keystore.file, such as a mounted secret; never logged.")
          .define(
              HTTP_TLS_KEYSTORE_TYPE,
              Type.STRING,
              "PKCS12",
              new ConfigDef.NonEmptyString(),
              Importance.LOW,
              "Type of http.tls.keystore.file (PKCS12, JKS).")
          .define(
              STATE_DIR,
              Type.STRING,
              ".llm-streams/state",
              Importance.MEDIUM,
              "Kafka Streams state directory.")
          .define(
              PROCESSING_GUARANTEE,
              Type.STRING,
              "exactly_once_v2",
              ValidString.in("exactly_once_v2", "at_least_once"),
              Importance.HIGH,
              "Kafka Streams processing guarantee: exactly_once_v2, or at_least_once (a crash may then repeat"
                  + " outputs).")
          .define(
              POLL_MS,
              Type.LONG,
              10L,
              Range.between(1, 1000),
              Importance.LOW,
              "Longest a stream thread waits for new records before it commits what it did: a commit never waits"
                  + " longer than commit.interval.ms plus this (Kafka Streams' default, 100, added up to 100 ms to"
                  + " every hop). The controller and tools use at most interactive.commit.interval.ms; the gateway"
                  + " uses gateway.poll.ms.")
          .define(
              INTERACTIVE_COMMIT_INTERVAL_MS,
              Type.LONG,
              5L,
              Range.atLeast(1),
              Importance.MEDIUM,
              "commit.interval.ms of the patterns someone waits on (gateway, controller, tools): under exactly-once"
                  + " an output is visible only once committed, and a goal's step crosses four such hops.")
          .define(
              INTERACTIVE_COMMIT_QUIET_MS,
              Type.LONG,
              0L,
              Range.atLeast(0),
              Importance.LOW,
              "In the patterns someone waits on (gateway, controller, tools), an output written after this"
                  + " long without one is committed right after the batch under way instead of at the next"
                  + " interactive.commit.interval.ms. For deployments that run few goals at a time: 20 cut a"
                  + " lone goal's step overhead from 18 to 13 ms at p50, but cost 14% of goals/s with 64 goals"
                  + " in flight, whose replies come in waves that each start after a quiet spell"
                  + " (docs/performance.md). 0 (the default): always wait for the interval.")
          .define(
              INTERACTIVE_MAX_TASK_IDLE_MS,
              Type.LONG,
              -1L,
              Range.atLeast(-1),
              Importance.LOW,
              "max.task.idle.ms of the patterns someone waits on (gateway, controller, tools). -1 (the default):"
                  + " a task processes whatever it has buffered, in arrival order, without first fetching"
                  + " its other input partitions to merge them by timestamp; these patterns handle each"
                  + " record on its own (a goal's log, a call's id), so nothing depends on that order. Kafka"
                  + " Streams' default, 0, waits for known lag on every other input partition of the task"
                  + " and, in 4.4, formats a log line for each empty one on every record: a controller task"
                  + " reads seven topics, and that formatting took a fifth of its stream thread's CPU"
                  + " (docs/performance.md).")
          .define(
              COMMIT_INTERVAL_MS,
              Type.LONG,
              100L,
              Range.atLeast(1),
              Importance.LOW,
              "How often Streams commits (and, under exactly-once, how long output waits to be visible), for the"
                  + " high-volume patterns (summarizer, specialist); see interactive.commit.interval.ms. At 5 ms a"
                  + " transaction carries a handful of events: bench specialist measured 66 labels/s inline against"
                  + " 966 at 100 ms.")
          .define(
              NUM_STREAM_THREADS,
              Type.INT,
              1,
              Range.between(1, 64),
              Importance.MEDIUM,
              "Stream threads per pattern.")
          .define(
              NUM_STANDBY_REPLICAS,
              Type.INT,
              0,
              Range.between(0, 10),
              Importance.MEDIUM,
              "Warm copies of each pattern's state kept on other instances (Kafka Streams standby replicas), fed from"
                  + " the changelogs, so a failover resumes at once instead of restoring from the changelog; 1 when"
                  + " running 2+ instances. On one instance leave it at 0: there is no other instance to hold the copy,"
                  + " and Kafka Streams warns at every rebalance.")
          .define(
              GROUP_PROTOCOL,
              Type.STRING,
              "classic",
              ValidString.in("classic", "streams"),
              Importance.MEDIUM,
              "How the instances of each pattern share its tasks: classic (Kafka Streams assigns them in the"
                  + " clients, any broker) or streams (KIP-1071: the broker assigns them to a streams group; Kafka 4.2+"
                  + " brokers with streams groups enabled). With streams, num.standby.replicas is set on each"
                  + " pattern's group at start, and the session timeout is the group's (streams.session.timeout.ms):"
                  + " see scale.md.")
          .define(
              TOPICS_REPLICATION_FACTOR,
              Type.SHORT,
              (short) -1,
              Range.between(-1, 32),
              Importance.MEDIUM,
              "Replication factor for catalog topics whose entry leaves it open, and for internal topics (changelogs,"
                  + " repartition topics); -1 uses the broker's default.")
          .define(
              TOPICS_PREFIX,
              Type.STRING,
              "",
              new ConfigDef.Validator() {
                @Override
                public void ensureValid(String name, Object value) {
                  if (value != null && !String.valueOf(value).matches("[A-Za-z0-9._-]*")) {
                    throw new ConfigException(
                        name, value, "may hold only letters, digits, '.', '_' and '-'");
                  }
                }
              },
              Importance.LOW,
              "Prefix put before every catalog topic name, to share a cluster between deployments.")
          .define(
              PATTERNS,
              Type.LIST,
              String.join(",", ALL_PATTERNS),
              ConfigDef.ValidList.in(ALL_PATTERNS.toArray(String[]::new)),
              Importance.HIGH,
              "Patterns this instance runs, each as its own Kafka Streams application <application.id>-<pattern>.")
          .define(
              STREAM_THREAD_REPLACEMENTS_MAX,
              Type.INT,
              5,
              Range.between(0, 1000),
              Importance.LOW,
              "Stream threads a pattern replaces within 10 minutes when they die of an unexpected error; at"
                  + " one more, the pattern shuts down (state ERROR, /health alive false) so that the process is"
                  + " restarted, rather than replacing threads in a loop that replacing cannot end (a fatal"
                  + " error from the broker, or an Error on a record read again after each death). 0: shut down"
                  + " at the first death.")
          .define(
              SHUTDOWN_TIMEOUT_MS,
              Type.LONG,
              30_000L,
              Range.atLeast(0),
              Importance.LOW,
              "How long a graceful shutdown may take.")
          .define(
              LOG_LEVEL,
              Type.STRING,
              "INFO",
              ValidString.in("TRACE", "DEBUG", "INFO", "WARN", "ERROR"),
              Importance.LOW,
              "Log level of llm-streams' own loggers (read from LLMSTREAMS_LOG_LEVEL at start).")
          .define(
              SUMMARIZER_CHUNK_TOKENS,
              Type.INT,
              1024,
              Range.between(16, 100_000),
              Importance.MEDIUM,
              "Largest chunk of a document sent to one summary request, in cl100k tokens. Smaller chunks pay the"
                  + " prompt's instructions more often: with 512 the prompt overhead alone was 0.22 LLM input tokens"
                  + " per ingested token.")
          .define(
              SUMMARIZER_CHUNK_OVERLAP_TOKENS,
              Type.INT,
              32,
              Range.between(0, 50_000),
              Importance.LOW,
              "Tokens of trailing sentences repeated at the start of the next chunk; less than half of"
                  + " summarizer.chunk.tokens.")
          .define(
              SUMMARIZER_MAX_DOCUMENT_CHARS,
              Type.INT,
              10_000_000,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Longer documents go to dead-letters with the reason instead of being chunked.")
          .define(
              SUMMARIZER_MERGE_FAN_IN,
              Type.INT,
              8,
              Range.between(2, 1000),
              Importance.MEDIUM,
              "Summaries of one level are merged by one LLM call once this many wait (or once their tokens reach"
                  + " summarizer.merge.token.budget).")
          .define(
              SUMMARIZER_MERGE_TOKEN_BUDGET,
              Type.INT,
              2000,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Summaries of one level are merged once their tokens reach this many (or fan-in summaries wait).")
          .define(
              SUMMARIZER_SYNTHESIS_INTERVAL_MS,
              Type.LONG,
              5_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Least time between two synthesis calls of one key (each re-reads the whole top); changes in between are"
                  + " caught up after it. 0: no limit.")
          .define(
              SUMMARIZER_WINDOW_MS,
              Type.LONG,
              86_400_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Size of the tumbling windows of document event time (the document's `timestamp`), each with its own"
                  + " merge tree and synthesis beside the all-time one; GET /syntheses/{key}?window=<start, ISO-8601 or"
                  + " epoch ms> reads one window. 0: no windows, one all-time tree per key.")
          .define(
              SUMMARIZER_WINDOW_GRACE_MS,
              Type.LONG,
              3_600_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "How long after its end (in the key's document time) a window still takes late documents. A window closes"
                  + " when the key's latest document timestamp passes its end plus this: its tree collapses to its"
                  + " final synthesis, which becomes one leaf of the all-time tree, and later documents of it go to"
                  + " dead-letters (\"too late\").")
          .define(
              SUMMARIZER_TIMESTAMP_AFTER_MAX_MS,
              Type.LONG,
              86_400_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "How far ahead of this instance's clock a document's timestamp may be (as Kafka's"
                  + " message.timestamp.after.max.ms for record timestamps). A document further ahead"
                  + " goes to dead-letters: with windows on, it would move its key's document time"
                  + " into the future and close every window of the key, so that all its later"
                  + " documents would be too late.")
          .define(
              SUMMARIZER_WINDOW_RETENTION_MS,
              Type.LONG,
              604_800_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "How long after its close (in the key's document time) a window's final synthesis stays in the store"
                  + " for GET /syntheses/{key}?window=; then its tree is deleted and the query answers 404 (the"
                  + " synthesis stays on syntheses).")
          .define(
              CONTROLLER_MAX_STEPS,
              Type.INT,
              10,
              Range.between(1, 1000),
              Importance.HIGH,
              "LLM turns a goal may take when it names no maxSteps, and the ceiling when it names one (a goal may lower"
                  + " it, never raise it); then it ends budget_exhausted.")
          .define(
              CONTROLLER_MAX_TOKENS,
              Type.LONG,
              200_000L,
              Range.atLeast(1),
              Importance.HIGH,
              "LLM tokens (input + output) a goal may use when its budget names none, and the ceiling when it names"
                  + " some; then no further LLM turn or tool call, and the goal ends budget_exhausted.")
          .define(
              CONTROLLER_MAX_COST_USD,
              Type.DOUBLE,
              1.0,
              Range.atLeast(0),
              Importance.HIGH,
              "LLM cost in USD a goal may use when its budget names none, and the ceiling when it names some; then the"
                  + " goal ends budget_exhausted.")
          .define(
              CONTROLLER_DEADLINE_MS,
              Type.LONG,
              600_000L,
              Range.atLeast(1),
              Importance.HIGH,
              "How long a goal may run when it names no deadline (a goal's deadline may be earlier, never later); then"
                  + " it ends timed_out, also while waiting for an approval.")
          .define(
              CONTROLLER_TENANT_BUDGET_PERIOD,
              Type.STRING,
              "P1D",
              (name, value) -> {
                try {
                  java.time.Duration d = java.time.Duration.parse(String.valueOf(value));
                  if (d.toMinutes() < 1) {
                    throw new ConfigException(name, value, "a period of at least one minute");
                  }
                } catch (java.time.format.DateTimeParseException e) {
                  throw new ConfigException(name, value, "an ISO-8601 duration, e.g. P1D or PT1H");
                }
              },
              Importance.MEDIUM,
              "The period of a tenant's budget (controller.tenant.<tenant>.budget.tokens and"
                  + " .budget.cost.usd), as an ISO-8601 duration: fixed windows counted from the epoch"
                  + " in UTC (P1D: each UTC day). Per-tenant keys: controller.tenant.<tenant>.max.steps,"
                  + " .max.tokens, .max.cost.usd and .deadline.ms replace controller.max.* for that"
                  + " tenant's goals; .budget.tokens and .budget.cost.usd cap all its goals together"
                  + " per period; llm.tenant.<tenant>.requests.per.minute and .tokens.per.minute rate-limit"
                  + " its LLM calls at the gateway (docs/controller.md, Tenants).")
          .define(
              CONTROLLER_INLINE_TOOLS,
              Type.LIST,
              "calculator",
              Importance.MEDIUM,
              "Built-in pure tools the controller answers itself, inside the transaction of the step"
                  + " that called them, instead of a round trip through tool-calls.<tool> and"
                  + " tool-results: the result, its goal-events and the next LLM request commit"
                  + " together, and a step of such calls pays one hop instead of three. Only tools"
                  + " without effects, approval or I/O qualify (today: calculator); calls are still"
                  + " checked against the goal's allowlist and the tool's schema, audited in goal-events"
                  + " and counted in llmstreams.tools.*. Empty: every call goes through its topic (to"
                  + " run the calculator on external workers, say).")
          .define(
              CONTROLLER_LLM_CALLS,
              Type.STRING,
              "direct",
              ValidString.in("direct", "topic"),
              Importance.MEDIUM,
              "How the controller calls the LLM. direct: when the gateway runs in the same app, the"
                  + " controller's task calls it in place, through the gateway's routes, slots, limits,"
                  + " retries, circuits and meters; the request waits in store controller-llm-calls"
                  + " (so a new owner of the task calls again) and its reply is handled in the"
                  + " transaction of the step it starts, which saves a step the two committed hops of"
                  + " controller.llm-requests and controller.llm-replies. topic: every request goes to"
                  + " controller.llm-requests and its reply comes back on controller.llm-replies, the"
                  + " way a controller without a gateway beside it always calls (the gateway in other"
                  + " processes holds the provider secrets). direct falls back to the topic when the"
                  + " controller's purposes have a shadow candidate or llm.reply.cache.topic is set,"
                  + " which the gateway's task serves. Goals and replies on the topics are handled in"
                  + " either mode, so instances may differ and the setting may change across"
                  + " restarts.")
          .define(
              CONTROLLER_MAX_REPAIRS,
              Type.INT,
              2,
              Range.between(0, 100),
              Importance.MEDIUM,
              "LLM turns in a row with an unknown tool or invalid arguments that are fed back for repair before"
                  + " the goal fails.")
          .define(
              CONTROLLER_MAX_DELEGATION_DEPTH,
              Type.INT,
              DEFAULT_CONTROLLER_MAX_DELEGATION_DEPTH,
              Range.between(0, 10),
              Importance.MEDIUM,
              "How deep a tree of subagents may grow: a goal users submit is at depth 0, and a goal at"
                  + " depth d may hand subtasks to child goals (the delegate tool, which a goal gets"
                  + " only when it lists it) while d is less than this; 0 turns delegation off.")
          .define(
              CONTROLLER_RETENTION_MS,
              Type.LONG,
              3_600_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "How long a finished goal's result stays queryable at GET /goals/{id}, and a goal submitted again"
                  + " with its goalId is recognized and ignored, before it is deleted.")
          .define(
              CONTROLLER_TICK_MS,
              Type.LONG,
              500L,
              Range.between(10, 60_000),
              Importance.LOW,
              "How often the controller checks deadlines, tool timeouts and retention (wall clock).")
          .define(
              CONTROLLER_MAX_RESULT_CHARS,
              Type.INT,
              8_000,
              Range.between(100, 1_000_000),
              Importance.LOW,
              "Longest tool result (as JSON text) kept and shown to the LLM; longer ones are cut, and say so.")
          .define(
              CONTROLLER_MAX_GOAL_CHARS,
              Type.INT,
              DEFAULT_CONTROLLER_MAX_GOAL_CHARS,
              Range.between(1, 200_000),
              Importance.LOW,
              "Longest goal text; a longer goal goes to dead-letters before anything is stored. The"
                  + " goal's state entry holds the text twice, and it and each of its LLM requests must stay under the"
                  + " topics' 1 MiB records.")
          .define(
              CONTROLLER_MAX_ARGUMENTS_CHARS,
              Type.INT,
              DEFAULT_CONTROLLER_MAX_ARGUMENTS_CHARS,
              Range.between(100, 500_000),
              Importance.LOW,
              "Longest arguments (as JSON text) of a tool call the LLM asks"
                  + " for; a longer call is not run and the refusal goes back to the LLM for repair, like invalid"
                  + " arguments. The guard_tripped event keeps the arguments' first 1,000 characters.")
          .define(
              CONTROLLER_MAX_ANSWER_CHARS,
              Type.INT,
              DEFAULT_CONTROLLER_MAX_ANSWER_CHARS,
              Range.between(100, 1_000_000),
              Importance.LOW,
              "Longest final answer on goal-results; a longer one is cut, and ends with"
                  + " `… [cut: K of N characters kept, controller.max.answer.chars]`.")
          .define(
              CONTROLLER_MAX_STATE_BYTES,
              Type.INT,
              DEFAULT_CONTROLLER_MAX_STATE_BYTES,
              Range.between(10_000, 8_000_000),
              Importance.LOW,
              "Largest state entry of a running goal (its transcript"
                  + " of LLM replies and tool results, as JSON bytes); a goal whose entry would grow past it ends failed,"
                  + " saying why, before its next LLM request; counted in"
                  + " llmstreams_controller_state_too_large_total. Keep it under the changelog's max.message.bytes (the"
                  + " broker's default, 1 MiB): a state record the broker refuses stops the stream thread under"
                  + " exactly-once.")
          .define(
              TOOLS_DIR,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Folder of extra tool definitions (<name>.json: name, description, parameters, timeoutMs,"
                  + " requiresApproval); each gets topic tool-calls.<name>.")
          .define(
              MCP_DIR,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Folder of MCP server declarations (<server>.json: transport stdio with command, args and env,"
                  + " or http with url and headers; include, exclude, approval, concurrency, timeoutMs,"
                  + " protocolVersion). Each server's tools become controller tools named <server>__<tool>,"
                  + " called by the tools pattern through topic tool-calls.mcp.<server>. Values of env and"
                  + " headers may be ${env:NAME} or ${file:/path} so secrets stay out of the file. Empty:"
                  + " no MCP servers.")
          .define(
              PROMPTS_DIR,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Folder of prompt files that replace the shipped ones: <id>.md replaces the system prompt or"
                  + " template <id> (docs/prompts.md lists them, with their placeholders). Read once at start;"
                  + " a file of no known prompt, an empty or non-UTF-8 one, and a template that lacks a"
                  + " placeholder its code fills or has one it does not fill are refused, naming the file. Each"
                  + " prompt's version (sha256: and 12 hex digits of its file's hash) is recorded on the LLM"
                  + " requests built from it and on the outputs they lead to. Empty: the shipped prompts only.")
          .define(
              TRACING_ENABLED,
              Type.STRING,
              "auto",
              ConfigDef.ValidString.in("auto", "true", "false"),
              Importance.MEDIUM,
              "Record OpenTelemetry spans (GenAI conventions) and export them over OTLP with the OpenTelemetry"
                  + " SDK and its standard OTEL_* settings. auto: on when OTEL_TRACES_EXPORTER names an exporter"
                  + " other than none or OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, unless"
                  + " OTEL_SDK_DISABLED=true. Spans go to the spans topic in the same transaction as the work they"
                  + " describe. Every record the app writes carries a W3C traceparent header either way.")
          .define(
              TRACING_CAPTURE_CONTENT,
              Type.BOOLEAN,
              false,
              Importance.LOW,
              "Put prompts, completions and tool arguments and results on spans (gen_ai.input.messages,"
                  + " gen_ai.output.messages, gen_ai.tool.call.arguments, gen_ai.tool.call.result). Off: they may"
                  + " hold personal or secret data.")
          .define(
              TRACING_EXPORT,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              "When tracing is on, run the span exporter in this process: it reads the spans topic"
                  + " (read_committed) and ships the spans over OTLP. Turn it off in processes that should only"
                  + " record spans while others ship them.")
          .define(
              MCP_SERVER_ENABLED,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Serve llm-streams itself as an MCP server (Streamable HTTP, stateless) at POST /mcp of the HTTP"
                  + " server: tools submit_goal, get_goal, send_document, get_synthesis and classify_text, which"
                  + " produce to and read from the same topics as any producer. With authentication on (http.auth),"
                  + " a tool that produces needs the write scope, one that reads the read scope.")
          .define(
              MCP_SERVER_TOKEN,
              Type.PASSWORD,
              null,
              Importance.HIGH,
              "A bearer token with the read and write scopes (named mcp.server.token), in addition to those of"
                  + " http.auth.tokens.file; usually set through the environment variable"
                  + " LLMSTREAMS_MCP_SERVER_TOKEN. Kept for compatibility: prefer http.auth.tokens.file. When set,"
                  + " authentication is on (http.auth=auto) on every route but http.auth.open.paths. Never logged.")
          .define(
              MCP_SERVER_TOKEN_FILE,
              Type.STRING,
              "",
              Importance.HIGH,
              "File holding the token of mcp.server.token (such as a mounted secret), read at start when"
                  + " mcp.server.token is not set; never logged.")
          .define(
              MCP_SERVER_ALLOWED_ORIGINS,
              Type.LIST,
              "",
              Importance.MEDIUM,
              "Origins (scheme://host[:port], exactly as browsers send them) allowed to call /mcp besides"
                  + " loopback ones (localhost, 127.0.0.1, [::1], any port). A request with any other Origin"
                  + " header is refused with 403 (DNS rebinding); requests without one (MCP clients that are not"
                  + " browsers) are served.")
          .define(
              MCP_APP_URL,
              Type.STRING,
              "http://127.0.0.1:9400",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Base URL of a running app whose HTTP server answers get_goal (GET /goals/{id}) and"
                  + " get_synthesis (GET /syntheses/{key}) for `llm-streams mcp --stdio`; it produces and waits"
                  + " through Kafka itself.")
          .define(
              MCP_APP_TOKEN,
              Type.PASSWORD,
              null,
              Importance.MEDIUM,
              "Bearer token (with the read scope) that `llm-streams mcp --stdio` sends to mcp.app.url when the"
                  + " app requires one; usually set through LLMSTREAMS_MCP_APP_TOKEN. Never logged.")
          .define(
              MCP_APP_TOKEN_FILE,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "File holding mcp.app.token, read when it is not set; never logged.")
          .define(
              TOOLS_HTTP_ALLOWED_HOSTS,
              Type.LIST,
              "",
              Importance.HIGH,
              "Hosts the http_get tool may fetch from (exact host names, or *.example.com); empty: none.")
          .define(
              TOOLS_HTTP_MAX_BYTES,
              Type.INT,
              1_000_000,
              Range.between(1, 100_000_000),
              Importance.LOW,
              "Largest response body http_get reads; longer ones are cut and flagged.")
          .define(
              TOOLS_HTTP_TIMEOUT_MS,
              Type.LONG,
              5_000L,
              Range.between(1, 600_000),
              Importance.LOW,
              "Time limit of one http_get call (connect and read).")
          .define(
              TOOLS_PUBLISH_ALLOWED_TOPICS,
              Type.LIST,
              "",
              Importance.HIGH,
              "Topics the publish tool may write to; empty: none. They must exist: run refuses to start the tools"
                  + " pattern otherwise.")
          .define(
              TOOLS_SYNTHESIS_URL,
              Type.STRING,
              "",
              Importance.LOW,
              "Base URL of an instance serving GET /syntheses/{key}, where the synthesis tool asks; empty: this"
                  + " instance's own HTTP server, which asks the instance that owns the key.")
          .define(
              TOOLS_RETENTION_MS,
              Type.LONG,
              86_400_000L,
              Range.atLeast(0),
              Importance.LOW,
              "How long a tool worker remembers a callId's result, to answer a repeat without running it again.")
          .define(
              SPECIALIST_MODEL_NAME,
              Type.STRING,
              "banking77",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "The model the specialist serves: its key on specialist-models. The latest record of this name is"
                  + " loaded and hot-swapped in; the trainer publishes its candidates under it.")
          .define(
              SPECIALIST_THRESHOLD,
              Type.DOUBLE,
              null,
              (name, value) -> {
                if (value != null && !((Double) value >= 0 && (Double) value <= 1)) {
                  throw new ConfigException(
                      name, value, "must be between 0 and 1, or empty for the model's own");
                }
              },
              Importance.HIGH,
              "Confidence below which an event is escalated to an LLM; empty: the model's recommendedThreshold"
                  + " (chosen on held-out data when it was trained).")
          .define(
              SPECIALIST_MAX_TEXT_CHARS,
              Type.INT,
              10_000,
              Range.between(1, 1_000_000),
              Importance.MEDIUM,
              "Longest event text the specialist classifies (and label text the trainer takes); a longer one goes to"
                  + " dead-letters with the reason.")
          .define(
              SPECIALIST_MAX_PAYLOAD_BYTES,
              Type.INT,
              100_000,
              Range.between(0, 900_000),
              Importance.LOW,
              "Largest payload of a classification request, in bytes of its JSON: the classification carries it back"
                  + " (and an escalated event keeps it in state until its answer), so a larger one goes to"
                  + " dead-letters with the reason. At most 900,000, under the broker's default message limit of 1 MB, which"
                  + " classifications and the escalations' changelog keep.")
          .define(
              SPECIALIST_ESCALATION_EXAMPLES,
              Type.INT,
              8,
              Range.between(0, 100),
              Importance.MEDIUM,
              "Training examples nearest to the event shown to the LLM in an escalation, to say what the labels mean.")
          .define(
              SPECIALIST_ESCALATION_TIMEOUT_MS,
              Type.LONG,
              120_000L,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Deadline of an escalation: the gateway gives up then; with no reply by twice this time the event keeps"
                  + " the specialist's own label, with the reason.")
          .define(
              SPECIALIST_LABEL_DESCRIPTIONS,
              Type.STRING,
              "",
              Importance.LOW,
              "File of 'label: description' lines shown to the LLM in escalations; a label without one is described"
                  + " by its name in words (card_arrival: card arrival).")
          .define(
              SPECIALIST_TICK_MS,
              Type.LONG,
              1_000L,
              Range.between(10, 60_000),
              Importance.LOW,
              "How often the specialist checks for a model (events waiting), escalation timeouts and retraining.")
          .define(
              SPECIALIST_LEARN_FROM,
              Type.LIST,
              "human,llm",
              ConfigDef.ValidList.in("human", "llm", "offline-engine"),
              Importance.MEDIUM,
              "Which labels on the labels topic the online trainer learns from and judges candidates on: human (people's"
                  + " labels, and the data train --publish sends), llm (the LLM's answers to escalations) and"
                  + " offline-engine (the offline engine's answers, when an escalation's route ends there: it is not"
                  + " an LLM, it picks the label whose words are nearest the text, so by default nothing learns"
                  + " from it)."
                  + " Leave out llm when the producers of classification-requests are not trusted: an escalated"
                  + " text can sway which label the LLM answers (the answer is kept only when it is a label, but"
                  + " which one is the text's to influence), and the trainer would learn that answer. Labels it"
                  + " does not learn from are counted (llmstreams_specialist_labels_not_learned_total) and still"
                  + " score the online accuracy. Empty: it learns from none, and never retrains.")
          .define(
              SPECIALIST_RETRAIN_AFTER_LABELS,
              Type.INT,
              500,
              Range.atLeast(1),
              Importance.MEDIUM,
              "New labelled examples (people's labels and LLM answers to escalations) that start a retraining.")
          .define(
              SPECIALIST_RETRAIN_INTERVAL_MS,
              Type.LONG,
              3_600_000L,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Longest time new labelled examples wait for a retraining when fewer than"
                  + " specialist.retrain.after.labels arrived.")
          .define(
              SPECIALIST_RETRAIN_HOLDOUT_PERCENT,
              Type.INT,
              20,
              Range.between(1, 90),
              Importance.LOW,
              "Share of the labelled examples (chosen by a hash of the text, so always the same ones) kept out of"
                  + " training to compare a candidate with the model in service (see specialist.promotion.tolerance).")
          .define(
              SPECIALIST_PROMOTION_TOLERANCE,
              Type.DOUBLE,
              0.01,
              Range.between(0.0, 0.5),
              Importance.MEDIUM,
              "The promotion gate: a retrained model (the in-app trainer's, or train --publish without --force) replaces"
                  + " the model in service only when, on recent labelled events it never trained on, the accuracy of"
                  + " the events it keeps and its coverage (share kept) are each at least the served model's minus"
                  + " this; else it is recorded on specialist-models under <name>/rejected with its scores.")
          .define(
              SPECIALIST_PROMOTION_MIN_EXAMPLES,
              Type.INT,
              50,
              Range.atLeast(1),
              Importance.MEDIUM,
              "The fewest such labelled events the promotion gate decides on; with fewer the candidate is rejected"
                  + " for lack of evidence (train --publish --force puts a model in service without the gate).")
          .define(
              SPECIALIST_ACCURACY_RETENTION_MS,
              Type.LONG,
              604_800_000L,
              Range.atLeast(1),
              Importance.LOW,
              "How long a classification is remembered to score it against a label that arrives later (online"
                  + " accuracy).")
          .define(
              SPECIALIST_WAITING_MAX_EVENTS,
              Type.INT,
              100_000,
              Range.atLeast(1),
              Importance.LOW,
              "Events a task keeps waiting while no model is in service; more go to dead-letters with the reason.")
          .define(
              SPECIALIST_EXAMPLES_MAX,
              Type.INT,
              200_000,
              Range.atLeast(10),
              Importance.LOW,
              "Labelled examples the trainer keeps; beyond it the oldest (by label time) are forgotten at its next tick,"
                  + " down to 90%.")
          .define(
              SPECIALIST_MODELS_VERIFY_KEY_FILE,
              Type.STRING,
              "",
              Importance.HIGH,
              "File of Ed25519 public keys (PEM PUBLIC KEY blocks, as `openssl pkey -pubout` writes them;"
                  + " several for a key rotation). Set: the specialist serves only models signed by one of"
                  + " them, and refuses unsigned, wrongly signed and tampered ones (the model in service"
                  + " stays; counted in llmstreams_specialist_models_refused_total). Empty: unsigned models"
                  + " are served; a model whose digest does not match its content is refused either way.")
          .define(
              SPECIALIST_MODELS_SIGNING_KEY_FILE,
              Type.STRING,
              "",
              Importance.HIGH,
              "File holding the Ed25519 private key (PEM PRIVATE KEY, as `openssl genpkey -algorithm"
                  + " ed25519` writes it) that signs the models this process publishes: `train --publish`"
                  + " and the specialist's in-app trainer. Read at start when specialist.models.signing.key"
                  + " is not set; never logged. Give it only to the processes that publish models.")
          .define(
              SPECIALIST_MODELS_SIGNING_KEY,
              Type.PASSWORD,
              null,
              Importance.HIGH,
              "The signing key itself (PEM, or the base64 of its PKCS #8 bytes), usually through the"
                  + " environment variable LLMSTREAMS_SPECIALIST_MODELS_SIGNING_KEY; overrides"
                  + " specialist.models.signing.key.file. Never logged.");

  static {
    DEFINITION.define(
        LLM_ROUTE_DEFAULT,
        Type.STRING,
        "offline",
        routeValidator(false),
        Importance.HIGH,
        "Provider for purposes that name none: openai, anthropic or offline (the embedded engine; not an"
            + " LLM); or a list tried in order, e.g. openai,offline: when a provider's circuit is open,"
            + " its retries are exhausted or it times out, the request goes to the next one. An entry may"
            + " name the model to ask for, provider:model (split at the first ':', so openai:llama3:8b is"
            + " openai's model llama3:8b); without one, llm.<provider>.model. A request that names its own"
            + " model keeps it.");
    for (String purpose : PURPOSES) {
      DEFINITION.define(
          route(purpose),
          Type.STRING,
          "",
          routeValidator(true),
          Importance.HIGH,
          "Provider for "
              + purpose
              + " requests, or a list of fallbacks tried in order (e.g. openai,anthropic), each entry"
              + " perhaps provider:model (e.g. openai:gpt-4o-mini); empty: llm.route.default.");
    }
    DEFINITION.define(
        route(CONTROLLER_REPAIR),
        Type.STRING,
        "",
        routeValidator(true),
        Importance.MEDIUM,
        "Route of the controller's turn right after one whose tool calls failed the guards (invalid"
            + " arguments, a tool not offered): e.g. a stronger model, openai:gpt-4o,anthropic, while"
            + " llm.route.controller names a cheaper one. One turn per failure goes here; the next turn"
            + " after a valid reply goes back to llm.route.controller. Same form as llm.route.default;"
            + " empty: llm.route.controller.");
    defineShadowKeys();
    Map<String, String[]> defaults =
        Map.of(
            "openai", new String[] {"https://api.openai.com/v1", "gpt-4o-mini", "64"},
            "anthropic",
                new String[] {"https://api.anthropic.com", "claude-3-5-haiku-latest", "32"},
            "offline", new String[] {"", "offline-engine", "2"});
    for (String p : PROVIDERS) {
      String[] d = defaults.get(p);
      DEFINITION
          .define(
              provider(p, "base.url"),
              Type.STRING,
              d[0],
              Importance.MEDIUM,
              "Base URL of the "
                  + p
                  + " API (any compatible server: Ollama, vLLM, llama.cpp, LM Studio...).")
          .define(
              provider(p, "api.key"),
              Type.PASSWORD,
              null,
              Importance.MEDIUM,
              "API key; else read from llm."
                  + p
                  + ".api.key.file, else from the environment variable "
                  + p.toUpperCase(Locale.ROOT)
                  + "_API_KEY. Never logged.")
          .define(
              provider(p, "api.key.file"),
              Type.STRING,
              "",
              Importance.LOW,
              "File holding the API key, such as a" + " mounted secret; never logged.")
          .define(
              provider(p, "model"),
              Type.STRING,
              d[1],
              Importance.MEDIUM,
              "Model used when a request names none.")
          .define(
              provider(p, "timeout.ms"),
              Type.LONG,
              60_000L,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Timeout of one HTTP call.")
          .define(
              provider(p, "concurrency"),
              Type.INT,
              Integer.parseInt(d[2]),
              Range.between(1, 4096),
              Importance.HIGH,
              "Calls in flight at once to this provider, per instance, whatever the number of partitions.")
          .define(
              provider(p, "interactive.reserved"),
              Type.INT,
              -1,
              Range.atLeast(-1),
              Importance.MEDIUM,
              "Slots of the concurrency only interactive calls (controller, specialist) may use, so bulk summaries"
                  + " never make a goal's next step wait for a free slot; -1: an eighth of the concurrency, rounded"
                  + " up ("
                  + (Integer.parseInt(d[2]) + 7) / 8
                  + " with the default concurrency); 0: none.")
          .define(
              provider(p, "requests.per.minute"),
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Request rate limit; 0: none.")
          .define(
              provider(p, "tokens.per.minute"),
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Input token rate limit (estimated before the call); 0: none.")
          .define(
              provider(p, "price.input.per.mtok"),
              Type.DOUBLE,
              0.0,
              Range.atLeast(0),
              Importance.LOW,
              "USD per million input tokens, for the costUsd of each reply.")
          .define(
              provider(p, "price.output.per.mtok"),
              Type.DOUBLE,
              0.0,
              Range.atLeast(0),
              Importance.LOW,
              "USD per million output tokens, for the costUsd of each reply.");
    }
    DEFINITION
        .define(
            LLM_RETRY_MAX_ATTEMPTS,
            Type.INT,
            4,
            Range.between(1, 20),
            Importance.MEDIUM,
            "Attempts per request on 429, 5xx, timeouts and connection errors.")
        .define(
            LLM_RETRY_INITIAL_BACKOFF_MS,
            Type.LONG,
            500L,
            Range.atLeast(1),
            Importance.LOW,
            "First backoff; doubles each attempt, with jitter; a Retry-After from the provider wins.")
        .define(
            LLM_RETRY_MAX_BACKOFF_MS,
            Type.LONG,
            30_000L,
            Range.atLeast(1),
            Importance.LOW,
            "Longest backoff.")
        .define(
            LLM_CIRCUIT_FAILURE_RATE,
            Type.INT,
            50,
            Range.between(1, 100),
            Importance.LOW,
            "Failure percentage over the last calls that opens a provider's circuit.")
        .define(
            LLM_CIRCUIT_MINIMUM_CALLS,
            Type.INT,
            20,
            Range.atLeast(1),
            Importance.LOW,
            "Calls seen before the failure rate counts.")
        .define(
            LLM_CIRCUIT_OPEN_MS,
            Type.LONG,
            30_000L,
            Range.atLeast(1),
            Importance.LOW,
            "How long an open circuit refuses calls before it lets a few through.")
        .define(
            LLM_CACHE_TTL_MS,
            Type.LONG,
            86_400_000L,
            Range.atLeast(0),
            Importance.MEDIUM,
            "How long a reply is kept to answer the same requestId again without calling the provider (a repeat is"
                + " not billed twice); 0 keeps replies for good.")
        .define(
            LLM_REPLY_CACHE_TOPIC,
            Type.STRING,
            "",
            Importance.LOW,
            "A compacted topic of provider replies keyed by a digest of what was asked (provider, model, prompt"
                + " version, messages, tools, response format, temperature, max tokens): a request whose digest is"
                + " there is answered from it, not sent to the provider, and not billed. Empty: off, as in production,"
                + " where the same question may deserve a fresh answer. replay sets it for its runs"
                + " (<topics.prefix>replay.reply-cache), so replaying a slice under the same candidate again costs no"
                + " provider call.")
        .define(
            LLM_MAX_CALL_MS,
            Type.LONG,
            600_000L,
            Range.atLeast(1),
            Importance.LOW,
            "Longest a request may take, retries included, when it carries no deadline; every call ends by its"
                + " deadline or this.")
        .define(
            LLM_SHADOW_CONCURRENCY,
            Type.INT,
            4,
            Range.between(1, 4096),
            Importance.MEDIUM,
            "Calls in flight at once to each shadow candidate, per instance: slots of their own, never taken"
                + " from the primary's llm.<provider>.concurrency.")
        .define(
            LLM_SHADOW_MAX_QUEUED,
            Type.INT,
            DEFAULT_LLM_SHADOW_MAX_QUEUED,
            Range.atLeast(0),
            Importance.LOW,
            "Sampled requests waiting for a free shadow slot, per task; beyond it a sampled request is not sent"
                + " to its candidate (counted in llmstreams.llm.shadow.skipped), so a slow candidate never holds"
                + " back the primary.")
        .define(
            GATEWAY_MAX_QUEUED,
            Type.INT,
            10_000,
            Range.atLeast(1),
            Importance.LOW,
            "Requests waiting for a free slot, per task, before the gateway stops reading more (backpressure);"
                + " the same bound holds for the controller's direct calls (controller.llm.calls),"
                + " per controller task, for at most 30 s at a time.")
        .define(
            GATEWAY_POLL_MS,
            Type.LONG,
            5L,
            Range.between(1, 1000),
            Importance.LOW,
            "How often finished calls are turned into replies.");
  }

  /**
   * {@code llm.shadow.<scope>.*}: the default shadow candidate, and each purpose's own or the
   * default's.
   */
  private static void defineShadowKeys() {
    String providers = String.join(", ", PROVIDERS);
    ConfigDef.Validator shadowProvider =
        ConfigDef.LambdaValidator.with(
            (name, value) -> {
              if (!"".equals(value) && !PROVIDERS.contains(value)) {
                throw new ConfigException(
                    name,
                    value,
                    "unknown provider for a shadow route; name one of "
                        + providers
                        + ", or leave it empty");
              }
            },
            () -> "[, " + providers + "]");
    for (String scope : SHADOW_SCOPES) {
      boolean fallback = !scope.equals("default");
      String inherited =
          fallback
              ? " Set only with llm.shadow."
                  + scope
                  + ".route: without it "
                  + scope
                  + " requests take the default shadow's."
              : "";
      DEFINITION
          .define(
              shadow(scope, "route"),
              Type.STRING,
              "",
              shadowProvider,
              Importance.MEDIUM,
              fallback
                  ? "Shadow candidate for "
                      + scope
                      + " requests: a provider that answers a sampled copy of them beside the primary,"
                      + " without touching the primary's replies; empty: llm.shadow.default.route."
                  : "Shadow candidate for every purpose that names none: a provider ("
                      + providers
                      + ") that answers a sampled copy of the requests beside the primary, its answers"
                      + " compared with the primary's on llm-shadow-replies; empty: no shadow.")
          .define(
              shadow(scope, "model"),
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Model the shadow candidate is asked for, whatever model a request names; empty: the"
                  + " provider's llm.<provider>.model."
                  + inherited)
          .define(
              shadow(scope, "sample"),
              Type.DOUBLE,
              fallback ? -1.0 : 0.0,
              fallback ? rangeOrUnset(0.0, 1.0) : Range.between(0.0, 1.0),
              Importance.MEDIUM,
              fallback
                  ? "Share of "
                      + scope
                      + " requests also sent to the shadow candidate, 0 to 1 (0: none); -1:"
                      + " llm.shadow.default.sample."
                  : "Share of requests also sent to the shadow candidate, 0 to 1; 0: none. Chosen by a"
                      + " hash of the requestId, so a request seen again makes the same choice, and a"
                      + " larger share keeps the requests of a smaller one.");
      for (String direction : List.of("input", "output")) {
        DEFINITION.define(
            shadow(scope, "price." + direction + ".per.mtok"),
            Type.DOUBLE,
            -1.0,
            rangeOrUnset(0.0, Double.MAX_VALUE),
            Importance.LOW,
            "USD per million "
                + direction
                + " tokens of the shadow candidate, for its costUsd; -1: the provider's"
                + " llm.<provider>.price."
                + direction
                + ".per.mtok."
                + inherited);
      }
    }
  }

  /** A value in [min, max], or -1 for "not set here". */
  private static ConfigDef.Validator rangeOrUnset(double min, double max) {
    return ConfigDef.LambdaValidator.with(
        (name, value) -> {
          double v = (Double) value;
          if (v != -1.0 && (v < min || v > max)) {
            throw new ConfigException(
                name,
                value,
                "must be -1 (unset) or "
                    + (max == Double.MAX_VALUE
                        ? "at least " + min
                        : "between " + min + " and " + max));
          }
        },
        () ->
            max == Double.MAX_VALUE
                ? "-1 or [" + min + ",...]"
                : "-1 or [" + min + ",...," + max + "]");
  }

  private static String[] concat(String first, List<String> rest) {
    List<String> all = new ArrayList<>();
    all.add(first);
    all.addAll(rest);
    return all.toArray(String[]::new);
  }

  private final Map<String, String> sources;

  private AppConfig(Map<String, String> values, Map<String, String> sources) {
    super(DEFINITION, values, false);
    this.sources = sources;
    this.tenants = java.util.Collections.unmodifiableMap(TenantSettings.parse(values));
    if (getInt(SUMMARIZER_CHUNK_OVERLAP_TOKENS) * 2 >= getInt(SUMMARIZER_CHUNK_TOKENS)) {
      throw new ConfigException(
          SUMMARIZER_CHUNK_OVERLAP_TOKENS,
          getInt(SUMMARIZER_CHUNK_OVERLAP_TOKENS),
          "must be less than half of " + SUMMARIZER_CHUNK_TOKENS);
    }
    checkShadows();
  }

  /**
   * A purpose without a shadow route of its own takes the default's whole (only its sample may
   * differ); a shadow that samples needs a route.
   */
  private void checkShadows() {
    String defaultRoute = getString(shadow("default", "route"));
    for (String scope : SHADOW_SCOPES) {
      String route = getString(shadow(scope, "route"));
      boolean own = !route.isEmpty();
      for (String setting : List.of("model", "price.input.per.mtok", "price.output.per.mtok")) {
        String key = shadow(scope, setting);
        if (!own && !"".equals(get(key)) && !Double.valueOf(-1.0).equals(get(key))) {
          throw new ConfigException(
              key,
              get(key),
              "needs "
                  + shadow(scope, "route")
                  + (scope.equals("default")
                      ? ": there is no default shadow candidate without it"
                      : ": "
                          + scope
                          + " requests without a shadow route of their own take the default"
                          + " shadow's route, model and prices (only "
                          + shadow(scope, "sample")
                          + " may differ)"));
        }
      }
      double sample = getDouble(shadow(scope, "sample"));
      if (sample > 0 && route.isEmpty() && defaultRoute.isEmpty()) {
        throw new ConfigException(
            shadow(scope, "sample"),
            sample,
            "samples requests for a shadow candidate, but no shadow route is set: set "
                + (scope.equals("default") ? "" : shadow(scope, "route") + " or ")
                + shadow("default", "route")
                + " to a provider ("
                + String.join(", ", PROVIDERS)
                + ")");
      }
    }
  }

  /**
   * The tenants named by {@code controller.tenant.<tenant>.*} and {@code llm.tenant.<tenant>.*}
   * keys, by name.
   */
  public Map<String, TenantSettings> tenants() {
    return tenants;
  }

  /** A tenant's settings; all null when none are configured. */
  public TenantSettings tenant(String tenant) {
    TenantSettings s = tenants.get(tenant);
    return s != null
        ? s
        : new TenantSettings(tenant, null, null, null, null, null, null, null, null);
  }

  /** The length of a tenant's budget period ({@code controller.tenant.budget.period}). */
  public java.time.Duration tenantBudgetPeriod() {
    return java.time.Duration.parse(getString(CONTROLLER_TENANT_BUDGET_PERIOD));
  }

  /** Defaults only, plus the given overrides (tests and embedded use). */
  public static AppConfig of(Map<String, String> overrides) {
    return load(null, Map.of(), overrides);
  }

  /** Reads the properties file (may be null) and the process environment. */
  public static AppConfig load(Path file) {
    return load(file, System.getenv(), Map.of());
  }

  public static AppConfig load(Path file, Map<String, String> env, Map<String, String> overrides) {
    Map<String, String> values = new LinkedHashMap<>();
    Map<String, String> sources = new TreeMap<>();
    if (file != null) {
      Properties props = new Properties();
      try (InputStream in = Files.newInputStream(file)) {
        props.load(in);
      } catch (IOException e) {
        throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
      }
      for (String key : props.stringPropertyNames()) {
        checkKnown(key, "in " + file);
        values.put(key, props.getProperty(key).trim());
        sources.put(key, "file " + file);
      }
    }
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (e.getKey().startsWith(ENV_PREFIX)) {
        String key =
            e.getKey().substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
        checkKnown(key, "from environment variable " + e.getKey());
        values.put(key, e.getValue().trim());
        sources.put(key, "env " + e.getKey());
      }
    }
    String bootstrap = env.get(BOOTSTRAP_ENV);
    if (bootstrap != null && !bootstrap.isBlank()) {
      values.put(KAFKA_BOOTSTRAP, bootstrap.trim());
      sources.put(KAFKA_BOOTSTRAP, "env " + BOOTSTRAP_ENV);
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      checkKnown(e.getKey(), "in overrides");
      values.put(e.getKey(), e.getValue());
      sources.put(e.getKey(), "override");
    }
    return new AppConfig(values, sources);
  }

  private static void checkKnown(String key, String where) {
    if (DEFINITION.names().contains(key)) {
      return;
    }
    if (key.startsWith(CLIENT_PREFIX) && key.length() > CLIENT_PREFIX.length()) {
      return;
    }
    if (TenantSettings.isTenantKey(key)) {
      return;
    }
    List<String> near = new ArrayList<>();
    for (String name : DEFINITION.names()) {
      if (name.startsWith(key.split("\\.")[0] + ".")) {
        near.add(name);
      }
    }
    throw new ConfigException(
        "unknown configuration key '"
            + key
            + "' "
            + where
            + closest(key).map(k -> "; did you mean '" + k + "'?").orElse("")
            + (near.isEmpty() ? "" : "; known keys nearby: " + String.join(", ", near))
            + "; Kafka client settings go under '"
            + CLIENT_PREFIX
            + "'");
  }

  /**
   * The known key a misspelt {@code key} most likely meant: the nearest by edit distance, if it is
   * within a quarter of the key's length (2 at least).
   */
  static java.util.Optional<String> closest(String key) {
    int limit = Math.max(2, key.length() / 4);
    org.apache.commons.text.similarity.LevenshteinDistance distance =
        new org.apache.commons.text.similarity.LevenshteinDistance(limit);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String name : new java.util.TreeSet<>(DEFINITION.names())) {
      int d = distance.apply(key, name);
      if (d >= 0 && d < bestDistance) {
        best = name;
        bestDistance = d;
      }
    }
    return java.util.Optional.ofNullable(best);
  }

  /** The bootstrap servers to use: an explicit cluster, else the local broker. */
  public String bootstrapServers() {
    String explicit = getString(KAFKA_BOOTSTRAP);
    if (explicit != null && !explicit.isBlank()) {
      return explicit;
    }
    return getString(KAFKA_HOST) + ":" + getInt(KAFKA_PORT);
  }

  /** The local broker's controller port: configured, or the client port + 1. */
  public int controllerPort() {
    int c = getInt(KAFKA_CONTROLLER_PORT);
    return c != 0 ? c : getInt(KAFKA_PORT) + 1;
  }

  /** True when the user named a cluster, so nothing local should be started. */
  /** Whether {@code name} was given (file, environment or override) rather than defaulted. */
  public boolean isSet(String name) {
    return sources.containsKey(name);
  }

  public boolean usesExternalCluster() {
    String explicit = getString(KAFKA_BOOTSTRAP);
    return explicit != null && !explicit.isBlank();
  }

  /**
   * A token kept as a secret: the value of {@code key} (a password key, e.g. from its environment
   * variable) when set, else the content of the file {@code fileKey} names, stripped; empty when
   * neither is set. Never logged.
   *
   * @throws ConfigException naming {@code fileKey} when its file cannot be read or is empty
   */
  public java.util.Optional<String> token(String key, String fileKey) {
    org.apache.kafka.common.config.types.Password value = getPassword(key);
    if (value != null && !value.value().isBlank()) {
      return java.util.Optional.of(value.value().strip());
    }
    String file = getString(fileKey);
    if (file.isBlank()) {
      return java.util.Optional.empty();
    }
    String read;
    try {
      read = Files.readString(Path.of(file.strip())).strip();
    } catch (IOException e) {
      throw new ConfigException(fileKey, file, "cannot be read: " + e.getMessage());
    }
    if (read.isEmpty()) {
      throw new ConfigException(fileKey, file, "is empty");
    }
    return java.util.Optional.of(read);
  }

  /** Settings for every Kafka client: bootstrap plus the {@code kafka.client.*} pass-through. */
  public Map<String, Object> clientProperties() {
    Map<String, Object> props = new LinkedHashMap<>(originalsWithPrefix(CLIENT_PREFIX));
    props.put("bootstrap.servers", bootstrapServers());
    return props;
  }

  public List<String> patterns() {
    return getList(PATTERNS);
  }

  /** Effective values with their source, secrets masked: safe to log. */
  public Map<String, String> describe() {
    Map<String, String> out = new TreeMap<>();
    for (String name : DEFINITION.names()) {
      Object v = get(name);
      out.put(
          name,
          (isSecret(name) && v != null ? "[hidden]" : String.valueOf(v))
              + (sources.containsKey(name) ? "  (" + sources.get(name) + ")" : ""));
    }
    originalsWithPrefix(CLIENT_PREFIX)
        .forEach(
            (k, v) ->
                out.put(
                    CLIENT_PREFIX + k,
                    (isSecret(k) ? "[hidden]" : String.valueOf(v))
                        + "  ("
                        + sources.getOrDefault(CLIENT_PREFIX + k, "?")
                        + ")"));
    return out;
  }

  static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password")
        || k.contains("secret")
        || k.contains("jaas")
        || k.contains("token")
        || k.endsWith(".key")
        || k.contains("credential");
  }
}
