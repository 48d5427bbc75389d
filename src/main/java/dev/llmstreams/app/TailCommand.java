package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ConfluentFraming;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = {
      "Print the records of a topic, one JSON object per line (key, value, headers, partition, offset).",
      "Reads committed data only, as a consumer with isolation.level=read_committed sees it. A value"
          + " of JSON after a Confluent Schema Registry header is shown as that JSON, with"
          + " valueSchemaId."
    })
final class TailCommand implements Callable<Integer> {
  /**
   * Shows numbers as they were written: a decimal keeps its digits and scale ({@code 19.990},
   * {@code 1796670270.5483952}) where a double would print {@code 19.99} and {@code
   * 1.7966702705483952E9}.
   */
  static final ObjectMapper MAPPER =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .disable(
              com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
          .build();

  @ParentCommand Main main;

  @Parameters(index = "0", paramLabel = "TOPIC")
  String topic;

  @Option(
      names = "--from-beginning",
      description = "Start at the earliest record instead of the end.")
  boolean fromBeginning;

  @Option(names = "--max", paramLabel = "N", description = "Stop after N records.")
  Long max;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description = "Stop after this many seconds without a new record.")
  Double timeoutSeconds;

  @Override
  public Integer call() {
    if (main.catalog().byName(topic).isEmpty()) {
      throw new Main.UserError(
          "unknown topic '"
              + topic
              + "'; the catalog has: "
              + String.join(", ", main.catalog().names()));
    }
    long[] count = {0};
    follow(
        main,
        topic,
        fromBeginning,
        timeoutSeconds == null ? null : Duration.ofMillis((long) (timeoutSeconds * 1000)),
        max == null ? Long.MAX_VALUE : max,
        json -> {
          System.out.println(json);
          count[0]++;
        });
    System.err.printf("%d record(s) from %s%n", count[0], topic);
    return 0;
  }

  /**
   * Reads a topic until max records, idle timeout, or interruption, handing each record as one line
   * of JSON.
   */
  static void follow(
      Main main,
      String topic,
      boolean fromBeginning,
      Duration idle,
      long max,
      Consumer<String> out) {
    try (KafkaConsumer<byte[], byte[]> consumer = Clients.committedReader(main.config())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Clients.apiTimeout(main.config())).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      if (partitions.isEmpty()) {
        throw new Main.UserError(
            "topic "
                + topic
                + " does not exist on "
                + main.config().bootstrapServers()
                + "; run `llm-streams topics apply`");
      }
      consumer.assign(partitions);
      if (fromBeginning) {
        consumer.seekToBeginning(partitions);
      } else {
        consumer.seekToEnd(partitions);
      }
      long seen = 0;
      Instant lastRecord = Instant.now();
      while (seen < max && !Thread.currentThread().isInterrupted()) {
        var records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          out.accept(toJson(r));
          lastRecord = Instant.now();
          if (++seen >= max) {
            break;
          }
        }
        if (idle != null && Duration.between(lastRecord, Instant.now()).compareTo(idle) > 0) {
          break;
        }
      }
    } catch (org.apache.kafka.common.errors.InterruptException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String toJson(ConsumerRecord<byte[], byte[]> r) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("topic", r.topic());
    o.put("partition", r.partition());
    o.put("offset", r.offset());
    o.put("timestamp", Instant.ofEpochMilli(r.timestamp()).toString());
    String traceId = dev.llmstreams.observability.tracing.TraceHeaders.traceId(r.headers());
    if (traceId != null) {
      o.put("traceId", traceId); // the W3C traceparent's trace id: open it in the tracing backend
    }
    o.set("key", bytes(r.key(), false));
    byte[] value = r.value();
    int from = ConfluentFraming.jsonOffset(value);
    // JSON after a Confluent Schema Registry header is shown as the app reads it, the id beside
    // it; anything else after one as it is.
    JsonNode json = from == 0 ? null : bytes(Arrays.copyOfRange(value, from, value.length), true);
    if (json != null && json.isContainerNode()) {
      o.put("valueSchemaId", Integer.toUnsignedLong(ConfluentFraming.schemaId(value)));
      o.set("value", json);
    } else {
      o.set("value", bytes(value, true));
    }
    ObjectNode headers = o.putObject("headers");
    for (Header h : r.headers()) {
      headers.set(h.key(), bytes(h.value(), false));
    }
    try {
      return MAPPER.writeValueAsString(o);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * JSON as JSON, other UTF-8 as a string, anything else as {"base64": ...}: every byte stays
   * visible.
   */
  static JsonNode bytes(byte[] data, boolean tryJson) {
    if (data == null) {
      return MAPPER.nullNode();
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(data))
              .toString();
    } catch (CharacterCodingException e) {
      return MAPPER.createObjectNode().put("base64", Base64.getEncoder().encodeToString(data));
    }
    if (tryJson) {
      try {
        JsonNode node = MAPPER.readTree(text);
        if (node != null && (node.isObject() || node.isArray())) {
          return node;
        }
      } catch (Exception ignored) {
        // not JSON: shown as text below
      }
    }
    return MAPPER.getNodeFactory().textNode(text);
  }
}
