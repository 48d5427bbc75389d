package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hostile input corpus of {@code src/test/resources/hostile/}: one JSON-lines file per input
 * topic (named as the topic in {@code topics/}), one record a line. See the README there for the
 * format.
 */
final class HostileCorpus {
  /** The input topics the app reads from outside, as the corpus files name them. */
  static final List<String> TOPICS =
      List.of(
          "goals",
          "documents",
          "classification-requests",
          "labels",
          "approvals",
          "goal-cancellations",
          "human-answers",
          "tool-results",
          "llm-requests",
          "controller.llm-requests",
          "controller.llm-replies",
          "summarizer.llm-replies",
          "specialist.llm-replies",
          "tool-calls.calculator",
          "tool-calls.http_get",
          "tool-calls.publish",
          "tool-calls.synthesis",
          "tool-calls.classify",
          "specialist-models");

  private static final Pattern REPEAT = Pattern.compile("<<repeat (\\d+)\\|(.*?)>>");

  enum Expect {
    /**
     * In dead-letters, with the source topic, partition and offset headers, the reason mentioning
     * {@code reason}.
     */
    DEAD_LETTER,
    /**
     * A record on {@code output} with the same key (value containing {@code match}; a goal with
     * {@code status}).
     */
    OUTPUT,
    /**
     * Read and committed with no output and no dead letter: a forged reply or approval nobody waits
     * for, a label.
     */
    CONSUMED,
    /**
     * Never reaches the topic: the producer or the broker refuses it ({@code reason} names the
     * exception).
     */
    PRODUCER_ERROR,
    /**
     * specialist-models is a global store: Kafka Streams cannot dead-letter its records; it skips
     * them.
     */
    SKIPPED
  }

  /**
   * One hostile record.
   *
   * @param key null for a null key
   * @param value null for a null value (a tombstone)
   */
  record Entry(
      String topic,
      String id,
      String attack,
      String key,
      byte[] value,
      Expect expect,
      String reason,
      String output,
      String match,
      String status) {
    @Override
    public String toString() {
      return topic + "/" + id + " (" + attack + ")";
    }
  }

  private HostileCorpus() {}

  /**
   * Every entry of every topic; {@code resolve} fills in {@code <<topic:NAME>>} and {@code
   * <<HOSTILE_URL>>}.
   */
  static List<Entry> load(UnaryOperator<String> resolve) {
    List<Entry> entries = new ArrayList<>();
    for (String topic : TOPICS) {
      String resource = "hostile/" + topic + ".jsonl";
      try (InputStream in = HostileCorpus.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("no corpus file " + resource);
        }
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (!line.isBlank()) {
            entries.add(entry(topic, Json.tree(line), resolve));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return entries;
  }

  private static Entry entry(String topic, JsonNode e, UnaryOperator<String> resolve) {
    byte[] value;
    if (e.path("valueNull").asBoolean(false)) {
      value = null;
    } else if (e.has("valueBase64")) {
      value = Base64.getDecoder().decode(e.get("valueBase64").asText());
    } else {
      value = expand(resolve.apply(e.get("valueText").asText())).getBytes(StandardCharsets.UTF_8);
    }
    return new Entry(
        topic,
        e.get("id").asText(),
        e.get("attack").asText(),
        e.path("key").isNull() ? null : e.get("key").asText(),
        value,
        Expect.valueOf(e.get("expect").asText().toUpperCase().replace('-', '_')),
        e.path("reason").asText(null),
        e.path("output").asText(null),
        e.path("match").asText(null),
        e.path("status").asText(null));
  }

  /**
   * {@code <<repeat N|UNIT>>} becomes UNIT N times: huge fields and deep nesting stay small in the
   * files.
   */
  static String expand(String text) {
    Matcher m = REPEAT.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(
          out, Matcher.quoteReplacement(m.group(2).repeat(Integer.parseInt(m.group(1)))));
    }
    m.appendTail(out);
    return out.toString();
  }
}
