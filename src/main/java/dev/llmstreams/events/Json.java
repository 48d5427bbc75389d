package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.datatype.jsr310.deser.InstantDeserializer;
import java.io.IOException;
import java.time.Instant;

/**
 * The one JSON configuration of every topic value. The mapper is built once and never handed out,
 * so nobody can reconfigure it; callers get immutable readers and writers.
 */
public final class Json {
  /**
   * Above the largest document (10,000,000 characters) and the largest model artifact (8 MiB,
   * base64).
   */
  public static final int MAX_STRING_LENGTH = 16_000_000;

  public static final int MAX_NESTING_DEPTH = 200;

  private static final JsonMapper MAPPER = build();
  private static final ObjectWriter WRITER = MAPPER.writer();
  private static final ObjectReader READER = MAPPER.reader();

  private Json() {}

  private static JsonMapper build() {
    JsonFactory factory =
        JsonFactory.builder()
            .streamReadConstraints(
                StreamReadConstraints.builder()
                    .maxStringLength(MAX_STRING_LENGTH)
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // Error messages go to logs and dead-letter headers: never copy the payload into them.
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();
    JsonMapper mapper =
        JsonMapper.builder(factory)
            .addHandler(new UnknownFields())
            .addModule(new JavaTimeModule())
            .addModule(
                new SimpleModule("iso-8601-instants")
                    .addDeserializer(Instant.class, new IsoInstants()))
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
            // Tolerant reader: producers may add fields; the schemas are strict for producers.
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .defaultPropertyInclusion(
                JsonInclude.Value.construct(
                    JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
            .build();
    // ALLOW_COERCION_OF_SCALARS does not cover strings: without this, {"text": 5} would read as
    // "5".
    mapper
        .coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    return mapper;
  }

  /**
   * Times are ISO-8601 strings with their offset, or whole numbers of epoch milliseconds (Kafka's
   * record timestamps, JavaScript's {@code Date.now()}, Java's {@code currentTimeMillis()}). The
   * time module would read a number as epoch seconds, so a producer writing epoch millis would get
   * a date in the year 55,000 without any error; here a number is milliseconds, and one that cannot
   * be (below {@value #MIN_EPOCH_MS}, which as seconds is the year 5138 and as milliseconds 1973,
   * so epoch seconds; above the year 9999, so micro- or nanoseconds; a fraction) is refused with
   * what it looks like.
   */
  private static final class IsoInstants extends StdScalarDeserializer<Instant> {
    private static final long serialVersionUID = 1L;

    /** 1973-03-03T09:46:40Z: any smaller number is taken for epoch seconds. */
    static final long MIN_EPOCH_MS = 100_000_000_000L;

    /** 9999-12-31T23:59:59.999Z. */
    static final long MAX_EPOCH_MS = 253_402_300_799_999L;

    IsoInstants() {
      super(Instant.class);
    }

    @Override
    public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.hasToken(JsonToken.VALUE_NUMBER_INT) || p.hasToken(JsonToken.VALUE_NUMBER_FLOAT)) {
        return epochMillis(p, ctxt);
      }
      if (!p.hasToken(JsonToken.VALUE_STRING)) {
        return (Instant) ctxt.handleUnexpectedToken(Instant.class, p);
      }
      return InstantDeserializer.INSTANT.deserialize(p, ctxt);
    }

    private static Instant epochMillis(JsonParser p, DeserializationContext ctxt)
        throws IOException {
      String shown = p.getText();
      String why;
      if (p.hasToken(JsonToken.VALUE_NUMBER_FLOAT)) {
        why = "epoch milliseconds are a whole number (a fraction is often epoch seconds)";
      } else if (p.getNumberType() != JsonParser.NumberType.INT
          && p.getNumberType() != JsonParser.NumberType.LONG) {
        why = "larger than epoch milliseconds can be (up to the year 9999)";
      } else {
        long ms = p.getLongValue();
        if (ms >= MIN_EPOCH_MS && ms <= MAX_EPOCH_MS) {
          return Instant.ofEpochMilli(ms);
        }
        why =
            ms > MAX_EPOCH_MS
                ? "larger than epoch milliseconds can be (up to the year 9999): micro- or"
                    + " nanoseconds?"
                : ms >= MIN_EPOCH_MS / 1000
                    ? "epoch seconds? In epoch milliseconds that is " + (ms * 1000)
                    : "too small for epoch milliseconds (before 1973)";
      }
      String field = p.currentName();
      return (Instant)
          ctxt.reportInputMismatch(
              Instant.class,
              "%s must be %s, not %s: %s",
              field == null ? "the value" : "field \"" + field + "\"",
              TypeMismatch.TIME,
              shown.length() <= 40 ? shown : shown.substring(0, 40) + "...",
              why);
    }
  }

  /**
   * Reads a JSON value as it was written, for values passed through untouched (a classification
   * request's payload): a decimal number keeps every digit and its scale ({@code 19.990} stays
   * {@code 19.990}, {@code 0.1234567890123456789} keeps its 19 digits), where a plain tree reads it
   * as a double. Integers are exact either way.
   */
  public static final class ExactTree extends StdDeserializer<JsonNode> {
    private static final long serialVersionUID = 1L;
    private static final ObjectReader EXACT =
        READER
            .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            // The value is one field of a record being read: the record's own tokens follow it.
            .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public ExactTree() {
      super(JsonNode.class);
    }

    @Override
    public JsonNode deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      return EXACT.readTree(p);
    }

    /** JSON {@code null}: a null node, as a plain tree reads it. */
    @Override
    public JsonNode getNullValue(DeserializationContext ctxt) {
      return NullNode.getInstance();
    }

    /** No such field: no value (Java null), as a plain tree reads it. */
    @Override
    public Object getAbsentValue(DeserializationContext ctxt) {
      return null;
    }
  }

