package dev.llmstreams.testkit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.llmstreams.broker.LocalBroker;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A scripted, hostile MCP server for tests: a real child process whose behaviour the test chooses
 * (by the tool it calls and by {@code --mode}) and whose received {@code tools/call} requests the
 * test can read back. It does not use the MCP SDK, so it is independent of the client under test:
 * plain JSON-RPC 2.0 with Jackson.
 *
 * <pre>
 * java -cp &lt;test and main classpath&gt; dev.llmstreams.testkit.mcp.ScriptedMcpServer --log FILE
 *     [--mode normal|bad-schema|no-initialize|crash-on-start]
 *     [--http PORT [--port-file FILE] [--token TOKEN] [--exit-on-stdin-eof]]
 * </pre>
 *
 * <p>Without {@code --http} it speaks the stdio transport: one JSON-RPC message a line on standard
 * input and output (its own diagnostics go to standard error only), and exits 0 at the end of its
 * input. With {@code --http PORT} (0: a free port) it serves Streamable HTTP at {@code
 * http://127.0.0.1:PORT/mcp}, prints {@code listening on http://127.0.0.1:<port>/mcp} on standard
 * error and writes the port to {@code --port-file} (atomically) once it accepts connections:
 *
 * <ul>
 *   <li>{@code POST /mcp} with a request: {@code 200 application/json} and the response. {@code
 *       initialize} opens a session (response header {@code Mcp-Session-Id}); every other POST
 *       must carry it ({@code 400} without it, {@code 404} for an unknown one). A {@code
 *       MCP-Protocol-Version} header that names no version it knows: {@code 400}. A notification
 *       or a response from the client: {@code 202} and no body. Bad JSON: {@code 400} with a
 *       JSON-RPC parse error.
 *   <li>{@code GET /mcp}: {@code 405} (no server-initiated stream); {@code DELETE /mcp} ends the
 *       session ({@code 200}; {@code 404} when unknown).
 *   <li>with {@code --token TOKEN}, every request without {@code Authorization: Bearer TOKEN}:
 *       {@code 401} with {@code WWW-Authenticate: Bearer}.
 *   <li>{@code hang} holds the request open; {@code malformed} answers {@code 200
 *       application/json} with the body {@code {not json}; {@code die} exits during the request;
 *       {@code change_tools} answers with {@code text/event-stream}: the {@code
 *       notifications/tools/list_changed} event, then the response (the only way to deliver a
 *       notification without a GET stream).
 *   <li>{@code --exit-on-stdin-eof}: exits when its standard input ends, so that it does not
 *       outlive the JVM that started it with a pipe there ({@link #startHttp} passes it).
 * </ul>
 *
 * <p>{@code initialize} answers the client's {@code protocolVersion} when it is one of {@link
 * #PROTOCOL_VERSIONS}, else {@link #LATEST_PROTOCOL_VERSION}, with capabilities {@code {tools:
 * {listChanged: true}}}; {@code ping}, {@code tools/list} and {@code tools/call} are answered, other
 * methods get {@code -32601}, notifications are ignored. Before {@code initialize} only {@code
 * ping} is answered ({@code -32600} otherwise). Every {@code tools/call} is appended to the {@code
 * --log} file as one JSON line {@code {"name":...,"arguments":...,"id":...}} (the file is closed)
 * <em>before</em> the server answers or misbehaves, so a test can prove that a call was or was not
 * sent ({@link #calls(Path)}). The tools ({@link #TOOLS}):
 *
 * <ul>
 *   <li>{@code echo} ({@code readOnlyHint: true}; required string {@code message}, no other
 *       properties; has an outputSchema): text {@code "echo: <message>"} and structuredContent
 *       {@code {"message": ...}};
 *   <li>{@code add} ({@code readOnlyHint: true}; required numbers {@code a}, {@code b}; has an
 *       outputSchema): structuredContent {@code {"sum": a+b}} (exact decimal sum) and the same JSON
 *       as text;
 *   <li>{@code delete_record} ({@code readOnlyHint: false, destructiveHint: true}; required string
 *       {@code id}): text {@code "deleted <id>"};
 *   <li>{@code annotated_nothing} (no annotations at all; required string {@code x}): text {@code
 *       "annotated_nothing: <x>"};
 *   <li>{@code fail} ({@code readOnlyHint: true}; optional string {@code reason}): {@code isError:
 *       true} and text {@code "the operation failed: <reason>"} ({@code "scripted failure"} by
 *       default);
 *   <li>{@code hang} ({@code readOnlyHint: true}): never answers;
 *   <li>{@code huge} ({@code readOnlyHint: true}): one text content of {@link #HUGE_CHARS} {@code
 *       x} (10 MiB);
 *   <li>{@code malformed} ({@code readOnlyHint: true}): writes the line {@code {not json}, then
 *       nothing;
 *   <li>{@code bad_jsonrpc} ({@code readOnlyHint: true}): writes {@link #BAD_JSONRPC}, valid JSON
 *       but no JSON-RPC message (no id, no result, no error, no method), then nothing;
 *   <li>{@code die} ({@code readOnlyHint: true}): the process halts with status 3 without
 *       answering;
 *   <li>{@code liar} ({@code readOnlyHint: true}; inputSchema {@code
 *       {"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}): JSON-RPC error
 *       {@code -32602 "invalid params"} whatever the arguments;
 *   <li>{@code change_tools} ({@code readOnlyHint: true}): answers text {@code "tools changed"},
 *       then sends {@code notifications/tools/list_changed}; from then on {@code tools/list} (in
 *       this session) also lists {@code added_later} ({@code readOnlyHint: true}; required string
 *       {@code x}; text {@code "added_later: <x>"});
 *   <li>in {@code --mode bad-schema} only: {@code broken} ({@code readOnlyHint: true}) whose
 *       inputSchema is {@code {"type": 12}}, not a JSON Schema; called anyway, it answers text
 *       {@code "broken called"}.
 * </ul>
 *
 * <p>Arguments that do not fit a tool's inputSchema get a result with {@code isError: true} (a
 * tool execution error, as the 2025-11-25 revision asks for input validation errors); an unknown
 * tool gets the JSON-RPC error {@code -32602 "Unknown tool: <name>"}. Modes: {@code normal}; {@code
 * bad-schema}; {@code no-initialize} (never answers {@code initialize}: a server that cannot be
 * reached); {@code crash-on-start} (writes {@link #CRASH_MESSAGE} on standard error and exits 1
 * before reading anything).
 */
public final class ScriptedMcpServer {
  public static final List<String> PROTOCOL_VERSIONS =
      List.of("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25");
  public static final String LATEST_PROTOCOL_VERSION = "2025-11-25";

  /** The tools of {@code tools/list} in mode {@code normal}, in order. */
  public static final List<String> TOOLS =
      List.of(
          "echo",
          "add",
          "delete_record",
          "annotated_nothing",
          "fail",
          "hang",
          "huge",
          "malformed",
          "bad_jsonrpc",
          "die",
          "liar",
          "change_tools",
          "wrong_output");

  public static final int HUGE_CHARS = 10 * 1024 * 1024;
  public static final String MALFORMED = "{not json";
  public static final String BAD_JSONRPC =
      "{\"jsonrpc\":\"2.0\",\"unexpected\":\"not a response\"}";
  public static final int DIE_STATUS = 3;
  public static final String CRASH_MESSAGE =
      "scripted-mcp-server: crashing on start as asked (--mode crash-on-start)";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String SESSION_HEADER = "Mcp-Session-Id";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  // ---------------------------------------------------------------------------------------------
  // For tests: command lines, HTTP start, the call log.

  /**
   * The command that runs this server in a child JVM on the test classpath: {@code <java.home>/bin/
   * java ... -cp <java.class.path> dev.llmstreams.testkit.mcp.ScriptedMcpServer --log <log>
   * <options>} (a manifest-only surefire jar on the class path is expanded to its entries).
   */
  public static List<String> command(Path log, String... options) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                String.join(File.pathSeparator, LocalBroker.childClasspath()),
                ScriptedMcpServer.class.getName(),
                "--log",
                log.toAbsolutePath().toString()));
    cmd.addAll(List.of(options));
    return cmd;
  }

  /**
   * Starts the server on Streamable HTTP on a free port ({@code --http 0 --port-file ...
   * --exit-on-stdin-eof} plus {@code options}, e.g. {@code "--token", "t"} or {@code "--mode",
   * "bad-schema"}) and waits until it listens. Its standard output and error go to {@code
   * <log>.out}.
   */
  public static Started startHttp(Path log, String... options) {
    Path abs = log.toAbsolutePath();
    Path portFile = abs.resolveSibling(abs.getFileName() + ".port");
    Path output = abs.resolveSibling(abs.getFileName() + ".out");
    List<String> opts =
        new ArrayList<>(
            List.of("--http", "0", "--port-file", portFile.toString(), "--exit-on-stdin-eof"));
    opts.addAll(List.of(options));
    List<String> cmd = command(abs, opts.toArray(String[]::new));
    try {
      Files.deleteIfExists(portFile);
      Process p =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      try {
        org.awaitility.Awaitility.await()
            .atMost(START_TIMEOUT)
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  if (!p.isAlive()) {
                    throw new IllegalStateException(
                        "the scripted MCP server exited with "
                            + p.exitValue()
                            + " before listening: "
                            + Files.readString(output));
                  }
                  return Files.exists(portFile);
                });
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "the scripted MCP server did not listen within "
                + START_TIMEOUT
                + ": "
                + Files.readString(output));
      }
      int port = Integer.parseInt(Files.readString(portFile).strip());
      return new Started(URI.create("http://127.0.0.1:" + port + "/mcp"), p, output);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + cmd, e);
    }
  }

  /**
   * The {@code tools/call} requests the server received so far, in order: {@code {"name":...,
   * "arguments":..., "id":...}} each (empty when the file does not exist yet).
   */
  public static List<JsonNode> calls(Path log) {
    try {
      if (!Files.exists(log)) {
        return List.of();
      }
      List<JsonNode> calls = new ArrayList<>();
      for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          calls.add(JSON.readTree(line));
        }
      }
      return calls;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + log, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The process.

  enum Mode {
    NORMAL,
    BAD_SCHEMA,
    NO_INITIALIZE,
    CRASH_ON_START;

    static Mode parse(String s) {
      return Mode.valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
  }

  private static final String USAGE =
      "usage: ScriptedMcpServer --log FILE [--mode normal|bad-schema|no-initialize|crash-on-start]"
          + " [--http PORT [--port-file FILE] [--token TOKEN] [--exit-on-stdin-eof]]";

  public static void main(String[] args) throws IOException {
    Path log = null;
    Mode mode = Mode.NORMAL;
    Integer httpPort = null;
    Path portFile = null;
    String token = null;
    boolean exitOnStdinEof = false;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--log" -> log = Path.of(args[++i]);
          case "--mode" -> mode = Mode.parse(args[++i]);
          case "--http" -> httpPort = Integer.parseInt(args[++i]);
          case "--port-file" -> portFile = Path.of(args[++i]);
          case "--token" -> token = args[++i];
          case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
      if (log == null) {
        throw new IllegalArgumentException("--log FILE is required");
      }
    } catch (RuntimeException e) {
      System.err.println("scripted-mcp-server: " + e.getMessage() + "\n" + USAGE);
      System.exit(2);
      return;
    }
    if (mode == Mode.CRASH_ON_START) {
      System.err.println(CRASH_MESSAGE);
      System.exit(1);
      return;
    }
    // Standard output belongs to the protocol: nothing else may write there.
    PrintStream protocolOut = System.out;
    System.setOut(System.err);
    Server server = new Server(mode, log);
    if (httpPort == null) {
      new Stdio(server, protocolOut).run(System.in);
      System.exit(0);
    } else {
      HttpTransport.start(server, httpPort, portFile, token);
      if (exitOnStdinEof) {
        Thread watch =
            new Thread(
                () -> {
                  try {
                    System.in.transferTo(OutputStream.nullOutputStream());
                  } catch (IOException e) {
                    // same as the end of the input
                  }
                  System.err.println("scripted-mcp-server: standard input ended, exiting");
                  Runtime.getRuntime().halt(0);
                },
                "stdin-watch");
        watch.setDaemon(true);
        watch.start();
      }
      // The HTTP server's dispatcher thread keeps the JVM alive.
    }
  }

  /** What to do with one incoming message. */
  sealed interface Reply {
    /** Send {@code message}, then {@code then} (notifications). */
    record Message(JsonNode message, List<JsonNode> then) implements Reply {}

    /** Send {@code text} as it is (not necessarily JSON). */
    record Raw(String text) implements Reply {}

    /** A notification or a client's response: nothing to send (HTTP: 202). */
    record Accepted() implements Reply {}

    /** A request that is never answered (HTTP: the request is held open). */
    record NoAnswer() implements Reply {}

    /** Halt the process with {@code status}, answering nothing. */
    record Exit(int status) implements Reply {}
  }

  /** Per-connection state: one for stdio, one per {@code Mcp-Session-Id} over HTTP. */
  static final class Session {
    volatile boolean initialized;
    volatile boolean toolsChanged;
  }

  /** The transport-independent behaviour. */
  static final class Server {
    private final Mode mode;
    private final Path log;
    private String huge;

    Server(Mode mode, Path log) {
      this.mode = mode;
      this.log = log.toAbsolutePath();
    }

    Reply handle(JsonNode m, Session session) {
      if (!m.isObject()) {
        return error(NullNode.getInstance(), -32600, "Invalid Request: not a JSON object");
      }
      JsonNode id = m.get("id");
      JsonNode method = m.get("method");
      if (method == null) {
        if (id != null && (m.has("result") || m.has("error"))) {
          return new Reply.Accepted(); // a response to a request of ours: we send none
        }
        return error(
            id == null ? NullNode.getInstance() : id, -32600, "Invalid Request: no method");
      }
      if (!method.isTextual()) {
        return error(id == null ? NullNode.getInstance() : id, -32600, "Invalid Request: method");
      }
      String name = method.asText();
      System.err.println("scripted-mcp-server: received " + name + (id == null ? "" : " " + id));
      if (id == null) {
        return new Reply.Accepted(); // notifications, notifications/initialized included
      }
      JsonNode params = m.path("params");
      switch (name) {
        case "initialize":
          if (mode == Mode.NO_INITIALIZE) {
            return new Reply.NoAnswer();
          }
          session.initialized = true;
          return result(id, initializeResult(params.path("protocolVersion").asText("")));
        case "ping":
          return result(id, NODES.objectNode());
        default:
          break;
      }
      if (!session.initialized) {
        return error(id, -32600, "Invalid Request: the session is not initialized");
      }
      return switch (name) {
        case "tools/list" -> result(id, NODES.objectNode().set("tools", tools(session)));
        case "tools/call" -> call(id, params, session);
        default -> error(id, -32601, "Method not found: " + name);
      };
    }

    private static ObjectNode initializeResult(String offered) {
      ObjectNode r = NODES.objectNode();
      r.put(
          "protocolVersion",
          PROTOCOL_VERSIONS.contains(offered) ? offered : LATEST_PROTOCOL_VERSION);
      r.putObject("capabilities").putObject("tools").put("listChanged", true);
      r.putObject("serverInfo").put("name", "scripted-mcp-server").put("version", "1.0.0");
      return r;
    }

    private ArrayNode tools(Session session) {
      ArrayNode tools = NODES.arrayNode();
      ObjectNode echo =
          tool("echo", "Echoes the message", readOnly(), schema(Map.of("message", "string"), true));
      echo.set(
          "outputSchema",
          schema(Map.of("message", "string"), true).put("additionalProperties", false));
      tools.add(echo);
      ObjectNode add =
          tool(
              "add",
              "Adds two numbers",
              readOnly(),
              schema(Map.of("a", "number", "b", "number"), true));
      add.set("outputSchema", schema(Map.of("sum", "number"), true));
      tools.add(add);
      tools.add(
          tool(
              "delete_record",
              "Deletes a record for ever",
              NODES.objectNode().put("readOnlyHint", false).put("destructiveHint", true),
              schema(Map.of("id", "string"), true)));
      tools.add(
          tool(
              "annotated_nothing",
              "A tool without annotations",
              null,
              schema(Map.of("x", "string"), true)));
      tools.add(
          tool(
              "fail",
              "Always fails (isError)",
              readOnly(),
              schema(Map.of("reason", "string"), false)));
      tools.add(tool("hang", "Never answers", readOnly(), schema(Map.of(), false)));
      tools.add(tool("huge", "Answers 10 MiB of text", readOnly(), schema(Map.of(), false)));
      tools.add(
          tool(
              "malformed", "Answers a line that is not JSON", readOnly(), schema(Map.of(), false)));
      tools.add(
          tool(
              "bad_jsonrpc",
              "Answers JSON that is not JSON-RPC",
              readOnly(),
              schema(Map.of(), false)));
      tools.add(
          tool(
              "die",
              "Exits with status " + DIE_STATUS + " without answering",
              readOnly(),
              schema(Map.of(), false)));
      ObjectNode liarSchema = NODES.objectNode().put("type", "object");
      liarSchema.putObject("properties").putObject("n").put("type", "integer");
      liarSchema.putArray("required").add("n");
      tools.add(tool("liar", "Rejects every argument as invalid params", readOnly(), liarSchema));
      tools.add(
          tool(
              "change_tools",
              "Adds the tool added_later and notifies tools/list_changed",
              readOnly(),
              schema(Map.of(), false)));
      ObjectNode wrongOutput =
          tool(
              "wrong_output",
              "Declares a numeric sum as its output and answers a word instead",
              readOnly(),
              schema(Map.of(), false));
      wrongOutput.set("outputSchema", schema(Map.of("sum", "number"), true));
      tools.add(wrongOutput);
      if (mode == Mode.BAD_SCHEMA) {
        tools.add(
            tool(
                "broken",
                "Its inputSchema is not a JSON Schema",
                readOnly(),
                NODES.objectNode().put("type", 12)));
      }
      if (session.toolsChanged) {
        tools.add(
            tool(
                "added_later",
                "Listed after change_tools",
                readOnly(),
                schema(Map.of("x", "string"), true)));
      }
      return tools;
    }

    private static ObjectNode tool(
        String name, String description, ObjectNode annotations, ObjectNode inputSchema) {
      ObjectNode t = NODES.objectNode().put("name", name).put("description", description);
      t.set("inputSchema", inputSchema);
      if (annotations != null) {
        t.set("annotations", annotations);
      }
      return t;
    }

    private static ObjectNode readOnly() {
      return NODES.objectNode().put("readOnlyHint", true);
    }

    /** An object schema with {@code properties} (name to type), all required or none. */
    private static ObjectNode schema(Map<String, String> properties, boolean required) {
      ObjectNode s = NODES.objectNode().put("type", "object");
      ObjectNode props = s.putObject("properties");
      properties.keySet().stream()
          .sorted()
          .forEach(p -> props.putObject(p).put("type", properties.get(p)));
      if (required && !properties.isEmpty()) {
        ArrayNode r = s.putArray("required");
        properties.keySet().stream().sorted().forEach(r::add);
      }
      s.put("additionalProperties", false);
      return s;
    }

    private Reply call(JsonNode id, JsonNode params, Session session) {
      JsonNode nameNode = params.get("name");
      JsonNode args = params.get("arguments");
      logCall(nameNode, args, id, params.get("_meta"));
      if (nameNode == null || !nameNode.isTextual()) {
        return error(id, -32602, "invalid params: name must be a string");
      }
      if (args != null && !args.isObject() && !args.isNull()) {
        return error(id, -32602, "invalid params: arguments must be an object");
      }
      JsonNode a = args == null ? NODES.objectNode() : args;
      String name = nameNode.asText();
      switch (name) {
        case "echo":
          {
            String bad = check(a, Map.of("message", "string"), List.of("message"));
            if (bad != null) {
              return toolError(id, bad);
            }
            String message = a.get("message").asText();
            return toolResult(
                id, "echo: " + message, NODES.objectNode().put("message", message), false);
          }
        case "add":
          {
            String bad = check(a, Map.of("a", "number", "b", "number"), List.of("a", "b"));
            if (bad != null) {
              return toolError(id, bad);
            }
            ObjectNode sum =
                NODES
                    .objectNode()
                    .set(
                        "sum",
                        NODES.numberNode(a.get("a").decimalValue().add(a.get("b").decimalValue())));
            return toolResult(id, sum.toString(), sum, false);
          }
        case "delete_record":
          {
            String bad = check(a, Map.of("id", "string"), List.of("id"));
            return bad != null
                ? toolError(id, bad)
                : toolResult(id, "deleted " + a.get("id").asText(), null, false);
          }
        case "annotated_nothing":
          {
            String bad = check(a, Map.of("x", "string"), List.of("x"));
            return bad != null
                ? toolError(id, bad)
                : toolResult(id, "annotated_nothing: " + a.get("x").asText(), null, false);
          }
        case "fail":
          return toolResult(
              id,
              "the operation failed: " + a.path("reason").asText("scripted failure"),
              null,
              true);
        case "hang":
          return new Reply.NoAnswer();
        case "huge":
          return toolResult(id, huge(), null, false);
        case "malformed":
          return new Reply.Raw(MALFORMED);
        case "bad_jsonrpc":
          return new Reply.Raw(BAD_JSONRPC);
        case "die":
          return new Reply.Exit(DIE_STATUS);
        case "liar":
          return error(id, -32602, "invalid params");
        case "wrong_output":
          return toolResult(id, "many", NODES.objectNode().put("sum", "many"), false);
        case "change_tools":
          {
            session.toolsChanged = true;
            Reply.Message answer = (Reply.Message) toolResult(id, "tools changed", null, false);
            ObjectNode changed =
                NODES
                    .objectNode()
                    .put("jsonrpc", "2.0")
                    .put("method", "notifications/tools/list_changed");
            return new Reply.Message(answer.message(), List.of(changed));
          }
        case "added_later":
          if (session.toolsChanged) {
            String bad = check(a, Map.of("x", "string"), List.of("x"));
            return bad != null
                ? toolError(id, bad)
                : toolResult(id, "added_later: " + a.get("x").asText(), null, false);
          }
          break;
        case "broken":
          if (mode == Mode.BAD_SCHEMA) {
            return toolResult(id, "broken called", null, false);
          }
          break;
        default:
          break;
      }
      return error(id, -32602, "Unknown tool: " + name);
    }

    private synchronized String huge() {
      if (huge == null) {
        huge = "x".repeat(HUGE_CHARS);
      }
      return huge;
    }

    /**
     * Appends the call to the log and closes the file before anything is answered: a reader that
     * sees the answer sees the line.
     */
    private synchronized void logCall(
        JsonNode name, JsonNode arguments, JsonNode id, JsonNode meta) {
      ObjectNode line = NODES.objectNode();
      if (meta != null) {
        line.set("_meta", meta);
      }
      line.set("name", name == null ? NullNode.getInstance() : name);
      line.set("arguments", arguments == null ? NullNode.getInstance() : arguments);
      line.set("id", id);
      try {
        Files.writeString(
            log,
            line + "\n",
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND,
            StandardOpenOption.WRITE);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot append to the call log " + log, e);
      }
    }

    /** Why {@code args} does not fit (types by name, no other properties), or null. */
    private static String check(JsonNode args, Map<String, String> types, List<String> required) {
      for (String r : required) {
        if (!args.has(r)) {
          return "missing required argument " + r;
        }
      }
      for (Map.Entry<String, JsonNode> e : args.properties()) {
        String type = types.get(e.getKey());
        if (type == null) {
          return "unexpected argument " + e.getKey();
        }
        boolean ok = type.equals("string") ? e.getValue().isTextual() : e.getValue().isNumber();
        if (!ok) {
          return "argument " + e.getKey() + " must be a " + type;
        }
      }
      return null;
    }

    private static Reply toolError(JsonNode id, String why) {
      return toolResult(id, "invalid arguments: " + why, null, true);
    }

    private static Reply toolResult(
        JsonNode id, String text, ObjectNode structured, boolean error) {
      ObjectNode r = NODES.objectNode();
      r.putArray("content").addObject().put("type", "text").put("text", text);
      if (structured != null) {
        r.set("structuredContent", structured);
      }
      if (error) {
        r.put("isError", true);
      }
      return result(id, r);
    }

    private static Reply result(JsonNode id, JsonNode result) {
      ObjectNode m = NODES.objectNode().put("jsonrpc", "2.0");
      m.set("id", id);
      m.set("result", result);
      return new Reply.Message(m, List.of());
    }

    static Reply error(JsonNode id, int code, String message) {
      ObjectNode m = NODES.objectNode().put("jsonrpc", "2.0");
      m.set("id", id);
      m.putObject("error").put("code", code).put("message", message);
      return new Reply.Message(m, List.of());
    }
  }

  /** Newline-delimited JSON-RPC on standard input and output. */
  static final class Stdio {
    private final Server server;
    private final OutputStream out;

    Stdio(Server server, PrintStream protocolOut) {
      this.server = server;
      this.out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
      protocolOut.flush();
    }

    void run(InputStream stdin) throws IOException {
      Session session = new Session();
      BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode m;
        try {
          m = JSON.readTree(line);
        } catch (IOException e) {
          send((Reply.Message) Server.error(NullNode.getInstance(), -32700, "Parse error"));
          continue;
        }
        Reply r = server.handle(m, session);
        if (r instanceof Reply.Message msg) {
          send(msg);
        } else if (r instanceof Reply.Raw raw) {
          write(raw.text());
        } else if (r instanceof Reply.Exit exit) {
          out.flush();
          System.err.println("scripted-mcp-server: exiting with " + exit.status() + " as asked");
          Runtime.getRuntime().halt(exit.status());
        }
      }
      System.err.println("scripted-mcp-server: standard input ended, exiting");
    }

    private void send(Reply.Message msg) throws IOException {
      write(JSON.writeValueAsString(msg.message()));
      for (JsonNode n : msg.then()) {
        write(JSON.writeValueAsString(n));
      }
    }

    private void write(String line) throws IOException {
      out.write(line.getBytes(StandardCharsets.UTF_8));
      out.write('\n');
      out.flush();
    }
  }

  /** Streamable HTTP on {@code /mcp} with the JDK's HTTP server. */
  static final class HttpTransport {
    private final Server server;
    private final String token;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final CountDownLatch never = new CountDownLatch(1);

    private HttpTransport(Server server, String token) {
      this.server = server;
      this.token = token;
    }

    static void start(Server server, int port, Path portFile, String token) throws IOException {
      HttpTransport t = new HttpTransport(server, token);
      HttpServer http =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
      ExecutorService pool =
          Executors.newCachedThreadPool(
              r -> {
                Thread th = new Thread(r, "mcp-http");
                th.setDaemon(true);
                return th;
              });
      http.setExecutor(pool);
      http.createContext("/mcp", t::exchange);
      http.start();
      int actual = http.getAddress().getPort();
      if (portFile != null) {
        Path abs = portFile.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        Files.writeString(tmp, actual + "\n");
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      System.err.println("listening on http://127.0.0.1:" + actual + "/mcp");
    }

    private void exchange(HttpExchange ex) {
      boolean close = true;
      try {
        close = serve(ex);
      } catch (IOException | RuntimeException e) {
        System.err.println("scripted-mcp-server: " + e);
        e.printStackTrace(System.err);
        try {
          respond(ex, 500, "text/plain", e.toString());
        } catch (IOException | RuntimeException again) {
          // the client is gone or the headers are sent: nothing more to say
        }
      } finally {
        if (close) {
          ex.close();
        }
      }
    }

    /** Serves one exchange; false when it must stay open (hang). */
    private boolean serve(HttpExchange ex) throws IOException {
      if (token != null
          && !("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"scripted-mcp\"");
        respondJson(ex, 401, Server.error(NullNode.getInstance(), -32001, "Unauthorized"));
        return true;
      }
      String method = ex.getRequestMethod();
      String sessionId = ex.getRequestHeaders().getFirst(SESSION_HEADER);
      if (method.equals("GET")) {
        ex.getResponseHeaders().add("Allow", "POST, DELETE");
        respond(ex, 405, "text/plain", "no server-initiated stream: GET is not supported");
        return true;
      }
      if (method.equals("DELETE")) {
        if (sessionId == null) {
          respond(ex, 400, "text/plain", SESSION_HEADER + " header required");
        } else if (sessions.remove(sessionId) == null) {
          respond(ex, 404, "text/plain", "unknown session " + sessionId);
        } else {
          respond(ex, 200, "text/plain", "");
        }
        return true;
      }
      if (!method.equals("POST")) {
        ex.getResponseHeaders().add("Allow", "POST, DELETE");
        respond(ex, 405, "text/plain", method + " is not supported");
        return true;
      }
      byte[] body = ex.getRequestBody().readAllBytes();
      JsonNode m;
      try {
        m = JSON.readTree(body);
      } catch (IOException e) {
        respondJson(ex, 400, Server.error(NullNode.getInstance(), -32700, "Parse error"));
        return true;
      }
      if (m == null || !m.isObject()) {
        respondJson(
            ex,
            400,
            Server.error(NullNode.getInstance(), -32600, "Invalid Request: one JSON-RPC object"));
        return true;
      }
      String version = ex.getRequestHeaders().getFirst("MCP-Protocol-Version");
      if (version != null && !PROTOCOL_VERSIONS.contains(version)) {
        respondJson(
            ex,
            400,
            Server.error(
                m.path("id").isMissingNode() ? NullNode.getInstance() : m.get("id"),
                -32600,
                "Unsupported MCP-Protocol-Version " + version));
        return true;
      }
      boolean initialize = "initialize".equals(m.path("method").asText()) && m.has("id");
      Session session;
      if (initialize) {
        session = new Session();
        sessionId = UUID.randomUUID().toString();
      } else if (sessionId == null) {
        respondJson(
            ex,
            400,
            Server.error(
                m.path("id").isMissingNode() ? NullNode.getInstance() : m.get("id"),
                -32000,
                "Bad Request: " + SESSION_HEADER + " header required"));
        return true;
      } else {
        session = sessions.get(sessionId);
        if (session == null) {
          respondJson(
              ex,
              404,
              Server.error(
                  m.path("id").isMissingNode() ? NullNode.getInstance() : m.get("id"),
                  -32001,
                  "Session not found"));
          return true;
        }
      }
      Reply r = server.handle(m, session);
      if (r instanceof Reply.Message msg) {
        if (initialize && msg.message().has("result")) {
          sessions.put(sessionId, session);
          ex.getResponseHeaders().add(SESSION_HEADER, sessionId);
        }
        if (msg.then().isEmpty()) {
          respondJson(ex, 200, msg);
        } else {
          StringBuilder sse = new StringBuilder();
          for (JsonNode n : msg.then()) {
            sse.append("event: message\ndata: ").append(JSON.writeValueAsString(n)).append("\n\n");
          }
          sse.append("event: message\ndata: ")
              .append(JSON.writeValueAsString(msg.message()))
              .append("\n\n");
          respond(ex, 200, "text/event-stream", sse.toString());
        }
        return true;
      } else if (r instanceof Reply.Raw raw) {
        respond(ex, 200, "application/json", raw.text());
        return true;
      } else if (r instanceof Reply.Accepted) {
        ex.sendResponseHeaders(202, -1);
        return true;
      } else if (r instanceof Reply.Exit exit) {
        System.err.println("scripted-mcp-server: exiting with " + exit.status() + " as asked");
        Runtime.getRuntime().halt(exit.status());
        return true;
      } else {
        // NoAnswer: hold the request open for ever (until the client gives up or we exit)
        try {
          never.await(365, TimeUnit.DAYS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return false;
      }
    }

    private static void respondJson(HttpExchange ex, int status, Reply r) throws IOException {
      respond(
          ex, status, "application/json", JSON.writeValueAsString(((Reply.Message) r).message()));
    }

    private static void respond(HttpExchange ex, int status, String type, String body)
        throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", type);
      ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) {
        try (OutputStream os = ex.getResponseBody()) {
          os.write(bytes);
        }
      }
    }
  }
}
