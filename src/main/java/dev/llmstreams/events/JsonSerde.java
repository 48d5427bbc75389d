package dev.llmstreams.events;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The serde of one topic's values: UTF-8 JSON via {@link Json}, also after a Confluent Schema
 * Registry header ({@link ConfluentFraming}) on the way in. Null is a tombstone both ways. A value
 * that cannot be read throws a {@link SerializationException} whose message names the type and the
 * problem, e.g. {@code cannot read Goal: field "goal" is required}.
 */
public final class JsonSerde<T> implements Serde<T> {
  private static final int MAX_MESSAGE_LENGTH = 1_000;

  private final Serializer<T> serializer;
  private final Deserializer<T> deserializer;

  private JsonSerde(Class<T> type) {
    String name = type.getSimpleName();
    ObjectWriter writer = Json.writer().forType(type);
    ObjectReader reader = Json.readerFor(type);
    this.serializer =
        (topic, value) -> {
          if (value == null) {
            return null;
          }
          try {
            return writer.writeValueAsBytes(value);
          } catch (JsonProcessingException e) {
            throw new SerializationException(
                "cannot write " + name + ": " + e.getOriginalMessage(), e);
          }
        };
    this.deserializer =
        (topic, bytes) -> {
          if (bytes == null) {
            return null;
          }
          String notJson = ConfluentFraming.notJson(bytes);
          if (notJson != null) {
            throw new SerializationException("cannot read " + name + ": " + notJson);
          }
          int from = ConfluentFraming.jsonOffset(bytes);
          try {
            return reader.readValue(bytes, from, bytes.length - from);
          } catch (IOException e) {
            throw new SerializationException(
                "cannot read " + name + ": " + problem(e, bytes, from), e);
          }
        };
  }

  public static <T> JsonSerde<T> of(Class<T> type) {
    return new JsonSerde<>(type);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }

  private static String problem(IOException e, byte[] bytes, int from) {
    String problem;
    // The mapper wraps parser errors raised inside a value.
    StreamConstraintsException limit = Causes.find(e, StreamConstraintsException.class);
    // Also inside a value read as a tree (a payload): the mapper wraps the parser's error.
    JsonParseException parse = Causes.find(e, JsonParseException.class);
    String mismatch = e instanceof MismatchedInputException m ? TypeMismatch.describe(m) : null;
    // Jackson names the byte but not where a producer went wrong: text in another encoding.
    String notUtf8 =
        parse != null && String.valueOf(parse.getOriginalMessage()).startsWith("Invalid UTF-8")
            ? Utf8.problem(bytes, from)
            : null;
    if (limit != null) {
      problem =
          "input exceeds a limit: "
              + limit.getOriginalMessage()
              + (e instanceof JsonMappingException mapping ? at(mapping) : "");
    } else if (notUtf8 != null) {
      problem = notUtf8;
    } else if (parse != null) {
      JsonLocation at = parse.getLocation();
      problem =
          "malformed JSON at line "
              + at.getLineNr()
              + " column "
              + at.getColumnNr()
              + ": "
              + plain(parse.getOriginalMessage());
    } else if (e instanceof ValueInstantiationException invalid && invalid.getCause() != null) {
      // A record's constructor refused the value; its message names the field.
      problem = invalid.getCause().getMessage() + at(invalid);
    } else if (mismatch != null) {
      // A value of the wrong JSON type, in JSON's words rather than Java's.
      problem = mismatch + at((JsonMappingException) e);
    } else if (e instanceof JsonMappingException mapping) {
      problem = plain(mapping.getOriginalMessage()) + at(mapping);
    } else if (e instanceof JsonProcessingException other) {
      problem = other.getOriginalMessage();
    } else {
      problem = String.valueOf(e.getMessage());
    }
    return problem.length() <= MAX_MESSAGE_LENGTH
        ? problem
        : problem.substring(0, MAX_MESSAGE_LENGTH) + "...";
  }

  /**
   * Jackson's message without its advice to Java programmers (parser features, coercion configs),
   * which a producer in any language cannot follow; with what JSON allows instead.
   */
  static String plain(String jackson) {
    String s =
        String.valueOf(jackson)
            .replaceAll(": enable `JsonReadFeature\\.\\w+` to allow", "")
            .replaceAll(
                " \\(not recognized as one since Feature '\\w+' not enabled for parser\\)", "")
            .replaceAll(" \\(but (?:could|might) if coercion[^)]*\\)", "");
    if (s.startsWith("Non-standard token")) {
      s += " (JSON has no NaN or Infinity: send null, or the number as a string)";
    }
    return s.replace("maybe a (non-standard) comment?", "a comment? JSON has none");
  }

  /**
   * Where in the value the problem is, as a JSON path ({@code $.messages[0].role}); empty at the
   * top level.
   */
  private static String at(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        path.append('.').append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      }
    }
    return path.length() == 0 ? "" : " (at $" + path + ")";
  }
}