  /**
   * Runs {@code read} and gives the names of the fields it skipped because no record component
   * names them (the reader is tolerant: such fields are dropped, not refused), in order; empty when
   * there were none. For inputs, so that what a producer sends and loses can be counted and said.
   */
  public static <T> java.util.Map.Entry<T, java.util.List<String>> withUnknownFields(
      java.util.function.Supplier<T> read) {
    java.util.List<String> outer = UnknownFields.SEEN.get();
    java.util.List<String> seen = new java.util.ArrayList<>();
    UnknownFields.SEEN.set(seen);
    try {
      return new java.util.AbstractMap.SimpleImmutableEntry<>(
          read.get(), java.util.List.copyOf(seen));
    } finally {
      UnknownFields.SEEN.set(outer);
    }
  }

  /** Skips a field no component names, as the mapper is set to, and notes its name. */
  private static final class UnknownFields
      extends com.fasterxml.jackson.databind.deser.DeserializationProblemHandler {
    static final ThreadLocal<java.util.List<String>> SEEN = new ThreadLocal<>();

    @Override
    public boolean handleUnknownProperty(
        DeserializationContext ctxt,
        JsonParser p,
        com.fasterxml.jackson.databind.JsonDeserializer<?> deserializer,
        Object beanOrClass,
        String propertyName)
        throws IOException {
      java.util.List<String> seen = SEEN.get();
      if (seen != null && seen.size() < 16) {
        seen.add(propertyName);
      }
      p.skipChildren();
      return true;
    }
  }

  /** A reader of values of the given type, with the shared configuration. */
  public static ObjectReader readerFor(Class<?> type) {
    return READER.forType(type);
  }

  /** A reader of JSON trees, with the shared configuration (limits included). */
  public static ObjectReader reader() {
    return READER;
  }

  public static ObjectWriter writer() {
    return WRITER;
  }

  /** Parses JSON text into a tree, e.g. tool arguments or a schema written in code. */
  public static JsonNode tree(String json) {
    try {
      return READER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** The tree form of a value, as it would be written to a topic. */
  public static JsonNode toTree(Object value) {
    return MAPPER.valueToTree(value);
  }
}
