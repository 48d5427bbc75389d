package dev.llmstreams.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.specialist.model.LabeledText;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The known load of a chaos run, made from the seed: goals (each asks for one built-in tool, in
 * turn), documents spread over synthesis keys, classification requests (Banking77 test questions),
 * each with a unique id, plus the poison records. The simulated LLM's tool script reads a goal's id
 * back from its text to aim its tool call.
 */
final class ChaosLoad {
  /** The built-in tools the goals use, in turn. */
  static final List<String> TOOLS =
      List.of("calculator", "http_get", "publish", "synthesis", "classify");

  /**
   * At most this many documents per synthesis key: a synthesis lists its 100 most recent document
   * ids.
   */
  static final int DOCS_PER_KEY = 50;

  private static final Pattern GOAL_ID = Pattern.compile("chaos goal (\\S+):");
  private static final String[] SENTENCES = {
    "The team agreed to ship the release after the security review.",
    "Finance asked for the quarterly numbers before the board meeting.",
    "Two customers reported slow exports from the reporting page.",
    "The migration to the new database finished without data loss.",
    "Support wants a clearer message when a card payment is declined.",
    "The on-call engineer restarted the indexer after the disk filled up.",
    "Marketing will announce the feature in the next newsletter.",
    "Legal reviewed the contract and asked for a shorter retention period."
  };
  private static final List<byte[]> POISON =
      List.of(
          "not json at all".getBytes(StandardCharsets.UTF_8),
          "{\"id\": \"truncated".getBytes(StandardCharsets.UTF_8),
          new byte[] {(byte) 0xff, (byte) 0xfe, '{', '}'},
          "{\"a\": [1, 2,, 3]}".getBytes(StandardCharsets.UTF_8));

  /**
   * One record to send: its topic role name for the report, the input id (null for poison), key and
   * value.
   */
  record Item(String kind, String id, String topic, String key, Object value, byte[] raw) {
    boolean poison() {
      return raw != null;
    }
  }

  final String run;
  final Instant documentTime;
  final List<Goal> goals = new ArrayList<>();
  final List<String> goalTools = new ArrayList<>();
  final List<String> documentKeys = new ArrayList<>();
  final Map<String, String> keyOfDocument = new java.util.HashMap<>();
  final List<Document> documents = new ArrayList<>();
  final List<ClassificationRequest> requests = new ArrayList<>();

  ChaosLoad(
      String run,
      int goalCount,
      int documentCount,
      int requestCount,
      List<LabeledText> questions,
      long seed,
      Instant documentTime) {
    this.run = run;
    this.documentTime = documentTime;
    Random random = new Random(seed);
    for (int i = 0; i < goalCount; i++) {
      String id = String.format("%s-g-%06d", run, i);
      String tool = TOOLS.get(i % TOOLS.size());
      goals.add(
          new Goal(
              id,
              "chaos goal "
                  + id
                  + ": use the "
                  + tool
                  + " tool once, then report what it returned.",
              List.of(tool),
              null,
              null,
              null,
              Map.of("chaos", run),
              Instant.now()));
      goalTools.add(tool);
    }
    int keys = Math.max(1, (documentCount + DOCS_PER_KEY - 1) / DOCS_PER_KEY);
    for (int k = 0; k < keys; k++) {
      documentKeys.add(String.format("%s-k-%03d", run, k));
    }
    for (int i = 0; i < documentCount; i++) {
      String id = String.format("%s-d-%06d", run, i);
      StringBuilder text = new StringBuilder("Note ").append(id).append(". ");
      for (int s = 0; s < 3; s++) {
        text.append(SENTENCES[random.nextInt(SENTENCES.length)]).append(' ');
      }
      documents.add(new Document(id, text.toString().strip(), documentTime, Map.of()));
      keyOfDocument.put(id, documentKeys.get(i % keys));
    }
    for (int i = 0; i < requestCount; i++) {
      String id = String.format("%s-c-%06d", run, i);
      requests.add(
          new ClassificationRequest(
              id, questions.get(random.nextInt(questions.size())).text(), null));
    }
  }

  /** The goal id in a goal's text, as the LLM sees it in the conversation, or null. */
  static String goalIdIn(JsonNode messages) {
    for (JsonNode m : messages) {
      if ("user".equals(m.path("role").asText())) {
        Matcher matcher = GOAL_ID.matcher(m.path("content").asText(""));
        if (matcher.find()) {
          return matcher.group(1);
        }
      }
    }
    return null;
  }

  /**
   * The arguments the simulated LLM gives a goal's tool call: a fetch of the counting page for
   * http_get, a record naming the goal for publish, one of the run's synthesis keys, a bank
   * question to classify; null (the simulator's default) for the calculator, whose default is
   * arithmetic it can evaluate.
   */
  JsonNode toolArguments(
      String tool, JsonNode messages, FetchCounter fetches, String publishTopic) {
    String goalId = goalIdIn(messages);
    if (goalId == null) {
      return null;
    }
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    switch (tool) {
      case "http_get" -> args.put("url", fetches.url(goalId));
      case "publish" -> {
        args.put("topic", publishTopic).put("key", goalId);
        args.putObject("record").put("goalId", goalId).put("chaos", run);
      }
      case "synthesis" ->
          args.put("key", documentKeys.get(Math.floorMod(goalId.hashCode(), documentKeys.size())));
      case "classify" ->
          args.put("text", "I still have not received my new card, can you check where it is?");
      default -> {
        return null;
      }
    }
    return args;
  }

  /** A malformed value: not JSON, cut JSON, invalid UTF-8, a JSON syntax error. */
  static byte[] poison(Random random) {
    return POISON.get(random.nextInt(POISON.size())).clone();
  }

  /** Every valid input in one seeded order. */
  List<Item> inputs(String goalsTopic, String documentsTopic, String requestsTopic, Random random) {
    List<Item> items = new ArrayList<>();
    goals.forEach(g -> items.add(new Item("goal", g.goalId(), goalsTopic, g.goalId(), g, null)));
    documents.forEach(
        d ->
            items.add(
                new Item(
                    "document", d.docId(), documentsTopic, keyOfDocument.get(d.docId()), d, null)));
    requests.forEach(
        r ->
            items.add(
                new Item("classification", r.eventId(), requestsTopic, r.eventId(), r, null)));
    Collections.shuffle(items, random);
    return items;
  }

  List<String> goalIds() {
    return goals.stream().map(Goal::goalId).toList();
  }

  List<String> documentIds() {
    return documents.stream().map(Document::docId).toList();
  }

  List<String> requestIds() {
    return requests.stream().map(ClassificationRequest::eventId).toList();
  }
}
