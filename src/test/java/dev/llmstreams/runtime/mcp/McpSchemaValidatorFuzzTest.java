package dev.llmstreams.runtime.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the check of an MCP server's answers ({@link McpSchemaValidator}): a
 * server we call declares an {@code outputSchema} and returns {@code structuredContent}; both are
 * the server's to choose, so both are fuzzed.
 *
 * <p>Input: the schema as JSON, a newline, the content as JSON; both parsed as the SDK does (a
 * plain Jackson mapper). Contract:
 *
 * <ul>
 *   <li>clean: a validation response, valid or invalid with a reason (a schema that cannot be
 *       compiled is an invalid response, not an exception).
 *   <li>anything else is a finding: an exception out of {@code validate}, a null response, an
 *       Error, a hang.
 * </ul>
 */
class McpSchemaValidatorFuzzTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final McpSchemaValidator VALIDATOR = new McpSchemaValidator();

  @FuzzTest
  @DictionaryEntries({
    "\"type\"",
    "\"object\"",
    "\"properties\"",
    "\"required\"",
    "\"pattern\"",
    "\"$ref\"",
    "\"$defs\"",
    "\"#/$defs/a\"",
    "\"items\"",
    "\"anyOf\"",
    "\"format\""
  })
  @SuppressWarnings("unchecked")
  void validate(byte[] data) {
    int newline = 0;
    while (newline < data.length && data[newline] != '\n') {
      newline++;
    }
    Map<String, Object> schema;
    Object content;
    try {
      schema = MAPPER.readValue(Arrays.copyOfRange(data, 0, newline), Map.class);
      content =
          MAPPER.readValue(
              Arrays.copyOfRange(data, Math.min(newline + 1, data.length), data.length),
              Object.class);
    } catch (IOException notJson) {
      return; // the SDK refuses a reply that is not JSON
    }
    if (schema == null) {
      return; // no outputSchema: the SDK does not validate
    }
    var response = VALIDATOR.validate(schema, content);
    assertThat(response).isNotNull();
    if (!response.valid()) {
      assertThat(response.errorMessage()).isNotBlank();
    }
  }
}
