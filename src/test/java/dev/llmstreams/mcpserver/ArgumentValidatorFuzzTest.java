package dev.llmstreams.mcpserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolRegistry;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the MCP server's argument check ({@link ArgumentValidator}): the
 * {@code arguments} of a {@code tools/call} from any MCP client, against a tool's {@code
 * inputSchema}.
 *
 * <p>Input: byte 0 picks the schema (the built-in tools' parameter schemas, modulo their number);
 * the rest is the arguments as JSON, parsed as the SDK does (a plain Jackson mapper, to maps and
 * lists). Contract:
 *
 * <ul>
 *   <li>clean: a validation response, valid or invalid with a reason; the validator catches its own
 *       runtime exceptions and answers invalid.
 *   <li>anything else is a finding: an exception out of {@code validate}, a null response, an
 *       invalid response without a reason, an Error, a hang.
 * </ul>
 */
class ArgumentValidatorFuzzTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final ArgumentValidator VALIDATOR = new ArgumentValidator();

  @SuppressWarnings("unchecked")
  private static final List<Map<String, Object>> SCHEMAS =
      ToolRegistry.builtIn().stream()
          .map(ToolDefinition::parameters)
          .map(p -> (Map<String, Object>) MAPPER.convertValue(p, Map.class))
          .toList();

  @FuzzTest
  @DictionaryEntries({"\"expression\"", "\"url\"", "\"topic\"", "\"text\"", "\"http://\""})
  void validate(byte[] data) {
    if (data.length == 0) {
      return;
    }
    Map<String, Object> schema = SCHEMAS.get(Byte.toUnsignedInt(data[0]) % SCHEMAS.size());
    Object arguments;
    try {
      arguments = MAPPER.readValue(Arrays.copyOfRange(data, 1, data.length), Object.class);
    } catch (IOException notJson) {
      return; // the SDK refuses it before any tool sees it
    }
    var response = VALIDATOR.validate(schema, arguments);
    assertThat(response).isNotNull();
    if (!response.valid()) {
      assertThat(response.errorMessage()).isNotBlank();
    }
  }
}
