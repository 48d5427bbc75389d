package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/** Prints the demo's outputs as they are committed, one readable line per record. */
final class OutputPrinter implements AutoCloseable {
  private static final List<TopicRole> WATCHED =
      List.of(
          TopicRole.LLM_REQUESTS,
          TopicRole.CONTROLLER_LLM_REQUESTS,
          TopicRole.SUMMARIZER_LLM_REPLIES,
          TopicRole.CONTROLLER_LLM_REPLIES,
          TopicRole.SPECIALIST_LLM_REPLIES,
          TopicRole.SYNTHESES,
          TopicRole.GOAL_EVENTS,
          TopicRole.GOAL_RESULTS,
          TopicRole.CLASSIFICATIONS,
          TopicRole.DEAD_LETTERS);
  private static final List<TopicRole> REPLIES =
      List.of(
          TopicRole.SUMMARIZER_LLM_REPLIES,
          TopicRole.CONTROLLER_LLM_REPLIES,
          TopicRole.SPECIALIST_LLM_REPLIES);

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final TopicCatalog catalog;
  private final AtomicBoolean running = new AtomicBoolean(true);

  /** The demo's questions by eventId ({text, true label}), printed beside their classification. */
  private final java.util.Map<String, String[]> questions =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final Thread thread;

  OutputPrinter(Main main, TopicCatalog catalog) {
    this.catalog = catalog;
    this.consumer = Clients.committedReader(main.config());
    List<TopicPartition> partitions = new ArrayList<>();
    for (TopicRole role : WATCHED) {
      String topic = catalog.spec(role).name();
      consumer
          .partitionsFor(topic, Clients.apiTimeout(main.config()))
          .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
    }
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // fix the start now, before inputs are fed
    thread = new Thread(this::loop, "llmstreams-demo-printer");
    thread.setDaemon(true);
  }

  /**
   * Shows this text and true label beside the event's classification (once: forgotten when
   * printed).
   */
  void remember(String eventId, String text, String trueLabel) {
    questions.put(eventId, new String[] {text, trueLabel});
  }

  void start() {
    thread.start();
  }

