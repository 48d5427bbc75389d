package dev.llmstreams.mcpserver;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.topics.TopicRole;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tools and the resource template that llm-streams serves as an MCP server, whatever the
 * transport (Streamable HTTP at {@code /mcp}, or stdio). Every tool goes through the topics, as any
 * producer would: {@code submit_goal} produces a {@code Goal} to {@code goals}, {@code
 * send_document} a {@code Document} to {@code documents}, {@code classify_text} a {@code
 * ClassificationRequest} to {@code classification-requests} (each checked against the topic's
 * schema first); {@code get_goal} and {@code get_synthesis} ask the app's HTTP server, which
 * answers from the state of the instance that owns the key.
 */
public final class LlmStreamsTools {
  private static final Logger LOG = LoggerFactory.getLogger(LlmStreamsTools.class);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

  public static final String SUBMIT_GOAL = "submit_goal";
  public static final String GET_GOAL = "get_goal";
  public static final String SEND_DOCUMENT = "send_document";
  public static final String GET_SYNTHESIS = "get_synthesis";
  public static final String CLASSIFY_TEXT = "classify_text";
  public static final String LIST_GOALS = "list_goals";
  public static final String LIST_SYNTHESES = "list_syntheses";
  public static final String SYNTHESIS_SCHEME = "synthesis://";

  /** Longest wait for a goal's result or a classification. */
  static final int MAX_WAIT_SECONDS = 120;

  static final int DEFAULT_CLASSIFY_TIMEOUT_SECONDS = 30;

  private final LogClient log;
  private final AppQueries app;
  private final List<Definition> definitions;

  /** A tool the client may call: its definition for {@code tools/list}, and what it does. */
  public record Definition(McpSchema.Tool tool, Handler handler) {}

  /** A tool's work: a JSON object for the caller, or a {@link ToolError} saying what went wrong. */
  @FunctionalInterface
  interface Handler {
    ObjectNode call(Map<String, Object> arguments) throws ToolError, InterruptedException;
  }

  /**
   * What a caller did wrong, or what the log or app answered instead: an {@code isError} result.
   */
  static final class ToolError extends Exception {
    private static final long serialVersionUID = 1L;

    ToolError(String message) {
      super(message);
    }
  }

