package dev.llmstreams.runtime.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Checks a tool's {@code structuredContent} against the {@code outputSchema} the server declared,
 * with the same validator as the tools' arguments (networknt, draft 2020-12): a server whose answer
 * contradicts its own schema gets its call refused, with the reason. (The SDK's own validator needs
 * another major version of the same library.)
 */
final class McpSchemaValidator implements JsonSchemaValidator {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

  @Override
  public ValidationResponse validate(Map<String, Object> schema, Object structuredContent) {
    try {
      JsonNode content = MAPPER.valueToTree(structuredContent);
      var problems = FACTORY.getSchema(MAPPER.valueToTree(schema)).validate(content);
      if (problems.isEmpty()) {
        return ValidationResponse.asValid(content.toString());
      }
      return ValidationResponse.asInvalid(
          "structuredContent does not match the tool's outputSchema: "
              + problems.stream()
                  .map(ValidationMessage::getMessage)
                  .sorted()
                  .limit(5)
                  .collect(Collectors.joining("; ")));
    } catch (RuntimeException e) {
      return ValidationResponse.asInvalid(
          "the tool's outputSchema cannot be used: " + e.getMessage());
    } catch (StackOverflowError e) {
      // The validator follows a $ref that leads back to itself ({"$ref": ""}) without end: found by
      // McpSchemaValidatorFuzzTest. The server chose the schema; its call is refused, the thread
      // lives.
      return ValidationResponse.asInvalid(
          "the tool's outputSchema cannot be used: its $ref refers to itself without end");
    }
  }
}
