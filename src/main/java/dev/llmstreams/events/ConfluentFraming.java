package dev.llmstreams.events;

/**
 * The Confluent Schema Registry wire format: a value that starts with the magic byte 0 and a 4-byte
 * big-endian schema id, then the serialized record. Producers that use Confluent's JSON Schema
 * serializer (Java, Python, Go, .NET and the REST proxy) write JSON after this header, so
 * llm-streams reads such a value as the JSON that follows it; the app checks it against its own
 * contract, not the registry's schema. Plain JSON never starts with byte 0 (RFC 8259 text is UTF-8
 * and starts with whitespace or a value), so the two cannot be confused.
 */
public final class ConfluentFraming {
  /** The magic byte, the schema id. */
  static final int HEADER = 5;

  private ConfluentFraming() {}

  /** Whether {@code value} starts with the framing header. */
  public static boolean framed(byte[] value) {
    return value != null && value.length >= HEADER && value[0] == 0;
  }

  /** Where the JSON starts: after the header of a framed value, else at 0. */
  public static int jsonOffset(byte[] value) {
    return framed(value) ? HEADER : 0;
  }

  /** The schema id of a framed value. */
  public static int schemaId(byte[] value) {
    return ((value[1] & 0xff) << 24)
        | ((value[2] & 0xff) << 16)
        | ((value[3] & 0xff) << 8)
        | (value[4] & 0xff);
  }

  /**
   * Why a framed value cannot be read as JSON, or null when what follows its header starts like a
   * JSON object or array (Avro and Protobuf payloads do not).
   */
  static String notJson(byte[] value) {
    if (!framed(value)) {
      return null;
    }
    for (int i = HEADER; i < value.length; i++) {
      byte b = value[i];
      if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
        continue;
      }
      if (b == '{' || b == '[') {
        return null;
      }
      break;
    }
    return "the value has a Confluent Schema Registry header (magic byte 0, schema id "
        + Integer.toUnsignedString(schemaId(value))
        + ") and what follows it is not JSON (Avro or Protobuf?): llm-streams reads JSON values,"
        + " plain or from a JSON Schema serializer";
  }
}
