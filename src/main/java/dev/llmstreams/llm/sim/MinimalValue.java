package dev.llmstreams.llm.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Iterator;
import java.util.Map;

/**
 * The simplest value a JSON Schema accepts, for the simulator's canned answers: strings {@code
 * "x"}, numbers 1, booleans false, the first value of an enum, every listed property of an object.
 * Kept simple on purpose: patterns and formats other than {@code date-time} are not honoured.
 */
final class MinimalValue {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Deep enough for any real tool schema; stops self-referencing {@code $ref}s. */
  private static final int MAX_DEPTH = 24;

  private MinimalValue() {}

  static JsonNode of(JsonNode schema) {
    return of(schema, schema, 0);
  }

  private static JsonNode of(JsonNode schema, JsonNode root, int depth) {
    if (schema == null || !schema.isObject() || depth > MAX_DEPTH) {
      return TextNode.valueOf("x");
    }
    if (schema.hasNonNull("$ref")) {
      return of(resolve(schema.get("$ref").asText(), root), root, depth + 1);
    }
    if (schema.has("const")) {
      return schema.get("const");
    }
    if (schema.path("enum").isArray() && !schema.get("enum").isEmpty()) {
      return schema.get("enum").get(0);
    }
    for (String choice : new String[] {"anyOf", "oneOf", "allOf"}) {
      if (schema.path(choice).isArray() && !schema.get(choice).isEmpty()) {
        return of(firstNonNull(schema.get(choice)), root, depth + 1);
      }
    }
    switch (type(schema)) {
      case "object":
        {
          ObjectNode object = NODES.objectNode();
          // Every listed property, not only the required ones: consumers read them, and extra
          // listed ones are valid.
          Iterator<Map.Entry<String, JsonNode>> properties =
              schema.path("properties").properties().iterator();
          boolean shallow = depth >= MAX_DEPTH / 2;
          while (properties.hasNext()) {
            Map.Entry<String, JsonNode> property = properties.next();
            if (!shallow || isRequired(schema, property.getKey())) {
              object.set(property.getKey(), of(property.getValue(), root, depth + 1));
            }
          }
          return object;
        }
      case "array":
        {
          ArrayNode array = NODES.arrayNode();
          int items = schema.path("minItems").asInt(0);
          for (int i = 0; i < items; i++) {
            array.add(of(schema.path("items"), root, depth + 1));
          }
          return array;
        }
      case "integer":
        return NODES.numberNode((long) number(schema));
      case "number":
        return NODES.numberNode(number(schema));
      case "boolean":
        return NODES.booleanNode(false);
      case "null":
        return NullNode.getInstance();
      default:
        if ("date-time".equals(schema.path("format").asText())) {
          return TextNode.valueOf("1970-01-01T00:00:00Z");
        }
        return TextNode.valueOf("x".repeat(Math.max(1, schema.path("minLength").asInt(1))));
    }
  }

  private static String type(JsonNode schema) {
    JsonNode type = schema.get("type");
    if (type != null && type.isArray()) {
      for (JsonNode t : type) {
        if (!"null".equals(t.asText())) {
          return t.asText();
        }
      }
      return type.isEmpty() ? "string" : type.get(0).asText();
    }
    if (type != null && type.isTextual()) {
      return type.asText();
    }
    return schema.has("properties") ? "object" : schema.has("items") ? "array" : "string";
  }

  /** 1, moved inside the bounds when the schema excludes it. */
  private static double number(JsonNode schema) {
    double value = 1;
    if (schema.has("minimum") && value < schema.get("minimum").asDouble()) {
      value = schema.get("minimum").asDouble();
    }
    if (schema.has("exclusiveMinimum")
        && schema.get("exclusiveMinimum").isNumber()
        && value <= schema.get("exclusiveMinimum").asDouble()) {
      value = Math.floor(schema.get("exclusiveMinimum").asDouble()) + 1;
    }
    if (schema.has("maximum") && value > schema.get("maximum").asDouble()) {
      value = schema.get("maximum").asDouble();
    }
    if (schema.has("exclusiveMaximum")
        && schema.get("exclusiveMaximum").isNumber()
        && value >= schema.get("exclusiveMaximum").asDouble()) {
      value = Math.ceil(schema.get("exclusiveMaximum").asDouble()) - 1;
    }
    return value;
  }

  private static boolean isRequired(JsonNode schema, String property) {
    for (JsonNode name : schema.path("required")) {
      if (property.equals(name.asText())) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode firstNonNull(JsonNode choices) {
    for (JsonNode choice : choices) {
      if (!"null".equals(choice.path("type").asText())) {
        return choice;
      }
    }
    return choices.get(0);
  }

  /**
   * Local references only ({@code #/$defs/x}, {@code #/definitions/x}); anything else becomes a
   * string.
   */
  private static JsonNode resolve(String ref, JsonNode root) {
    if (!ref.startsWith("#")) {
      return null;
    }
    JsonNode target = root.at(ref.substring(1));
    return target.isMissingNode() ? null : target;
  }
}