  public LlmStreamsTools(LogClient log, AppQueries app) {
    this.log = log;
    this.app = app;
    this.definitions =
        List.of(
            new Definition(
                tool(
                    SUBMIT_GOAL,
                    "Submit a goal",
                    "Submit a goal to the llm-streams controller, which plans and runs it as a guarded"
                        + " tool-calling loop (an LLM picks tool calls, tool workers run them) and ends with one"
                        + " result. The goal is produced to the goals topic. With wait_seconds > 0, waits that"
                        + " long at most for the result on goal-results and returns it (status succeeded,"
                        + " failed, timed_out, budget_exhausted or rejected, with the answer or the reason);"
                        + " otherwise, or when it takes longer, returns the goalId to ask get_goal with.",
                    """
                    {"type":"object","additionalProperties":false,"required":["goal","tools"],"properties":{
                    "goal":{"type":"string","minLength":1,"maxLength":100000,"description":"What should be done, in natural language."},
                    "tools":{"type":"array","uniqueItems":true,"items":{"type":"string","minLength":1},"description":"Names of the tools the goal may use, e.g. [\\"calculator\\"], [\\"synthesis\\"], [\\"classify\\"], [\\"http_get\\"], or [\\"delegate\\", \\"http_get\\"] to let it hand subtasks to child goals; an empty array allows none (the goal is answered without tools)."},
                    "goalId":{"type":"string","minLength":1,"maxLength":256,"pattern":"\\\\S","description":"Id of the goal (default: a random one). A goalId the controller still knows is ignored as a duplicate."},
                    "wait_seconds":{"type":"integer","minimum":0,"maximum":120,"default":0,"description":"How long to wait for the goal's result, 0 to 120 seconds (default 0: do not wait)."}}}
                    """,
                    false),
                this::submitGoal),
            new Definition(
                tool(
                    GET_GOAL,
                    "Get a goal",
                    "The state of a goal by its id: while it runs, its phase, step, tokens, cost and open tool"
                        + " calls; once finished, its status and result (kept for controller.retention.ms). An"
                        + " unknown goalId is a tool error.",
                    """
                    {"type":"object","additionalProperties":false,"required":["goalId"],"properties":{
                    "goalId":{"type":"string","minLength":1,"maxLength":256,"description":"The id submit_goal returned."}}}
                    """,
                    true),
                this::getGoal),
            new Definition(
                tool(
                    LIST_GOALS,
                    "List goals",
                    "The goals the controller holds, running and finished (kept for"
                        + " controller.retention.ms), by goalId in pages: each with its status and tenant,"
                        + " and while it runs its phase and step. Pass the answer's next as after for the"
                        + " next page; no next: the last page. status and tenant keep those only.",
                    """
                    {"type":"object","additionalProperties":false,"properties":{
                    "status":{"type":"string","enum":["running","succeeded","failed","timed_out","budget_exhausted","rejected","cancelled"],"description":"Only goals with this status."},
                    "tenant":{"type":"string","pattern":"^[A-Za-z0-9._-]{1,64}$","description":"Only goals of this tenant."},
                    "limit":{"type":"integer","minimum":1,"maximum":1000,"default":100,"description":"Most goals in the page (default 100)."},
                    "after":{"type":"string","minLength":1,"maxLength":256,"description":"The next of the previous page."}}}
                    """,
                    true),
                args -> list(args, "/goals", "controller", "status", "tenant")),
            new Definition(
                tool(
                    SEND_DOCUMENT,
                    "Send a document",
                    "Send a document to be summarized: it is produced to the documents topic under its key, and"
                        + " the summarizer merges the summaries of all documents of one key (a customer, a"
                        + " meeting, a subject) into one synthesis, which get_synthesis reads once it is ready.",
                    """
                    {"type":"object","additionalProperties":false,"required":["key","text"],"properties":{
                    "key":{"type":"string","minLength":1,"maxLength":256,"pattern":"\\\\S","description":"Synthesis key: documents with the same key are summarized together."},
                    "text":{"type":"string","minLength":1,"maxLength":1000000,"description":"The text of the document."},
                    "docId":{"type":"string","minLength":1,"maxLength":256,"pattern":"\\\\S","description":"Id of the document (default: a random one); a document sent again with the same docId is not summarized twice."},
                    "timestamp":{"type":"string","format":"date-time","description":"Event time of the document, ISO-8601 (default: now); windows of summarizer.window.ms are computed from it."}}}
                    """,
                    false),
                this::sendDocument),
            new Definition(
                tool(
                    GET_SYNTHESIS,
                    "Get a synthesis",
                    "The latest synthesis (summary of all documents) of a key, or of one of its time windows."
                        + " A key with no synthesis yet is a tool error: documents take a few seconds to be"
                        + " summarized.",
                    """
                    {"type":"object","additionalProperties":false,"required":["key"],"properties":{
                    "key":{"type":"string","minLength":1,"maxLength":256,"description":"Synthesis key the documents were sent with."},
                    "window":{"type":"string","minLength":1,"maxLength":64,"description":"Start of a window, ISO-8601 (2026-11-02T00:00:00Z) or epoch milliseconds; absent: the all-time synthesis."}}}
                    """,
                    true),
                this::getSynthesis),
            new Definition(
                tool(
                    LIST_SYNTHESES,
                    "List syntheses",
                    "The keys that have a synthesis, in pages: each with how many documents and chunks it"
                        + " covers, when it was updated and the windows get_synthesis can read. Pass the"
                        + " answer's next as after for the next page; no next: the last page.",
                    """
                    {"type":"object","additionalProperties":false,"properties":{
                    "limit":{"type":"integer","minimum":1,"maximum":1000,"default":100,"description":"Most keys in the page (default 100)."},
                    "after":{"type":"string","minLength":1,"maxLength":256,"description":"The next of the previous page."}}}
                    """,
                    true),
                args -> list(args, "/syntheses", "summarizer")),
            new Definition(
                tool(
                    CLASSIFY_TEXT,
                    "Classify a text",
                    "Label a text with the specialist model (support intents by default): the request is"
                        + " produced to classification-requests, and the answer is the label read back from"
                        + " classifications, with its confidence and source (specialist, or llm when the model"
                        + " was unsure and escalated). No answer within timeout_seconds is a tool error.",
                    """
                    {"type":"object","additionalProperties":false,"required":["text"],"properties":{
                    "text":{"type":"string","minLength":1,"maxLength":1000000,"description":"The text to label."},
                    "eventId":{"type":"string","minLength":1,"maxLength":256,"pattern":"\\\\S","description":"Id of the event (default: a random one)."},
                    "timeout_seconds":{"type":"integer","minimum":1,"maximum":120,"default":30,"description":"How long to wait for the label, 1 to 120 seconds (default 30)."}}}
                    """,
                    false),
                this::classifyText));
  }

