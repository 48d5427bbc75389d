package dev.llmstreams.controller;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.StoreListing;
import dev.llmstreams.observability.StoreQuery;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.mcp.McpServers;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.HostInfo;

/** The controller as a pattern the runner starts, with {@code GET /goals/{id}}. */
public final class ControllerModule implements PatternModule {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(ControllerModule.class);
  private final boolean replay;
  private dev.llmstreams.runtime.LlmCalls llmCalls;
  private McpServers mcp;
  private AppConfig config;

  public ControllerModule() {
    this(false);
  }

  private ControllerModule(boolean replay) {
    this.replay = replay;
  }

  /**
   * The controller of a replay ({@code replay goals}): calls of tools that require approval are
   * dispatched without waiting for one, since the replay's tool worker never runs a tool with
   * effects.
   */
  public static ControllerModule forReplay() {
    return new ControllerModule(true);
  }

  @Override
  public String name() {
    return "controller";
  }

  /**
   * The gateway of the same app, for {@code controller.llm.calls=direct}; without one (null) the
   * controller's requests go through {@code controller.llm-requests}.
   */
  public ControllerModule withLlmCalls(dev.llmstreams.runtime.LlmCalls calls) {
    this.llmCalls = calls;
    return this;
  }

  /** The calls this controller makes directly, or null when its requests go through the topic. */
  static dev.llmstreams.runtime.LlmCalls direct(
      AppConfig config, dev.llmstreams.runtime.LlmCalls calls) {
    if (!config.getString(AppConfig.CONTROLLER_LLM_CALLS).equals("direct")) {
      return null;
    }
    if (calls == null) {
      LOG.info(
          "controller: the gateway does not run in this app; LLM requests go to"
              + " controller.llm-requests");
      return null;
    }
    for (String purpose : java.util.List.of(RunGoals.PURPOSE, RunGoals.REPAIR_PURPOSE)) {
      java.util.Optional<String> why = calls.topicOnly(purpose);
      if (why.isPresent()) {
        LOG.info(
            "controller: LLM requests go to controller.llm-requests, not directly: {}", why.get());
        return null;
      }
    }
    return calls;
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    // MCP servers' tools join the registry once listed (and again whenever a server changes them).
    this.config = config;
    mcp = McpServers.shared(config, registry);
    ToolRegistry tools = mcp.registry(config.getString(AppConfig.TOOLS_DIR));
    Guards guards =
        new Guards(Guards.Settings.from(config), tools).withTenants(TenantBudgets.from(config));
    if (replay) {
      guards = guards.withoutApprovals();
    }
    return new ControllerTopology(
            catalog,
            guards,
            config.getLong(AppConfig.CONTROLLER_RETENTION_MS),
            config.getLong(AppConfig.CONTROLLER_TICK_MS),
            config.getInt(AppConfig.CONTROLLER_MAX_RESULT_CHARS),
            registry,
            tracing(config),
            Prompts.of(config).get(Prompts.CONTROLLER_SYSTEM),
            InlineTools.from(config, tools),
            dev.llmstreams.runtime.tools.ToolWorkersTopology.workerId(config, name()))
        .withLlmCalls(
            direct(config, llmCalls),
            java.time.Duration.ofMillis(config.getLong(AppConfig.GATEWAY_POLL_MS)),
            config.getInt(AppConfig.GATEWAY_MAX_QUEUED))
        .build();
  }

  /**
   * Someone waits for each goal, whose steps cross committed hops (the goal in, the result out, and
   * per step the tool calls through topics and, without direct calls, the LLM's request and reply):
   * it runs with the short, interactive commit interval.
   */
  @Override
  public java.util.Map<String, Object> streamsOverrides(AppConfig config) {
    return dev.llmstreams.runtime.StreamsSettings.interactive(config);
  }

