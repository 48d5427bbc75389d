package dev.llmstreams.mcpserver;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.HttpApi;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpStatelessServerFeatures;
import io.modelcontextprotocol.server.McpStatelessSyncServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * llm-streams as an MCP server, on the official MCP Java SDK: the {@link LlmStreamsTools} served
 * over Streamable HTTP at {@code /mcp} of the app's HTTP server ({@link #http}, stateless), or over
 * stdio for desktop clients ({@link #stdio}).
 */
public final class LlmStreamsMcpServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LlmStreamsMcpServer.class);

  public static final String NAME = "llm-streams";

  static final String INSTRUCTIONS =
      "llm-streams runs LLM patterns on Kafka. submit_goal hands a goal to the controller (set"
          + " wait_seconds to wait for its result, or ask get_goal later); send_document adds a document"
          + " to a key's summary and get_synthesis (or the resource synthesis://{key}) reads it;"
          + " classify_text labels a text with the specialist model.";

  private final McpStatelessSyncServer server;
  private final LogClient log;

  private LlmStreamsMcpServer(McpStatelessSyncServer server, LogClient log) {
    this.server = server;
    this.log = log;
  }

  /** The JSON mapper of both transports (Jackson 2, as the rest of the app). */
  static McpJsonMapper json() {
    return new JacksonMcpJsonMapper(new ObjectMapper());
  }

  static String version() {
    String v = LlmStreamsMcpServer.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static McpSchema.ServerCapabilities capabilities() {
    return McpSchema.ServerCapabilities.builder().tools(false).resources(false, false).build();
  }

  /**
   * Serves {@code /mcp} on {@code http} (before it starts): the stateless Streamable HTTP transport
   * with the origin rules of {@code config} and the auth of {@code http} ({@link HttpApi#auth}).
   */
  public static LlmStreamsMcpServer http(
      HttpApi http, AppConfig config, LogClient log, AppQueries app, MeterRegistry registry) {
    McpJsonMapper json = json();
    HttpEndpoint endpoint =
        new HttpEndpoint(
            json,
            http,
            new OriginPolicy(config.getList(AppConfig.MCP_SERVER_ALLOWED_ORIGINS)),
            registry);
    LlmStreamsTools tools = new LlmStreamsTools(log, app);
    McpStatelessSyncServer server =
        McpServer.sync(endpoint)
            .serverInfo(NAME, version())
            .instructions(INSTRUCTIONS)
            .capabilities(capabilities())
            .jsonMapper(json)
            .jsonSchemaValidator(new ArgumentValidator())
            .requestTimeout(HttpEndpoint.REQUEST_TIMEOUT)
            .tools(
                tools.definitions().stream()
                    .map(
                        d ->
                            new McpStatelessServerFeatures.SyncToolSpecification(
                                d.tool(),
                                (context, request) ->
                                    AppQueries.asCaller(
                                        caller(context),
                                        () -> tools.call(d, request.arguments(), request.meta()))))
                    .toList())
            .resourceTemplates(
                new McpStatelessServerFeatures.SyncResourceTemplateSpecification(
                    tools.synthesisTemplate(),
                    (context, request) ->
                        AppQueries.asCaller(
                            caller(context), () -> tools.readSynthesis(request.uri()))))
            .build();
    http.handle(HttpEndpoint.PATH, endpoint);
    LOG.info(
        "MCP server at {} ({})",
        HttpEndpoint.PATH,
        http.auth().required() ? "bearer token required" : "no authentication");
    return new LlmStreamsMcpServer(server, log);
  }

  private static String caller(io.modelcontextprotocol.common.McpTransportContext context) {
    return context == null ? null : (String) context.get(HttpEndpoint.AUTHORIZATION);
  }

  /**
   * Starts serving the tools over stdio and returns the running server: it reads {@code in} on a
   * thread of its own until it ends, and writes the protocol, and nothing else, to {@code out}.
   */
  public static McpSyncServer stdio(
      LogClient log, AppQueries app, InputStream in, OutputStream out) {
    McpJsonMapper json = json();
    LlmStreamsTools tools = new LlmStreamsTools(log, app);
    return McpServer.sync(new StdioServerTransportProvider(json, in, out))
        .serverInfo(NAME, version())
        .instructions(INSTRUCTIONS)
        .capabilities(capabilities())
        .jsonMapper(json)
        .jsonSchemaValidator(new ArgumentValidator())
        .requestTimeout(Duration.ofSeconds(30))
        .tools(
            tools.definitions().stream()
                .map(
                    d ->
                        new McpServerFeatures.SyncToolSpecification(
                            d.tool(),
                            (exchange, request) ->
                                tools.call(d, request.arguments(), request.meta())))
                .toList())
        .resourceTemplates(
            new McpServerFeatures.SyncResourceTemplateSpecification(
                tools.synthesisTemplate(),
                (exchange, request) -> tools.readSynthesis(request.uri())))
        .build();
  }

  @Override
  public void close() {
    try {
      server.closeGracefully();
    } catch (RuntimeException e) {
      LOG.debug("closing the MCP server", e);
    }
    log.close();
  }
}
