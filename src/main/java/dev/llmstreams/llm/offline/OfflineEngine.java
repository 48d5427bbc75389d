package dev.llmstreams.llm.offline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.ChatMessage.Role;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.ToolSpec;
import dev.llmstreams.events.Usage;
import dev.llmstreams.llm.Completion;
import dev.llmstreams.llm.LlmProvider;
import dev.llmstreams.llm.ProviderException;
import dev.llmstreams.runtime.text.SentenceEncoder;
import dev.llmstreams.runtime.text.TokenCounter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The embedded default provider. <b>It is not an LLM</b>: it generates no text of its own and
 * follows no instruction. It answers with name {@code offline} and model {@value #MODEL} on every
 * completion, so replies, metrics and provenance show that no language model was involved. It needs
 * no network and no download: it runs a small sentence encoder ({@link SentenceEncoder},
 * all-MiniLM-L6-v2 quantized) and does useful work deterministically (same request, same machine,
 * same answer):
 *
 * <ul>
 *   <li><b>Summaries</b> (purpose {@code summarizer.*}, or any request without tools and without an
 *       enum in its response format): extractive. The source is the text inside every {@code
 *       <document>…</document>} block of the user messages (also {@code <summary>}, {@code
 *       <synthesis>}, {@code <chunk>}, {@code <text>}, {@code <transcript>}, so a merge request
 *       with several summaries uses them all), else the last user message. Sentences are chosen by
 *       maximal marginal relevance (centroid similarity, redundancy penalty, λ = 0.7) until no
 *       further one fits in {@code maxTokens} cl100k tokens (default {@value #DEFAULT_MAX_TOKENS}),
 *       and returned in source order, one per line. The output only ever contains sentences of the
 *       source.
 *   <li><b>Tool calls</b> (a request with {@code tools}): when the conversation ends with tool
 *       results (or every tool call of the last assistant message has its result), the answer is
 *       final content quoting them ("Result of calculator: 42"), so a controller loop ends.
 *       Otherwise the tool whose "name: description" is most similar to the last user message (plus
 *       a bonus for each argument really found in the text; ties go to catalogue order) is called,
 *       its arguments filled from its JSON Schema by property type and name: numbers from the text
 *       for {@code number}/{@code integer}; for strings, the arithmetic expression ({@code
 *       expression}/{@code expr}; in symbols, or in words such as "17 times 23", "add 2 and 40",
 *       "subtract 3 from 10", rewritten with the calculator's operators), the first URL ({@code
 *       url}), a quoted or identifier-like span ({@code key}/{@code id}), else the user text (cut
 *       to {@code maxLength}); the nearest value for an {@code enum}; {@code false} for a {@code
 *       boolean} unless the text says yes or true. One call, id {@code offline-<hash of the
 *       request>}. When no tool scores above {@value #TOOL_FLOOR}, or when every call of the last
 *       step failed, the engine refuses ({@code refused}, not retryable): the goal ends failed with
 *       the reason, never "succeeded" with nothing done. So does a controller request offering no
 *       tools.
 *   <li><b>Labels</b> (a {@code responseFormat} JSON Schema with a property that has an {@code
 *       enum}, e.g. {@code
 *       {"type":"object","properties":{"label":{"enum":[...]},"confidence":{"type":"number"}}}}):
 *       the enum value nearest to the text, output as JSON content following the schema, with
 *       {@code confidence} from the softmaxed similarities. The text classified is the fenced block
 *       of the last user message when there is one, else that message without its label lines.
 *       <b>Label lines</b>, in any system or user message, one per line: {@code <label>:
 *       <description>} and {@code example (<label>): <text>}, where {@code <label>} is one of the
 *       enum values (case-insensitive; a leading "- " is allowed). A label scores the best
 *       similarity among its name, its descriptions and its examples.
 * </ul>
 *
 * <p>{@link Usage} counts real cl100k tokens of the input messages and of the output. Work runs on
 * the engine's own daemon threads ({@code min(2, cores)}, named {@code offline-engine-N}), never on
 * the caller's. {@link #close()} stops them and releases the encoder the engine created.
 */
public final class OfflineEngine implements LlmProvider {
  /** The provider name in config and metrics. */
  public static final String NAME = dev.llmstreams.events.LlmReply.OFFLINE_ENGINE;

  /** The model reported on every completion: not an LLM. */
  public static final String MODEL = "offline-engine";

  public static final int DEFAULT_MAX_TOKENS = 256;

  /**
   * Minimum tool score (cosine similarity plus argument evidence) for a tool call rather than
   * content.
   */
  static final double TOOL_FLOOR = 0.15;

  /**
   * Added to a tool's similarity in proportion to the share of its arguments really found in the
   * text.
   */
  static final double EVIDENCE_BONUS = 0.25;

  private final SentenceEncoder encoder;
  private final boolean ownsEncoder;
  private final TokenCounter tokens;
  private final ExecutorService executor;
  private final ExtractiveSummarizer summarizer;
  private final LabelChooser labels;

  /** An engine with its own encoder (loaded on first use) and the cl100k counter. */
  public OfflineEngine() {
    this(new SentenceEncoder(), true, TokenCounter.cl100k());
  }

  /**
   * An engine sharing {@code encoder} (which {@link #close()} leaves open, its owner closes it).
   */
  public OfflineEngine(SentenceEncoder encoder) {
    this(encoder, false, TokenCounter.cl100k());
  }

  private OfflineEngine(SentenceEncoder encoder, boolean ownsEncoder, TokenCounter tokens) {
    this.encoder = encoder;
    this.ownsEncoder = ownsEncoder;
    this.tokens = tokens;
    this.executor =
        Executors.newFixedThreadPool(
            Math.min(2, Runtime.getRuntime().availableProcessors()), threads());
    this.summarizer = new ExtractiveSummarizer(encoder, tokens);
    this.labels = new LabelChooser(encoder);
  }

  @Override
  public String name() {
    return NAME;
  }

  /** {@code model} is ignored: there is one engine, and it reports itself as {@value #MODEL}. */
  @Override
  public CompletableFuture<Completion> complete(LlmRequest request, String model) {
    try {
      return CompletableFuture.supplyAsync(() -> answer(request), executor)
          .exceptionallyCompose(
              e -> {
                Throwable cause =
                    e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                        ? e.getCause()
                        : e;
                if (cause instanceof ProviderException) {
                  return CompletableFuture.failedFuture(cause);
                }
                return CompletableFuture.failedFuture(
                    new ProviderException(
                        LlmError.Code.PROVIDER_ERROR,
                        "offline engine failed: " + cause,
                        false,
                        null,
                        0,
                        cause));
              });
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(
          new ProviderException(
              LlmError.Code.PROVIDER_ERROR, "the offline engine is closed", false));
    }
  }

  /** Answers on the calling thread; {@link #complete} runs this on the engine's executor. */
  Completion answer(LlmRequest request) {
    long input = inputTokens(request);
    Completion c;
    JsonNode schema = schemaOf(request.responseFormat());
    String enumProperty = schema == null ? null : enumProperty(schema);
    if (request.purpose().startsWith("summarizer.")) {
      c = summary(request, null);
    } else if (enumProperty != null) {
      c = label(request, schema, enumProperty);
    } else if (!request.tools().isEmpty()) {
      c = tool(request);
    } else if (request.purpose().startsWith("controller")) {
      // A goal allowed no tools: the engine works only through tools, and a sentence picked from
      // the goal's own text is no answer to it.
      throw new ProviderException(
          LlmError.Code.REFUSED,
          "the offline engine (not an LLM) cannot reach a goal without tools: it answers only"
              + " through them",
          false);
    } else {
      c = summary(request, schema);
    }
    long output =
        c.content() != null
            ? tokens.count(c.content())
            : c.toolCalls().stream()
                .mapToLong(t -> tokens.count(t.name()) + tokens.count(t.arguments().toString()))
                .sum();
    return new Completion(
        c.content(), c.toolCalls(), c.finishReason(), new Usage(input, output), MODEL);
  }

  // ---- summaries

  private Completion summary(LlmRequest request, JsonNode schema) {
    List<String> sources = new ArrayList<>();
    for (ChatMessage m : request.messages()) {
      if (m.role() == Role.USER && m.content() != null) {
        sources.addAll(Sentences.fencedBlocks(m.content()));
      }
    }
    if (sources.isEmpty()) {
      sources.add(lastUser(request));
    }
    int budget = request.maxTokens() == null ? DEFAULT_MAX_TOKENS : request.maxTokens();
    String text = summarizer.summarize(sources, budget);
    if (schema != null && schema.path("properties").isObject()) {
      text =
          fill(schema, text, null, 0)
              .toString(); // structured output without labels: the summary in its strings
    }
    return new Completion(text, List.of(), "stop", Usage.ZERO, MODEL);
  }

  // ---- labels

  private Completion label(LlmRequest request, JsonNode schema, String property) {
    List<String> values = new ArrayList<>();
    schema.path("properties").path(property).path("enum").forEach(v -> values.add(v.asText()));
    List<String> prompt = new ArrayList<>();
    for (ChatMessage m : request.messages()) {
      if ((m.role() == Role.SYSTEM || m.role() == Role.USER) && m.content() != null) {
        prompt.add(m.content());
      }
    }
    LabelChooser.Hints hints = LabelChooser.hints(prompt, values);
    String last = lastUser(request);
    List<String> fenced = Sentences.fencedBlocks(last);
    String text;
    if (!fenced.isEmpty()) {
      text = String.join("\n", fenced).strip();
    } else {
      StringBuilder b = new StringBuilder();
      for (String line : last.split("\\R")) {
        if (!hints.defines(line, values)) {
          b.append(line).append('\n');
        }
      }
      text = b.toString().strip();
    }
    LabelChooser.Choice choice = labels.choose(text.isEmpty() ? last : text, values, hints);
    ObjectNode json = fill(schema, null, choice, 0);
    json.put(property, choice.label());
    return new Completion(json.toString(), List.of(), "stop", Usage.ZERO, MODEL);
  }

  /**
   * An object following {@code schema}: the label and confidence when given, the summary in string
   * properties, defaults elsewhere (required properties only, besides those).
   */
  private static ObjectNode fill(
      JsonNode schema, String summary, LabelChooser.Choice choice, int depth) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    java.util.Set<String> required = new java.util.HashSet<>();
    schema.path("required").forEach(r -> required.add(r.asText()));
    for (Iterator<Map.Entry<String, JsonNode>> it =
            schema.path("properties").properties().iterator();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      String name = p.getKey().toLowerCase(java.util.Locale.ROOT);
      JsonNode prop = p.getValue();
      String type = prop.path("type").asText("");
      if (prop.has("enum") && prop.get("enum").size() > 0) {
        if (required.contains(p.getKey())) {
          out.set(p.getKey(), prop.get("enum").get(0));
        }
      } else if ((type.equals("number") || type.equals("integer"))
          && choice != null
          && (name.contains("confidence")
              || name.contains("probability")
              || name.contains("score"))) {
        out.put(p.getKey(), Math.round(choice.confidence() * 10_000) / 10_000.0);
      } else if (type.equals("string") && summary != null) {
        out.put(p.getKey(), summary);
      } else if (type.equals("string")
          && (required.contains(p.getKey()) || name.contains("reason"))) {
        out.put(
            p.getKey(),
            "nearest label by sentence-embedding similarity (offline engine, not an LLM)");
      } else if (type.equals("object") && required.contains(p.getKey()) && depth < 5) {
        out.set(p.getKey(), fill(prop, summary, choice, depth + 1));
      } else if (required.contains(p.getKey())) {
        out.set(
            p.getKey(),
            switch (type) {
              case "number", "integer" -> JsonNodeFactory.instance.numberNode(0);
              case "boolean" -> JsonNodeFactory.instance.booleanNode(false);
              case "array" -> JsonNodeFactory.instance.arrayNode();
              default -> JsonNodeFactory.instance.nullNode();
            });
      }
    }
    return out;
  }

  // ---- tools

  private Completion tool(LlmRequest request) {
    List<ChatMessage> messages = request.messages();
    List<ChatMessage> results = pendingResults(messages);
    if (results != null) {
      if (!results.isEmpty() && results.stream().allMatch(OfflineEngine::failedResult)) {
        // Quoting the errors as an answer would end the goal "succeeded" with nothing done; the
        // engine can neither reason about the failure nor repair the call, so it says so.
        throw new ProviderException(
            LlmError.Code.REFUSED,
            "the offline engine cannot reach this goal: every tool call of the last step failed ("
                + resultsText(messages, results).replace('\n', ';')
                + "), and it answers only from tool results; it cannot repair a call",
            false);
      }
      return new Completion(resultsText(messages, results), List.of(), "stop", Usage.ZERO, MODEL);
    }
    String text = lastUser(request);
    List<ToolSpec> tools = request.tools();
    List<String> batch = new ArrayList<>();
    for (ToolSpec t : tools) {
      batch.add(LabelChooser.words(t.name()) + ": " + t.description());
    }
    batch.add(text);
    float[][] v = encoder.embed(batch);
    int best = -1;
    double bestScore = Double.NEGATIVE_INFINITY;
    ArgumentExtractor.Filled bestArgs = null;
    for (int i = 0; i < tools.size(); i++) {
      ArgumentExtractor.Filled args =
          ArgumentExtractor.fill(tools.get(i).parameters(), text, this::nearest);
      double score =
          SentenceEncoder.cosine(v[i], v[tools.size()])
              + EVIDENCE_BONUS * Math.min(1.0, (double) args.evidence() / args.required());
      if (score > bestScore) { // strict: ties go to catalogue order
        bestScore = score;
        best = i;
        bestArgs = args;
      }
    }
    if (best < 0 || bestScore < TOOL_FLOOR) {
      throw new ProviderException(
          LlmError.Code.REFUSED,
          String.format(
              java.util.Locale.ROOT,
              "the offline engine (not an LLM) cannot reach this goal: no offered tool matches it"
                  + " (best %s at %.2f, below %.2f), and it cannot answer in its own words",
              best < 0 ? "none" : tools.get(best).name(),
              bestScore,
              TOOL_FLOOR),
          false);
    }
    String id =
        "offline-" + hash(request.requestId() + "\n" + tools.get(best).name() + "\n" + text);
    return new Completion(
        null,
        List.of(new ToolCallRequest(id, tools.get(best).name(), bestArgs.arguments())),
        "tool_calls",
        Usage.ZERO,
        MODEL);
  }

  private String nearest(String text, List<String> values) {
    return labels.choose(text, values, new LabelChooser.Hints(Map.of(), Map.of())).label();
  }

  /**
   * The tool results that end the conversation: the trailing {@code tool} messages, or the results
   * of every call of the last assistant message when all are present; null when a tool should still
   * be called.
   */
  private static List<ChatMessage> pendingResults(List<ChatMessage> messages) {
    int lastAssistant = -1;
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role() == Role.ASSISTANT && !messages.get(i).toolCalls().isEmpty()) {
        lastAssistant = i;
        break;
      }
    }
    List<ChatMessage> after = new ArrayList<>();
    for (int i = lastAssistant + 1; i < messages.size(); i++) {
      if (messages.get(i).role() == Role.TOOL) {
        after.add(messages.get(i));
      }
    }
    if (messages.get(messages.size() - 1).role() == Role.TOOL) {
      return after;
    }
    if (lastAssistant >= 0) {
      java.util.Set<String> answered = new java.util.HashSet<>();
      after.forEach(m -> answered.add(m.toolCallId()));
      boolean all =
          messages.get(lastAssistant).toolCalls().stream().allMatch(c -> answered.contains(c.id()));
      return all && !after.isEmpty() ? after : null;
    }
    return null;
  }

  /** A tool message the controller wrote for a failed call ({@code error: …}). */
  private static boolean failedResult(ChatMessage m) {
    return m.content() != null && m.content().startsWith("error: ");
  }

  private static String resultsText(List<ChatMessage> messages, List<ChatMessage> results) {
    Map<String, String> names = new LinkedHashMap<>();
    for (ChatMessage m : messages) {
      m.toolCalls().forEach(c -> names.put(c.id(), c.name()));
    }
    StringBuilder b = new StringBuilder();
    for (ChatMessage r : results) {
      String content = r.content() == null ? "" : r.content().strip();
      String firstLine =
          content.lines().filter(l -> !l.isBlank()).findFirst().orElse("(empty)").strip();
      if (firstLine.length() > 200) {
        firstLine = firstLine.substring(0, 200) + "…";
      }
      b.append("Result of ")
          .append(names.getOrDefault(r.toolCallId(), "tool"))
          .append(": ")
          .append(firstLine)
          .append('\n');
    }
    return b.toString().strip();
  }

  // ---- helpers

  private static String lastUser(LlmRequest request) {
    List<ChatMessage> messages = request.messages();
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role() == Role.USER && messages.get(i).content() != null) {
        return messages.get(i).content();
      }
    }
    ChatMessage last = messages.get(messages.size() - 1);
    return last.content() == null ? "" : last.content();
  }

  /**
   * A JSON Schema, unwrapped from OpenAI's {@code {"name":…,"schema":{…}}} envelope when so given.
   */
  private static JsonNode schemaOf(JsonNode responseFormat) {
    if (responseFormat == null) {
      return null;
    }
    if (responseFormat.path("json_schema").path("schema").isObject()) {
      return responseFormat.get("json_schema").get("schema");
    }
    if (!responseFormat.has("properties") && responseFormat.path("schema").isObject()) {
      return responseFormat.get("schema");
    }
    return responseFormat;
  }

  /**
   * The property holding the labels: "label" when it has an enum, else the first property with one.
   */
  private static String enumProperty(JsonNode schema) {
    JsonNode props = schema.path("properties");
    if (props.path("label").path("enum").size() > 0) {
      return "label";
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = props.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      if (p.getValue().path("enum").isArray() && p.getValue().path("enum").size() > 0) {
        return p.getKey();
      }
    }
    return null;
  }

  private long inputTokens(LlmRequest request) {
    long n = 0;
    for (ChatMessage m : request.messages()) {
      if (m.content() != null) {
        n += tokens.count(m.content());
      }
      for (ToolCallRequest c : m.toolCalls()) {
        n += tokens.count(c.name()) + tokens.count(c.arguments().toString());
      }
    }
    return n;
  }

  private static String hash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ThreadFactory threads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "offline-engine-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Stops the engine's threads (waiting briefly for running work) and releases the encoder it
   * created.
   */
  @Override
  public void close() {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (ownsEncoder) {
      encoder.close();
    }
  }

  @Override
  public String toString() {
    return "OfflineEngine[not an LLM; model=" + MODEL + "]";
  }
}
