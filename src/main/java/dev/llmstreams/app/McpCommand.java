package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.mcpserver.AppQueries;
import dev.llmstreams.mcpserver.LlmStreamsMcpServer;
import dev.llmstreams.mcpserver.LogClient;
import io.modelcontextprotocol.server.McpSyncServer;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "mcp",
    mixinStandardHelpOptions = true,
    description = {
      "Serve llm-streams as an MCP server over stdio, for desktop clients that start it as a child"
          + " process: the tools submit_goal, get_goal, send_document, get_synthesis and classify_text,"
          + " and the resource synthesis://{key}.",
      "It produces and waits through Kafka (kafka.bootstrap, as every command) and asks a running app"
          + " (mcp.app.url) for get_goal and get_synthesis. Standard output carries the protocol only;"
          + " logs go to standard error. Ends when standard input closes.",
      "A running app (`run`) serves the same tools over Streamable HTTP at /mcp."
    })
final class McpCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(McpCommand.class);

  @ParentCommand Main main;

  @Option(
      names = "--stdio",
      required = true,
      description = "Serve MCP over standard input and output (the one transport of this command).")
  boolean stdio;

  @Override
  public Integer call() throws Exception {
    // Standard output is the protocol: whatever else would print there goes to standard error.
    PrintStream protocol = System.out;
    System.setOut(System.err);
    AppConfig config = main.config();
    CountDownLatch ended = new CountDownLatch(1);
    InputStream in = new EndAware(System.in, ended);
    try (LogClient log =
        new LogClient(
            main.catalog(),
            () -> Clients.producer(config),
            () -> Clients.committedReader(config, "llm-streams-mcp-stdio-"))) {
      log.warmUp();
      McpSyncServer server =
          LlmStreamsMcpServer.stdio(
              log,
              new AppQueries(
                  () -> config.getString(AppConfig.MCP_APP_URL),
                  java.net.http.HttpClient.newBuilder()
                      .connectTimeout(java.time.Duration.ofSeconds(5))
                      .followRedirects(java.net.http.HttpClient.Redirect.NEVER)
                      .build(),
                  appToken(config)),
              in,
              protocol);
      LOG.info(
          "MCP server on stdio: Kafka at {}, get_goal and get_synthesis asked of {}",
          config.bootstrapServers(),
          config.getString(AppConfig.MCP_APP_URL));
      ended.await();
      LOG.info("standard input closed: MCP server stopping");
      server.closeGracefully();
    }
    return 0;
  }

  /**
   * The bearer token sent to {@code mcp.app.url}: {@code mcp.app.token}, else the file {@code
   * mcp.app.token.file}; null when neither is set.
   */
  static String appToken(AppConfig config) {
    return config.token(AppConfig.MCP_APP_TOKEN, AppConfig.MCP_APP_TOKEN_FILE).orElse(null);
  }

  /** Standard input that tells when it ends (the client closed it or went away). */
  private static final class EndAware extends FilterInputStream {
    private final CountDownLatch ended;

    EndAware(InputStream in, CountDownLatch ended) {
      super(in);
      this.ended = ended;
    }

    @Override
    public int read() throws IOException {
      return seen(super.read());
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return seen(super.read(b, off, len));
    }

    private int seen(int n) {
      if (n == -1) {
        ended.countDown();
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      ended.countDown();
      super.close();
    }
  }
}
