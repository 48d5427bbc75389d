package dev.llmstreams.testkit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real MCP servers from npm, run by Node.js as child processes: {@code
 * @modelcontextprotocol/server-everything} and {@code @modelcontextprotocol/server-filesystem},
 * pinned in {@code src/test/npm/package.json} and {@code package-lock.json}; and, with the same
 * pins, two tools that test llm-streams' own MCP server ({@link #runBin}): the protocol's
 * conformance suite ({@link #CONFORMANCE}) and the inspector's command line ({@link
 * #INSPECTOR_CLI}).
 *
 * <p>Tests that use them are skipped only where Node.js is absent ({@link #assumeNode()}). Where
 * Node is present, the packages are installed on first use with {@code npm ci} when {@code
 * src/test/npm/node_modules} is missing or does not match the lock file (once per JVM; its output
 * goes to {@code target/npm-ci.log}); a failed install fails the test, it never skips it. CI's
 * {@code .ci/run} installs Node and runs {@code npm ci} before the build.
 *
 * <p>What the two servers report in {@code tools/list} (version 2026.8.31 of both, checked by
 * {@code NodeMcpServersTest}), for the tools the tests use:
 *
 * <ul>
 *   <li>server-everything (serverInfo {@code mcp-servers/everything} 2.0.0): {@code echo} (required
 *       string {@code message}; answers the text {@code "Echo: <message>"}, no structuredContent)
 *       and {@code get-sum} (numbers {@code a}, {@code b}), both {@code {readOnlyHint: true,
 *       destructiveHint: false, idempotentHint: true, openWorldHint: false}}; {@code
 *       toggle-simulated-logging} {@code {readOnlyHint: false, destructiveHint: false,
 *       idempotentHint: false, openWorldHint: false}}. Its other tools: get-annotated-message,
 *       get-env, get-resource-links, get-resource-reference, get-structured-content, get-tiny-image,
 *       trigger-long-running-operation (all read-only like echo), gzip-file-as-resource {@code
 *       {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true}},
 *       toggle-subscriber-updates and simulate-research-query (like toggle-simulated-logging). It
 *       sends {@code notifications/tools/list_changed} right after {@code
 *       notifications/initialized}: it registers tools that depend on the client's capabilities
 *       then (simulate-research-query for a client without capabilities).
 *   <li>server-filesystem (serverInfo {@code secure-filesystem-server} 0.2.0): {@code
 *       read_text_file} (string {@code path}, optional numbers {@code head}, {@code tail}), {@code
 *       read_file} (deprecated alias), {@code list_directory}, {@code list_directory_with_sizes},
 *       {@code directory_tree}, {@code search_files}, {@code get_file_info}, {@code
 *       read_media_file}, {@code read_multiple_files}, {@code list_allowed_directories}: {@code
 *       {readOnlyHint: true, openWorldHint: false}} (no destructiveHint); {@code write_file} {@code
 *       {readOnlyHint: false, idempotentHint: true, destructiveHint: true, openWorldHint: false}},
 *       {@code edit_file} and {@code move_file} {@code {readOnlyHint: false, idempotentHint: false,
 *       destructiveHint: true, openWorldHint: false}}, {@code create_directory} {@code
 *       {readOnlyHint: false, idempotentHint: true, destructiveHint: false, openWorldHint:
 *       false}}. Paths outside its root are refused with {@code isError: true}. A client that
 *       declares the {@code roots} capability replaces the root given on the command line with its
 *       own roots.
 * </ul>
 */
public final class NodeMcpServers {
  /** The npm project that pins the servers. */
  public static final Path NPM_DIR = Path.of("src", "test", "npm");

  public static final String EVERYTHING = "@modelcontextprotocol/server-everything";
  public static final String FILESYSTEM = "@modelcontextprotocol/server-filesystem";

  /** The protocol's own conformance suite ({@code conformance server --url ...}). */
  public static final String CONFORMANCE = "@modelcontextprotocol/conformance";

  /** The MCP inspector's command line ({@code --cli <url> --method ...}). */
  public static final String INSPECTOR_CLI = "@modelcontextprotocol/inspector-cli";

  /**
   * Loaded with {@code node --import} before Node.js 22: conformance 0.1.16 imports {@code
   * fs.globSync} (22+) at load time, for a command the tests do not run (see the files there).
   */
  static final Path NODE20_SHIM = NPM_DIR.resolve("node20").resolve("register.mjs");

  static final String NO_NODE =
      "Node.js (node and npm) not found on the PATH: MCP tests against the real npm servers are"
          + " skipped";

  private static final Path NPM_LOG = Path.of("target", "npm-ci.log");
  private static final Path NPM_LOCK = Path.of("target", "npm-ci.lock");
  private static final Duration NPM_CI_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration HTTP_START_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static boolean installed;
  private static RuntimeException installFailure;

  private NodeMcpServers() {}

  /**
   * Skips the calling test (a JUnit assumption) when {@code node} or {@code npm} is not on the
   * PATH; otherwise makes sure the pinned packages are installed ({@code npm ci} when needed),
   * failing when that fails.
   */
  public static void assumeNode() {
    Assumptions.assumeTrue(nodeFound(), NO_NODE);
    ensureInstalled();
  }

  /** Whether both {@code node} and {@code npm} are on the PATH. */
  public static boolean nodeFound() {
    return onPath("node").isPresent() && onPath("npm").isPresent();
  }

  /**
   * The command that starts server-everything on the stdio transport: {@code node
   * <abs>/src/test/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio}.
   */
  public static List<String> everythingStdio() {
    assumeNode();
    return List.of(node(), entryPoint(EVERYTHING).toString(), "stdio");
  }

  /**
   * The command that starts server-filesystem on stdio, allowed to read and write under {@code
   * root} only: {@code node <abs>/.../server-filesystem/dist/index.js <abs root>}.
   */
  public static List<String> filesystemStdio(Path root) {
    assumeNode();
    return List.of(
        node(), entryPoint(FILESYSTEM).toString(), root.toAbsolutePath().normalize().toString());
  }

  /**
   * Starts server-everything on the Streamable HTTP transport ({@code node .../index.js
   * streamableHttp}, port from the environment variable {@code PORT}) on a free port, and waits
   * until the port accepts connections. Its endpoint is {@code http://127.0.0.1:<port>/mcp}; it
   * answers POSTs with {@code text/event-stream} (clients must accept it) and hands out {@code
   * Mcp-Session-Id}. Its output goes to {@code target/mcp-everything-http-<port>.log}.
   */
  public static Started everythingHttp() {
    assumeNode();
    List<String> command = List.of(node(), entryPoint(EVERYTHING).toString(), "streamableHttp");
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) { // the free port may be taken meanwhile
      int port = freePort();
      Path log = Path.of("target", "mcp-everything-http-" + port + ".log").toAbsolutePath();
      try {
        Files.createDirectories(log.getParent());
        ProcessBuilder pb =
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PORT", Integer.toString(port));
        Process p = pb.start();
        Started started = new Started(URI.create("http://127.0.0.1:" + port + "/mcp"), p, log);
        try {
          awaitPort(p, port, log);
          return started;
        } catch (IllegalStateException e) {
          started.close();
          last = e;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + command, e);
      }
    }
    throw last;
  }

  /** What a Node.js command printed and how it ended. */
  public record Run(List<String> command, int exitCode, String output) {}

  /**
   * Runs {@code node <package's bin> args} in {@code dir} with a time limit and returns its exit
   * code and output (standard output and error together, also written to {@code log}); on Node.js
   * older than 22 the conformance suite is loaded with {@link #NODE20_SHIM}.
   */
  public static Run runBin(String pkg, List<String> args, Path dir, Path log, Duration timeout) {
    assumeNode();
    List<String> command = new ArrayList<>();
    command.add(node());
    if (pkg.equals(CONFORMANCE) && nodeMajor() < 22) {
      command.add("--import");
      command.add(NODE20_SHIM.toAbsolutePath().toUri().toString());
    }
    command.add(entryPoint(pkg).toString());
    command.addAll(args);
    try {
      Files.createDirectories(log.toAbsolutePath().getParent());
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      p.getOutputStream().close();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw new IllegalStateException(
            String.join(" ", command) + " did not end within " + timeout + ": " + tail(log));
      }
      return new Run(command, p.exitValue(), Files.readString(log));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  /** The major version of the {@code node} on the PATH. */
  static int nodeMajor() {
    try {
      Process p = new ProcessBuilder(node(), "--version").redirectErrorStream(true).start();
      String v = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor(10, TimeUnit.SECONDS);
      return Integer.parseInt(v.replaceFirst("^v", "").split("\\.")[0]);
    } catch (IOException | NumberFormatException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /** The JavaScript file that a package's {@code bin} names (its only or first command). */
  public static Path entryPoint(String pkg) {
    Path dir = NPM_DIR.resolve("node_modules").resolve(pkg).toAbsolutePath().normalize();
    JsonNode bin = readJson(dir.resolve("package.json")).path("bin");
    String relative;
    if (bin.isTextual()) {
      relative = bin.asText();
    } else if (bin.isObject() && bin.size() > 0) {
      relative = bin.elements().next().asText();
    } else {
      throw new IllegalStateException(pkg + "'s package.json has no bin: " + bin);
    }
    Path entry = dir.resolve(relative).normalize();
    if (!Files.isRegularFile(entry)) {
      throw new IllegalStateException(pkg + "'s bin " + entry + " does not exist");
    }
    return entry;
  }

  /**
   * Runs {@code npm ci} in {@link #NPM_DIR} unless {@code node_modules} already holds every package
   * at the version the lock file pins; once per JVM.
   */
  static synchronized void ensureInstalled() {
    if (installed) {
      return;
    }
    if (installFailure != null) {
      throw new IllegalStateException("npm ci failed earlier in this JVM", installFailure);
    }
    // Surefire runs test classes in two JVMs at once (forkCount): one npm ci at a time, and the
    // other JVM then finds node_modules up to date.
    Path lockFile = NPM_LOCK.toAbsolutePath();
    try {
      Files.createDirectories(lockFile.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (FileChannel channel =
        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      channel.lock(); // released when the channel closes
      Optional<String> stale = staleness();
      if (stale.isPresent()) {
        try {
          npmCi(stale.get());
        } catch (RuntimeException e) {
          installFailure = e;
          throw e;
        }
        Optional<String> still = staleness();
        if (still.isPresent()) {
          throw new IllegalStateException(
              "npm ci succeeded but "
                  + NPM_DIR.resolve("node_modules")
                  + " still does not match the lock file: "
                  + still.get()
                  + "; see "
                  + NPM_LOG.toAbsolutePath());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock " + lockFile, e);
    }
    installed = true;
  }

  /**
   * Why {@code node_modules} does not match {@code package-lock.json}, or empty when every package
   * of the lock file is installed at its version (optional packages may be absent: they are for
   * other platforms).
   */
  static Optional<String> staleness() {
    Path modules = NPM_DIR.resolve("node_modules");
    if (!Files.isDirectory(modules)) {
      return Optional.of(modules + " is missing");
    }
    JsonNode packages = readJson(NPM_DIR.resolve("package-lock.json")).path("packages");
    for (Map.Entry<String, JsonNode> e : packages.properties()) {
      if (e.getKey().isEmpty() || e.getValue().path("link").asBoolean(false)) {
        continue;
      }
      Path manifest = NPM_DIR.resolve(e.getKey()).resolve("package.json");
      String want = e.getValue().path("version").asText();
      if (!Files.isRegularFile(manifest)) {
        if (e.getValue().path("optional").asBoolean(false)) {
          continue;
        }
        return Optional.of(e.getKey() + " is not installed");
      }
      String have = readJson(manifest).path("version").asText();
      if (!have.equals(want)) {
        return Optional.of(e.getKey() + " is " + have + ", the lock file pins " + want);
      }
    }
    return Optional.empty();
  }

  private static void npmCi(String why) {
    List<String> command =
        List.of(onPath("npm").orElseThrow().toString(), "ci", "--no-audit", "--no-fund");
    Path log = NPM_LOG.toAbsolutePath();
    Instant begin = Instant.now();
    try {
      Files.createDirectories(log.getParent());
      Files.writeString(
          log, "# " + String.join(" ", command) + " in " + NPM_DIR + " because " + why + "\n");
      Process p =
          new ProcessBuilder(command)
              .directory(NPM_DIR.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      p.getOutputStream().close();
      if (!p.waitFor(NPM_CI_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", command)
                + " in "
                + NPM_DIR
                + " did not finish within "
                + NPM_CI_TIMEOUT
                + ": "
                + tail(log));
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            String.join(" ", command)
                + " in "
                + NPM_DIR
                + " failed with exit status "
                + p.exitValue()
                + " (the MCP tests need the servers it installs; the registry must be reachable"
                + " once, or run it by hand): "
                + tail(log));
      }
      System.err.printf(
          "npm ci in %s (%s) took %d ms; log: %s%n",
          NPM_DIR, why, Duration.between(begin, Instant.now()).toMillis(), log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return log
          + ", last lines:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return log + " (unreadable: " + e + ")";
    }
  }

  private static String node() {
    return onPath("node").orElseThrow(() -> new IllegalStateException(NO_NODE)).toString();
  }

  /** The executable {@code name} in a directory of the PATH. */
  static Optional<Path> onPath(String name) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String d : path.split(File.pathSeparator)) {
      if (!d.isEmpty()) {
        Path candidate = Path.of(d, name);
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return Optional.of(candidate.toAbsolutePath());
        }
      }
    }
    return Optional.empty();
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void awaitPort(Process p, int port, Path log) {
    // Written by Awaitility's polling thread, read here.
    List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    try {
      org.awaitility.Awaitility.await()
          .atMost(HTTP_START_TIMEOUT)
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                if (!p.isAlive()) {
                  throw new IllegalStateException(
                      "the server exited with "
                          + p.exitValue()
                          + " before listening: "
                          + tail(log));
                }
                try (Socket s = new Socket()) {
                  s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                  return true;
                } catch (IOException e) {
                  errors.add(e.toString());
                  return false;
                }
              });
      return;
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // said below, with the last connection error
    }
    throw new IllegalStateException(
        "the server did not listen on port "
            + port
            + " within "
            + HTTP_START_TIMEOUT
            + " (last error: "
            + (errors.isEmpty() ? "none" : errors.get(errors.size() - 1))
            + "): "
            + tail(log));
  }
}
