package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.topics.Schemas;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    description = {
      "Send JSON lines to a topic. Each line is checked against the topic's JSON Schema; an "
          + "invalid line is refused with its line number and the reason, and nothing is sent for it.",
      "The record key is the value's key field (see topics/<topic>.json), unless --key-field "
          + "says otherwise."
    })
final class ProduceCommand implements Callable<Integer> {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @ParentCommand Main main;

  @Parameters(index = "0", paramLabel = "TOPIC", description = "A topic of the catalog.")
  String topic;

  @Parameters(
      index = "1",
      paramLabel = "FILE",
      defaultValue = "-",
      description = "JSON lines; - (default) reads standard input.")
  String file;

  @Option(names = "--key-field", description = "Field of the value used as the record key.")
  String keyField;

  @Option(
      names = "--key",
      description =
          "One key for every record (for topics whose key is not in the value, e.g. documents).")
  String constantKey;

  @Override
  public Integer call() throws Exception {
    TopicCatalog catalog = main.catalog();
    TopicSpec spec =
        catalog
            .byName(topic)
            .orElseThrow(
                () ->
                    new Main.UserError(
                        "unknown topic '"
                            + topic
                            + "'; the catalog has: "
                            + String.join(", ", catalog.names())));
    if (spec.valueType() == null) {
      throw new Main.UserError(
          "topic " + topic + " carries raw records of other topics; produce does not write to it");
    }
    String key = keyField != null ? keyField : constantKey != null ? null : spec.keyField();

    Schemas schemas = new Schemas(catalog);
    JsonSerde<?> serde = JsonSerde.of(Class.forName(spec.valueType()));
    int sent = 0;
    int refused = 0;
    List<Future<RecordMetadata>> pending = new ArrayList<>();
    try (BufferedReader in = reader();
        KafkaProducer<byte[], byte[]> producer = Clients.producer(main.config())) {
      String line;
      int number = 0;
      while ((line = in.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        String problem = check(line, topic, schemas, serde, key);
        if (problem == null && key == null && constantKey == null) {
          problem =
              "records on "
                  + topic
                  + " are keyed by the "
                  + spec.key().split(" \\(")[0]
                  + ", which is not in the value: pass --key KEY (or --key-field FIELD)";
        }
        if (problem != null) {
          System.err.printf("line %d: refused: %s%n", number, problem);
          refused++;
          continue;
        }
        JsonNode value = MAPPER.readTree(line);
        byte[] keyBytes =
            (key == null ? constantKey : value.get(key).asText()).getBytes(StandardCharsets.UTF_8);
        pending.add(
            producer.send(
                new ProducerRecord<>(topic, keyBytes, line.getBytes(StandardCharsets.UTF_8))));
        sent++;
      }
      producer.flush();
      for (Future<RecordMetadata> f : pending) {
        f.get();
      }
    }
    System.err.printf("sent %d record(s) to %s, refused %d line(s)%n", sent, topic, refused);
    return refused == 0 ? 0 : 1;
  }

  /** Why a line cannot be sent, or null when it can. */
  static String check(
      String line, String topic, Schemas schemas, JsonSerde<?> serde, String keyField) {
    JsonNode value;
    try {
      value = MAPPER.readTree(line);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return "malformed JSON: " + e.getOriginalMessage();
    }
    if (value == null || !value.isObject()) {
      return "a value must be a JSON object";
    }
    List<String> problems = schemas.validate(topic, value);
    if (!problems.isEmpty()) {
      return "does not match the schema: " + String.join("; ", problems);
    }
    try {
      serde.deserializer().deserialize(null, line.getBytes(StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      return e.getMessage();
    }
    if (keyField != null
        && (!value.hasNonNull(keyField) || value.get(keyField).asText().isEmpty())) {
      return "key field '" + keyField + "' is missing";
    }
    return null;
  }

  private BufferedReader reader() throws java.io.IOException {
    return TextLines.skippingByteOrderMark(
        "-".equals(file)
            ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
            : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8));
  }
}