  /**
   * {@code GET /goals/{id}}: a running goal's phase, step, spend and open calls; a finished goal's
   * result (kept for {@code controller.retention.ms}). Answered by the instance that owns the goal,
   * from its store. {@code GET /tenants/{tenant}}: the tenant's spend in this budget period.
   */
  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    StoreQuery.<GoalLog>route(
        http,
        streams,
        self,
        "/goals/",
        ControllerTopology.LOG_STORE,
        "controller",
        (id, log) ->
            log == null
                ? HttpApi.Reply.json(
                    404,
                    "{\"error\":\"no goal with this id (never seen, or finished and deleted after"
                        + " controller.retention.ms)\"}")
                : HttpApi.Reply.json(200, Json.writer().writeValueAsString(view(log))));
    new StoreListing<GoalLog>(
            "/goals",
            ControllerTopology.LOG_STORE,
            "controller",
            "goals",
            "goalId",
            ControllerModule::listingFilterError,
            (id, log, params) -> listed(log, params.get("status"), params.get("tenant")))
        .register(http, streams, self);
    tenantRoute(http, streams);
  }

  /** A goal's status as {@code GET /goals/{id}} and {@code GET /goals?status=} name it. */
  static String status(GoalLog log) {
    return log.finished()
        ? log.result.status().name().toLowerCase(java.util.Locale.ROOT)
        : "running";
  }

  /** The statuses {@code GET /goals?status=} takes. */
  static final java.util.List<String> STATUSES =
      java.util.stream.Stream.concat(
              java.util.stream.Stream.of("running"),
              java.util.Arrays.stream(dev.llmstreams.events.GoalStatus.values())
                  .map(s -> s.name().toLowerCase(java.util.Locale.ROOT)))
          .toList();

  static String listingFilterError(java.util.Map<String, String> params) {
    String status = params.get("status");
    if (status != null && !STATUSES.contains(status)) {
      return "status must be one of " + String.join(", ", STATUSES);
    }
    String tenant = params.get("tenant");
    if (tenant != null && !dev.llmstreams.events.Goal.isTenant(tenant)) {
      return "tenant must be 1 to 64 of A-Z a-z 0-9 . _ -";
    }
    return null;
  }

  /**
   * A goal's entry in {@code GET /goals}: its status and tenant, and when it started and how far it
   * got (running) or until when its result is kept (finished); null when a filter leaves it out.
   */
  static ObjectNode listed(GoalLog log, String status, String tenant) {
    String st = status(log);
    if ((status != null && !status.equals(st))
        || (tenant != null && !tenant.equals(log.tenant()))) {
      return null;
    }
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("status", st).put("tenant", log.tenant());
    if (log.finished()) {
      out.put("expiresAt", Instant.ofEpochMilli(log.expiresAtMs).toString());
    } else {
      out.put("phase", log.phase.name().toLowerCase(java.util.Locale.ROOT))
          .put("step", log.step)
          .put("startedAt", Instant.ofEpochMilli(log.startedAtMs).toString())
          .put("deadline", Instant.ofEpochMilli(log.deadlineMs).toString());
    }
    if (log.parent != null) {
      out.set("parent", Json.toTree(log.parent));
    }
    return out;
  }

  /**
   * {@code GET /tenants/{tenant}}: what the tenant's goals spent in the current budget period and
   * its budget, from the global table every instance holds (so any instance answers), as of the
   * aggregation's last commit.
   */
  private void tenantRoute(HttpApi http, KafkaStreams streams) {
    TenantBudgets budgets = TenantBudgets.from(config);
    http.route(
        "/tenants/",
        (rest, query) -> {
          String tenant = rest; // percent-decoded already
          if (!dev.llmstreams.events.Goal.isTenant(tenant)) {
            return HttpApi.Reply.json(
                400, "{\"error\":\"GET /tenants/{tenant}: 1 to 64 of A-Z a-z 0-9 . _ -\"}");
          }
          if (streams.state() != KafkaStreams.State.RUNNING) {
            return HttpApi.Reply.json(
                503, "{\"error\":\"the controller is " + streams.state() + "\"}");
          }
          dev.llmstreams.events.TenantTotal total =
              streams
                  .store(
                      org.apache.kafka.streams.StoreQueryParameters.fromNameAndType(
                          ControllerTopology.TENANT_TOTALS_STORE,
                          org.apache.kafka.streams.state.QueryableStoreTypes
                              .<String, dev.llmstreams.events.TenantTotal>keyValueStore()))
                  .get(tenant);
          return HttpApi.Reply.json(
              200,
              Json.writer()
                  .writeValueAsString(
                      tenantView(tenant, total, budgets, System.currentTimeMillis())));
        });
  }

  static ObjectNode tenantView(
      String tenant, dev.llmstreams.events.TenantTotal total, TenantBudgets budgets, long nowMs) {
    Instant period = budgets.periodStart(nowMs);
    boolean current = total != null && total.periodStart().equals(period);
    dev.llmstreams.config.TenantSettings s = budgets.tenants().get(tenant);
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("tenant", tenant)
        .put("configured", s != null)
        .put("periodStart", period.toString())
        .put("periodEnd", period.plusMillis(budgets.periodMs()).toString())
        .put("tokens", current ? total.tokens() : 0)
        .put("costUsd", current ? total.costUsd() : 0.0)
        .put("replies", current ? total.replies() : 0);
    if (s != null && s.budgetTokens() != null) {
      out.put("budgetTokens", s.budgetTokens());
    }
    if (s != null && s.budgetCostUsd() != null) {
      out.put("budgetCostUsd", s.budgetCostUsd());
    }
    out.put("refused", budgets.spent(tenant, total, nowMs).orElse(null));
    return out;
  }

  static ObjectNode view(GoalLog log) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("goalId", log.goalId).put("tenant", log.tenant());
    if (log.finished()) {
      out.put("status", status(log));
      out.set("result", Json.toTree(log.result));
      out.put("expiresAt", Instant.ofEpochMilli(log.expiresAtMs).toString());
      return out;
    }
    out.put("status", "running")
        .put("phase", log.phase.name().toLowerCase(java.util.Locale.ROOT))
        .put("step", log.step)
        .put("maxSteps", log.maxSteps)
        .put("startedAt", Instant.ofEpochMilli(log.startedAtMs).toString())
        .put("deadline", Instant.ofEpochMilli(log.deadlineMs).toString())
        .put("tokens", log.usage.totalTokens())
        .put("maxTokens", log.maxTokens)
        .put("costUsd", log.costUsd)
        .put("maxCostUsd", log.maxCostUsd);
    out.set("tools", Json.toTree(log.tools));
    if (log.parent != null) {
      out.set("parent", Json.toTree(log.parent));
    }
    if (!log.children.isEmpty()) {
      // The tree as this goal knows it: children still running show no status, and the totals
      // count what the children that ended spent.
      out.set("children", Json.toTree(log.children));
      out.put("totalTokens", log.treeUsage().totalTokens()).put("totalCostUsd", log.treeCostUsd());
    }
    ArrayNode calls = out.putArray("calls");
    for (GoalLog.Call c : log.calls) {
      calls
          .addObject()
          .put("callId", c.callId)
          .put("tool", c.tool)
          .put("state", c.state.name().toLowerCase(java.util.Locale.ROOT))
          .put("attempt", c.attempt);
    }
    return out;
  }

  @Override
  public void afterClose() {
    if (mcp != null) {
      McpServers.release(config, mcp);
      mcp = null;
    }
  }
}
