package dev.llmstreams.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The demo's MCP server: the protocol's reference server {@code server-everything} (Node.js),
 * installed once with npm into {@code .llm-streams/demo/mcp/npm/} and declared in {@code
 * .llm-streams/demo/mcp/} when the configuration declares no MCP servers of its own. One sample
 * goal then calls its {@code get-sum} tool through the controller, the topics and the tools
 * pattern's MCP bridge.
 */
final class DemoMcp {
  /** The pinned version; npx downloads it once into its cache. */
  static final String NAME = "@modelcontextprotocol/server-everything";

  static final String PACKAGE = NAME + "@2026.8.31";

  static final String SERVER = "everything";
  static final String GOALS = "demo/mcp-goals.jsonl";

  private DemoMcp() {}

  /**
   * Declares the demo's server and points {@code mcp.dir} at it, when the configuration has no
   * {@code mcp.dir} and Node.js is on the PATH.
   *
   * @return why there is no MCP goal in this run, or null when there is one
   */
  static String prepare(Main main) throws IOException {
    AppConfig config = main.config();
    if (!config.getString(AppConfig.MCP_DIR).isBlank()) {
      return "mcp.dir is set: the demo leaves your MCP servers as they are";
    }
    String node = onPath("node");
    String npm = onPath("npm");
    if (node == null || npm == null) {
      return "node and npm (Node.js) are not on the PATH";
    }
    Path dir = Path.of(".llm-streams", "demo", "mcp").toAbsolutePath();
    Path npmDir = dir.resolve("npm");
    Path pkg = npmDir.resolve("node_modules").resolve(NAME);
    if (!Files.exists(pkg.resolve("package.json"))) {
      // Installed once (about 10 s), so the server starts at once on every run.
      System.out.println(
          "llm-streams demo: installing the MCP reference server " + PACKAGE + " ...");
      Files.createDirectories(npmDir);
      Path log = dir.resolve("npm-install.log");
      Process p =
          new ProcessBuilder(
                  npm, "install", "--no-audit", "--no-fund", "--prefix", npmDir.toString(), PACKAGE)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      try {
        if (!p.waitFor(3, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) {
          p.destroyForcibly();
          return "npm install " + PACKAGE + " failed (see " + log + ")";
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "interrupted while installing " + PACKAGE;
      }
    }
    com.fasterxml.jackson.databind.JsonNode bin =
        new ObjectMapper().readTree(pkg.resolve("package.json").toFile()).path("bin");
    String entry =
        bin.isTextual()
            ? bin.asText()
            : bin.elements().hasNext() ? bin.elements().next().asText() : "";
    if (entry.isBlank()) {
      return PACKAGE + " names no program in its package.json";
    }
    Files.writeString(
        dir.resolve(SERVER + ".json"),
        new ObjectMapper()
            .writerWithDefaultPrettyPrinter()
            .writeValueAsString(
                Map.of(
                    "name",
                    SERVER,
                    "command",
                    node,
                    "args",
                    List.of(pkg.resolve(entry).normalize().toString(), "stdio"),
                    "include",
                    List.of("get-sum", "echo"),
                    "timeoutMs",
                    20_000)));
    main.override(AppConfig.MCP_DIR, dir.toString());
    return null;
  }

  private static String onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String d : path.split(java.io.File.pathSeparator)) {
      Path p = Path.of(d, program);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }
}
