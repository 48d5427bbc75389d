package dev.llmstreams.testkit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child process that speaks newline-delimited JSON-RPC 2.0 on its standard streams (the MCP stdio
 * transport), driven by hand: a test writes each message itself and reads each line the process
 * writes, so it sees exactly what is on the wire, with no MCP client in between. Standard error
 * goes to a file.
 */
public final class StdioJsonRpc implements AutoCloseable {
  /** The MCP protocol revision this hand-written client offers in {@code initialize}. */
  public static final String PROTOCOL_VERSION = "2025-11-25";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EOF = "\u0000EOF";

  private final Process process;
  private final Path stderr;
  private final OutputStream stdin;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<JsonNode> notifications = new ArrayList<>();
  private int nextId = 1;

  private StdioJsonRpc(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    this.stdin = process.getOutputStream();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  lines.add(line);
                }
              } catch (IOException e) {
                // the process is gone: same as the end of its output
              } finally {
                lines.add(EOF);
              }
            },
            "stdout of " + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code command}; its standard error goes to {@code stderr}. */
  public static StdioJsonRpc start(List<String> command, Path stderr) {
    try {
      Process p =
          new ProcessBuilder(command)
              .redirectError(ProcessBuilder.Redirect.to(stderr.toFile()))
              .start();
      return new StdioJsonRpc(p, stderr);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  public Process process() {
    return process;
  }

  /** What the process wrote on its standard error so far. */
  public String stderr() {
    try {
      return Files.exists(stderr) ? Files.readString(stderr) : "";
    } catch (IOException e) {
      return "(cannot read " + stderr + ": " + e + ")";
    }
  }

  /** The notifications (messages with a method and no id) read so far by {@link #request}. */
  public List<JsonNode> notifications() {
    return List.copyOf(notifications);
  }

  /** Writes {@code message} as one line. */
  public void send(JsonNode message) {
    sendRaw(message.toString());
  }

  /** Writes {@code line} and a line feed as they are. */
  public void sendRaw(String line) {
    try {
      stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to " + process.pid() + ": " + stderr(), e);
    }
  }

  /** Sends a notification ({@code params} may be null). */
  public void notify(String method, JsonNode params) {
    ObjectNode m = JSON.createObjectNode().put("jsonrpc", "2.0").put("method", method);
    if (params != null) {
      m.set("params", params);
    }
    send(m);
  }

  /** Sends a request with the next id and returns that id; {@code params} may be null. */
  public int sendRequest(String method, JsonNode params) {
    int id = nextId++;
    ObjectNode m = JSON.createObjectNode().put("jsonrpc", "2.0").put("id", id);
    m.put("method", method);
    if (params != null) {
      m.set("params", params);
    }
    send(m);
    return id;
  }

  /**
   * Sends a request and returns its response (the whole message, with {@code result} or {@code
   * error}); notifications read meanwhile are kept in {@link #notifications()}. Fails after {@code
   * timeout}, at the end of the output, or on a line that is not JSON.
   */
  public JsonNode request(String method, JsonNode params, Duration timeout) {
    int id = sendRequest(method, params);
    return awaitResponse(id, timeout);
  }

  /** Reads messages until the response to request {@code id}. */
  public JsonNode awaitResponse(int id, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      String line =
          nextLine(Duration.ofNanos(Math.max(0, left)))
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "no response to request "
                              + id
                              + " within "
                              + timeout
                              + "; stderr: "
                              + stderr()));
      JsonNode m = parse(line);
      if (m.has("id") && m.path("id").asInt(-1) == id && !m.has("method")) {
        return m;
      }
      if (m.has("method") && !m.has("id")) {
        notifications.add(m);
      }
    }
  }

  /**
   * The next line the process writes, or empty after {@code timeout}; fails at the end of its
   * output.
   */
  public Optional<String> nextLine(Duration timeout) {
    try {
      String line = lines.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (line == null) {
        return Optional.empty();
      }
      if (line.equals(EOF)) {
        lines.add(EOF);
        throw new AssertionError(
            "the process closed its standard output (alive: "
                + process.isAlive()
                + "); stderr: "
                + stderr());
      }
      return Optional.of(line);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Whether the process has closed its standard output (read to the end). */
  public boolean outputEnded(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          return false;
        }
        if (line.equals(EOF)) {
          lines.add(EOF);
          return true;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The MCP handshake: {@code initialize} (this client offers {@link #PROTOCOL_VERSION} and no
   * capabilities), then {@code notifications/initialized}; returns the {@code initialize} result.
   */
  public JsonNode initialize(Duration timeout) {
    ObjectNode params = JSON.createObjectNode().put("protocolVersion", PROTOCOL_VERSION);
    params.putObject("capabilities");
    params.putObject("clientInfo").put("name", "llm-streams-tests").put("version", "0");
    JsonNode response = request("initialize", params, timeout);
    if (!response.has("result")) {
      throw new AssertionError("initialize failed: " + response + "; stderr: " + stderr());
    }
    notify("notifications/initialized", null);
    return response.get("result");
  }

  /** {@code tools/list}: the {@code tools} array of the result. */
  public JsonNode listTools(Duration timeout) {
    JsonNode response = request("tools/list", JSON.createObjectNode(), timeout);
    if (!response.path("result").path("tools").isArray()) {
      throw new AssertionError("tools/list failed: " + response + "; stderr: " + stderr());
    }
    return response.get("result").get("tools");
  }

  /** {@code tools/call}: the whole response message. */
  public JsonNode callTool(String name, JsonNode arguments, Duration timeout) {
    return request("tools/call", toolCall(name, arguments), timeout);
  }

  /** The {@code params} of a {@code tools/call} request. */
  public static ObjectNode toolCall(String name, JsonNode arguments) {
    ObjectNode params = JSON.createObjectNode().put("name", name);
    params.set("arguments", arguments == null ? JSON.createObjectNode() : arguments);
    return params;
  }

  /** Parses one line as JSON; fails with the line when it is not. */
  public static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new AssertionError(
          "not JSON: " + (line.length() > 200 ? line.substring(0, 200) + "..." : line), e);
    }
  }

  /** Closes the process's standard input, waits up to 5 s for it to exit, then kills it. */
  @Override
  public void close() {
    try {
      stdin.close();
    } catch (IOException e) {
      // already gone
    }
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
