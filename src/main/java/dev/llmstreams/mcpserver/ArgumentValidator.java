package dev.llmstreams.mcpserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Checks the arguments of a {@code tools/call} against the tool's {@code inputSchema} for the SDK
 * (networknt, draft 2020-12, as the topics' schemas; the SDK's own validator is excluded from the
 * build: it needs another major version of the same library). A call whose arguments do not match
 * gets a tool result with {@code isError: true} saying why, before the tool runs.
 */
final class ArgumentValidator implements JsonSchemaValidator {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

  /** The tools' schemas are few and fixed: each is compiled once. */
  private final Map<Map<String, Object>, JsonSchema> compiled = new ConcurrentHashMap<>();

  @Override
  public ValidationResponse validate(Map<String, Object> schema, Object value) {
    try {
      JsonNode content = MAPPER.valueToTree(value);
      JsonSchema compiledSchema =
          compiled.computeIfAbsent(schema, s -> FACTORY.getSchema(MAPPER.valueToTree(s)));
      var problems = compiledSchema.validate(content);
      if (problems.isEmpty()) {
        return ValidationResponse.asValid(content.toString());
      }
      return ValidationResponse.asInvalid(
          problems.stream()
              .map(ValidationMessage::getMessage)
              .sorted()
              .limit(5)
              .collect(Collectors.joining("; ")));
    } catch (RuntimeException e) {
      return ValidationResponse.asInvalid("the schema cannot be used: " + e.getMessage());
    }
  }
}