  private static McpSchema.Tool tool(
      String name, String title, String description, String inputSchema, boolean readOnly) {
    Map<String, Object> schema;
    try {
      schema = Json.reader().forType(MAP).readValue(inputSchema);
    } catch (IOException e) {
      throw new IllegalStateException("the input schema of " + name + " is not JSON", e);
    }
    return McpSchema.Tool.builder(name, schema)
        .title(title)
        .description(description)
        .annotations(new McpSchema.ToolAnnotations(title, readOnly, false, readOnly, false, null))
        .build();
  }

  public List<Definition> definitions() {
    return definitions;
  }

  /** Runs a tool; what went wrong is a result with {@code isError: true}, never an exception. */
  public CallToolResult call(Definition definition, Map<String, Object> arguments) {
    return call(definition, arguments, null);
  }

  /**
   * As {@link #call(Definition, Map)}; a W3C {@code traceparent} (and {@code tracestate}) in the
   * request's {@code _meta} (MCP SEP-414) goes on the records the tool produces, so the goal,
   * document or classification continues the caller's trace.
   */
  public CallToolResult call(
      Definition definition, Map<String, Object> arguments, Map<String, Object> meta) {
    TRACE.set(traceHeaders(meta));
    try {
      return run(definition, arguments);
    } finally {
      TRACE.remove();
    }
  }

  /** The trace context headers of the call being run, valid ones only. */
  private static final ThreadLocal<org.apache.kafka.common.header.Headers> TRACE =
      new ThreadLocal<>();