  private void loop() {
    try {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          System.out.println(describe(r));
        }
      }
    } catch (org.apache.kafka.common.errors.WakeupException
        | org.apache.kafka.common.errors.InterruptException e) {
      // closing
    } finally {
      consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
    }
  }

  private String describe(ConsumerRecord<byte[], byte[]> r) {
    String key = r.key() == null ? "-" : new String(r.key(), StandardCharsets.UTF_8);
    if (r.topic().equals(catalog.spec(TopicRole.DEAD_LETTERS).name())) {
      return String.format(
          "  x %-14s from %s-%s@%s (%s): %s",
          r.topic(),
          header(r, DeadLetters.SOURCE_TOPIC),
          header(r, DeadLetters.SOURCE_PARTITION),
          header(r, DeadLetters.SOURCE_OFFSET),
          header(r, DeadLetters.STAGE),
          header(r, DeadLetters.EXCEPTION_MESSAGE));
    }
    JsonNode v = TailCommand.bytes(r.value(), true);
    if (r.topic().equals(catalog.spec(TopicRole.GOAL_EVENTS).name())) {
      String summary = v.path("summary").asText().replace('\n', ' ');
      return String.format(
          "  * %-14s %-12s step %s %-18s %s",
          r.topic(),
          key,
          v.path("step").asText(),
          v.path("type").asText(),
          summary.length() > 150 ? summary.substring(0, 150) + "…" : summary);
    }
    if (r.topic().equals(catalog.spec(TopicRole.GOAL_RESULTS).name())) {
      String text =
          v.path("status").asText().equals("succeeded")
              ? v.path("answer").asText()
              : v.path("reason").asText();
      text = text.replace('\n', ' ');
      return String.format(
          "  ! %-14s %-12s %s after %s steps, %s tokens, %s ms: %s",
          r.topic(),
          key,
          v.path("status").asText(),
          v.path("steps").asText(),
          v.path("usage").path("inputTokens").asLong()
              + v.path("usage").path("outputTokens").asLong(),
          v.path("durationMs").asText(),
          text.length() > 200 ? text.substring(0, 200) + "…" : text);
    }
    if (r.topic().equals(catalog.spec(TopicRole.CONTROLLER_LLM_REQUESTS).name())
        || r.topic().equals(catalog.spec(TopicRole.LLM_REQUESTS).name())
            && !v.path("purpose").asText().startsWith("summarizer")) {
      return String.format(
          "  > %-14s %-12s %s %s (%d messages, %d tools)",
          r.topic(),
          key,
          v.path("purpose").asText(),
          v.path("requestId").asText(),
          v.path("messages").size(),
          v.path("tools").size());
    }
    if (r.topic().equals(catalog.spec(TopicRole.LLM_REQUESTS).name())) {
      JsonNode meta = v.path("metadata");
      return String.format(
          "  > %-14s %-10s %s %s chunk %s/%s (%s tokens)",
          r.topic(),
          key,
          v.path("purpose").asText(),
          meta.path("docId").asText(),
          meta.path("chunk").asInt() + 1,
          meta.path("chunks").asText(),
          meta.path("chunkTokens").asText());
    }
    for (TopicRole role : REPLIES) {
      if (r.topic().equals(catalog.spec(role).name())) {
        JsonNode error = v.path("error");
        String body =
            error.isMissingNode() || error.isNull()
                ? v.path("content").asText(v.path("toolCalls").toString())
                : "ERROR " + error.path("code").asText() + ": " + error.path("message").asText();
        body = body.replace('\n', ' ');
        return String.format(
            "  < %-22s %-10s %s by %s (%s in / %s out tokens, %s ms): %s",
            r.topic(),
            key,
            v.path("requestId").asText(),
            v.path("model").asText(),
            v.path("usage").path("inputTokens").asText(),
            v.path("usage").path("outputTokens").asText(),
            v.path("latencyMs").asText(),
            body.length() > 110 ? body.substring(0, 110) + "…" : body);
      }
    }
    if (r.topic().equals(catalog.spec(TopicRole.CLASSIFICATIONS).name())) {
      String[] q = questions.remove(key);
      String question =
          q == null
              ? ""
              : String.format(
                  " [%s] %s", q[1], q[0].length() > 80 ? q[0].substring(0, 80) + "…" : q[0]);
      String source = v.path("source").asText();
      boolean escalated =
          java.util.Arrays.stream(dev.llmstreams.events.Classification.Source.values())
              .anyMatch(s -> s.escalated() && s.id().equals(source));
      String reason = v.path("escalationReason").asText("");
      String how =
          escalated
              ? "ESCALATED, answered by " + v.path("modelVersion").asText() + " (" + reason + ")"
              : reason.isEmpty()
                  ? "by the specialist"
                  : "by the specialist, escalation failed: " + reason;
      return String.format(
          "  # %-14s %-12s %-28s %.2f %s%s",
          r.topic(), key, v.path("label").asText(), v.path("confidence").asDouble(), how, question);
    }
    if (r.topic().equals(catalog.spec(TopicRole.SYNTHESES).name())) {
      String body = v.path("text").asText().replace('\n', ' ');
      return String.format(
          "  = %-14s %-10s %s docs, %s chunks, level %s, %s LLM input tokens: %s",
          r.topic(),
          key,
          v.path("documents").asText(),
          v.path("chunks").asText(),
          v.path("level").asText(),
          v.path("llmInputTokens").asText(),
          body.length() > 140 ? body.substring(0, 140) + "…" : body);
    }
    String text = v.toString();
    return String.format(
        "  > %-14s %-10s %s",
        r.topic(), key, text.length() > 160 ? text.substring(0, 160) + "…" : text);
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? "?" : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    try {
      if (running.getAndSet(false)) {
        consumer.wakeup();
        thread.join(3_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
    }
  }
}