  static org.apache.kafka.common.header.Headers traceHeaders(Map<String, Object> meta) {
    org.apache.kafka.common.header.internals.RecordHeaders headers =
        new org.apache.kafka.common.header.internals.RecordHeaders();
    if (meta == null || !(meta.get("traceparent") instanceof String parent)) {
      return headers;
    }
    headers.add("traceparent", parent.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    if (meta.get("tracestate") instanceof String state) {
      headers.add("tracestate", state.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    var context = dev.llmstreams.observability.tracing.TraceHeaders.read(headers);
    return context.isValid()
        ? headers
        : new org.apache.kafka.common.header.internals.RecordHeaders();
  }

  private CallToolResult run(Definition definition, Map<String, Object> arguments) {
    String name = definition.tool().name();
    try {
      ObjectNode out = definition.handler().call(arguments == null ? Map.of() : arguments);
      return CallToolResult.builder()
          .addTextContent(Json.writer().writeValueAsString(out))
          .structuredContent(Json.reader().forType(MAP).readValue(out))
          .isError(false)
          .build();
    } catch (ToolError e) {
      return error(e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return error(name + " was interrupted (the server is stopping)");
    } catch (IllegalStateException e) {
      LOG.warn("MCP tool {} failed: {}", name, e.getMessage());
      return error(e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.warn("MCP tool {} failed", name, e);
      return error(name + " failed: " + e);
    }
  }

  private static CallToolResult error(String message) {
    return CallToolResult.builder().addTextContent(message).isError(true).build();
  }

  // ------------------------------------------------------------------------------------ the tools

  private ObjectNode submitGoal(Map<String, Object> args) throws ToolError, InterruptedException {
    String goal = text(args, "goal");
    List<String> tools = strings(args, "tools");
    String goalId = optionalText(args, "goalId", UUID.randomUUID().toString());
    int waitSeconds = integer(args, "wait_seconds", 0, 0, MAX_WAIT_SECONDS);
    ObjectNode value = NODES.objectNode().put("goalId", goalId).put("goal", goal);
    ArrayNode toolNames = value.putArray("tools");
    tools.forEach(toolNames::add);
    value.put("submittedAt", Instant.now().toString());
    try (ResultWaiter.Waiting result =
        waitSeconds > 0 ? log.expect(TopicRole.GOAL_RESULTS, goalId) : null) {
      RecordMetadata sent = send(TopicRole.GOALS, goalId, value);
      ObjectNode out = NODES.objectNode().put("goalId", goalId);
      if (result == null) {
        return placed(out.put("status", "submitted"), sent);
      }
      byte[] bytes = result.await(Duration.ofSeconds(waitSeconds));
      if (bytes == null) {
        return placed(
            out.put("status", "running")
                .put(
                    "note",
                    "no result on "
                        + log.topic(TopicRole.GOAL_RESULTS)
                        + " within "
                        + waitSeconds
                        + " s; ask get_goal with this goalId"),
            sent);
      }
      JsonNode r = readJson(bytes);
      out.put("status", r.path("status").asText());
      out.set("result", r);
      return out;
    }
  }

  private ObjectNode getGoal(Map<String, Object> args) throws ToolError, InterruptedException {
    String goalId = text(args, "goalId");
    AppQueries.Answer a = query("/goals/", goalId, null, "/goals", "controller");
    if (a.status() == 404) {
      throw new ToolError(
          "unknown goal: "
              + goalId
              + " (never submitted, not yet read by the controller, or finished and deleted after"
              + " controller.retention.ms)");
    }
    return answer(a);
  }

  /**
   * A page of {@code GET <route>}: {@code limit}, {@code after} and the {@code filters} named, as
   * the caller gave them.
   */
  private ObjectNode list(Map<String, Object> args, String route, String pattern, String... filters)
      throws ToolError, InterruptedException {
    StringBuilder q =
        new StringBuilder("limit=")
            .append(
                integer(
                    args,
                    "limit",
                    dev.llmstreams.observability.StoreListing.DEFAULT_LIMIT,
                    1,
                    dev.llmstreams.observability.StoreListing.MAX_LIMIT));
    List<String> names = new ArrayList<>(List.of(filters));
    names.add("after");
    for (String name : names) {
      String value = optionalText(args, name, null);
      if (value != null) {
        q.append('&').append(name).append('=').append(AppQueries.encode(value));
      }
    }
    return answer(query(route, "", q.toString(), route, pattern));
  }

  private ObjectNode sendDocument(Map<String, Object> args) throws ToolError, InterruptedException {
    String key = text(args, "key");
    String text = text(args, "text");
    String docId = optionalText(args, "docId", UUID.randomUUID().toString());
    String timestamp = optionalText(args, "timestamp", Instant.now().toString());
    try {
      timestamp = java.time.OffsetDateTime.parse(timestamp).toInstant().toString();
    } catch (DateTimeParseException e) {
      throw new ToolError(
          "timestamp must be an ISO-8601 date-time such as 2026-11-02T09:00:00Z, not '"
              + timestamp
              + "'");
    }
    ObjectNode value =
        NODES.objectNode().put("docId", docId).put("text", text).put("timestamp", timestamp);
    RecordMetadata sent = send(TopicRole.DOCUMENTS, key, value);
    return placed(
        NODES
            .objectNode()
            .put("key", key)
            .put("docId", docId)
            .put("timestamp", timestamp)
            .put("status", "sent"),
        sent);
  }

  private ObjectNode getSynthesis(Map<String, Object> args) throws ToolError, InterruptedException {
    String key = text(args, "key");
    String window = optionalText(args, "window", null);
    AppQueries.Answer a =
        query(
            "/syntheses/",
            key,
            window == null ? null : "window=" + AppQueries.encode(window),
            "/syntheses",
            "summarizer");
    if (a.status() == 404) {
      throw new ToolError(
          errorText(a, "no synthesis for key " + key + " yet")
              + " (documents take a few seconds to be summarized)");
    }
    return answer(a);
  }

  private ObjectNode classifyText(Map<String, Object> args) throws ToolError, InterruptedException {
    String text = text(args, "text");
    String eventId = optionalText(args, "eventId", UUID.randomUUID().toString());
    int timeout =
        integer(args, "timeout_seconds", DEFAULT_CLASSIFY_TIMEOUT_SECONDS, 1, MAX_WAIT_SECONDS);
    ObjectNode value = NODES.objectNode().put("eventId", eventId).put("text", text);
    try (ResultWaiter.Waiting result = log.expect(TopicRole.CLASSIFICATIONS, eventId)) {
      send(TopicRole.CLASSIFICATION_REQUESTS, eventId, value);
      byte[] bytes = result.await(Duration.ofSeconds(timeout));
      if (bytes == null) {
        throw new ToolError(
            "timed out: no classification of event "
                + eventId
                + " on "
                + log.topic(TopicRole.CLASSIFICATIONS)
                + " within "
                + timeout
                + " s (is the specialist pattern running?); it may still come later");
      }
      JsonNode c = readJson(bytes);
      ObjectNode out = NODES.objectNode().put("eventId", eventId);
      out.set("label", c.path("label"));
      out.set("confidence", c.path("confidence"));
      out.set("source", c.path("source"));
      out.set("modelVersion", c.path("modelVersion"));
      if (c.hasNonNull("escalationReason")) {
        out.set("escalationReason", c.get("escalationReason"));
      }
      if (c.has("top")) {
        out.set("top", c.get("top"));
      }
      return out;
    }
  }

  // --------------------------------------------------------------------------------- the resource

  /** {@code synthesis://{key}}: the latest all-time synthesis of a key, as JSON. */
  public McpSchema.ResourceTemplate synthesisTemplate() {
    return McpSchema.ResourceTemplate.builder(SYNTHESIS_SCHEME + "{key}", "synthesis")
        .title("Synthesis of a key")
        .description(
            "The latest synthesis (summary of every document sent with this key) as JSON; the key is"
                + " percent-encoded. resources/list names none; the list_syntheses tool lists the keys,"
                + " in pages.")
        .mimeType("application/json")
        .build();
  }

  /** Reads {@code synthesis://{key}}; a key without a synthesis is "resource not found". */
  public McpSchema.ReadResourceResult readSynthesis(String uri) {
    if (uri == null || !uri.startsWith(SYNTHESIS_SCHEME)) {
      throw notFound(uri, "not a synthesis:// URI");
    }
    String key =
        URLDecoder.decode(
            uri.substring(SYNTHESIS_SCHEME.length()).replace("+", "%2B"), StandardCharsets.UTF_8);
    AppQueries.Answer a;
    try {
      a = query("/syntheses/", key, null, "/syntheses", "summarizer");
    } catch (ToolError e) {
      throw McpError.builder(McpSchema.ErrorCodes.INTERNAL_ERROR).message(e.getMessage()).build();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw McpError.builder(McpSchema.ErrorCodes.INTERNAL_ERROR).message("interrupted").build();
    }
    if (a.status() == 404) {
      throw notFound(uri, errorText(a, "no synthesis for key " + key + " yet"));
    }
    if (a.status() != 200) {
      throw McpError.builder(McpSchema.ErrorCodes.INTERNAL_ERROR)
          .message("the app answered " + a.status() + ": " + shorten(a.body()))
          .build();
    }
    return McpSchema.ReadResourceResult.builder(
            List.of(
                McpSchema.TextResourceContents.builder(uri, a.body())
                    .mimeType("application/json")
                    .build()))
        .build();
  }

  private static McpError notFound(String uri, String why) {
    return McpError.builder(McpSchema.ErrorCodes.RESOURCE_NOT_FOUND)
        .message("Resource not found: " + why)
        .data(Map.of("uri", String.valueOf(uri)))
        .build();
  }

  // ------------------------------------------------------------------------------------- helpers

  private RecordMetadata send(TopicRole role, String key, ObjectNode value)
      throws ToolError, InterruptedException {
    try {
      return log.send(role, key, value, TRACE.get());
    } catch (LogClient.RefusedValue e) {
      throw new ToolError("refused: " + e.getMessage());
    }
  }

  private ObjectNode placed(ObjectNode out, RecordMetadata sent) {
    return out.put("topic", sent.topic())
        .put("partition", sent.partition())
        .put("offset", sent.offset());
  }

  /**
   * {@code GET <route>/<segment>}: a 404 with a JSON body comes back for the caller to word; any
   * other failure is a tool error here.
   */
  private AppQueries.Answer query(
      String prefix, String segment, String query, String route, String pattern)
      throws ToolError, InterruptedException {
    AppQueries.Answer a;
    try {
      a = app.get(prefix, segment, query);
    } catch (AppQueries.Unreachable e) {
      throw new ToolError(e.getMessage());
    }
    if (a.status() == 200 || (a.status() == 404 && a.json())) {
      return a;
    }
    if (a.status() == 404) {
      throw new ToolError(
          "no "
              + route
              + " route at "
              + app.base()
              + ": the "
              + pattern
              + " pattern does not run there");
    }
    if (a.status() == 400) {
      throw new ToolError(errorText(a, "bad request"));
    }
    throw new ToolError(
        "the app at " + app.base() + " answered " + a.status() + ": " + errorText(a, a.body()));
  }

  private static ObjectNode answer(AppQueries.Answer a) throws ToolError {
    JsonNode body = readJson(a.body().getBytes(StandardCharsets.UTF_8));
    if (!body.isObject()) {
      throw new ToolError("the app answered a JSON " + body.getNodeType() + ", not an object");
    }
    return (ObjectNode) body;
  }

  private static String errorText(AppQueries.Answer a, String otherwise) {
    if (a.json()) {
      try {
        JsonNode body = Json.reader().readTree(a.body());
        if (body.hasNonNull("error")) {
          return body.get("error").asText();
        }
      } catch (IOException e) {
        // not JSON after all: use the fallback
      }
    }
    return shorten(otherwise);
  }

  private static String shorten(String s) {
    return s == null ? "" : s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }

  private static JsonNode readJson(byte[] bytes) throws ToolError {
    try {
      return Json.reader().readTree(bytes);
    } catch (IOException e) {
      throw new ToolError("malformed JSON: " + e.getMessage());
    }
  }

  private static String text(Map<String, Object> args, String name) throws ToolError {
    Object v = args.get(name);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new ToolError(name + " must be a non-empty string");
    }
    return s;
  }

  private static String optionalText(Map<String, Object> args, String name, String otherwise)
      throws ToolError {
    return args.get(name) == null ? otherwise : text(args, name);
  }

  private static List<String> strings(Map<String, Object> args, String name) throws ToolError {
    if (!(args.get(name) instanceof List<?> list)) {
      throw new ToolError(name + " must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (Object o : list) {
      if (!(o instanceof String s) || s.isBlank()) {
        throw new ToolError(name + " must be an array of non-empty strings");
      }
      out.add(s);
    }
    return out;
  }

  private static int integer(Map<String, Object> args, String name, int otherwise, int min, int max)
      throws ToolError {
    Object v = args.get(name);
    if (v == null) {
      return otherwise;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new ToolError(name + " must be an integer");
    }
    long value = n.longValue();
    if (value < min || value > max) {
      throw new ToolError(name + " must be between " + min + " and " + max + ", not " + value);
    }
    return (int) value;
  }

  /** The tools by name, in the order of {@code tools/list}. */
  Map<String, Definition> byName() {
    Map<String, Definition> out = new LinkedHashMap<>();
    definitions.forEach(d -> out.put(d.tool().name(), d));
    return out;
  }
}
