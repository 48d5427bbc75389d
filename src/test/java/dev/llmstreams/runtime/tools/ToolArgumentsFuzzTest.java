package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Coverage-guided fuzzing of tool-argument validation ({@link ToolRegistry#validate} against a
 * tool's JSON Schema, {@link ToolDefinition}): the arguments of an LLM's tool call, and a tool's
 * definition from {@code tools.dir} or an MCP server's {@code tools/list}.
 *
 * <p>Input: byte 0 picks what to fuzz; the rest is JSON text. Byte 0 below 0x80: the arguments of
 * the built-in tool number {@code byte0 % count} (and, for a valid calculator call, the calculator
 * runs them). From 0x80: a tool definition's {@code parameters}, compiled into a registry and used
 * to validate {@code {}} and itself. Contract:
 *
 * <ul>
 *   <li>clean: JSON that does not parse is an IOException of the shared reader (the LLM reply
 *       carrying it is dead-lettered before validation); validation returns a list of problems;
 *       {@link ToolDefinition} refuses what is not an object schema with IllegalArgumentException,
 *       and the registry a schema it cannot compile with IllegalStateException; the calculator
 *       answers or throws {@link ToolException}.
 *   <li>anything else is a finding: another exception (from the validator or the compiler), an
 *       Error, a hang.
 * </ul>
 */
class ToolArgumentsFuzzTest {
  private static final ToolRegistry BUILT_IN = ToolRegistry.load(null);
  private static final List<String> TOOLS = List.copyOf(BUILT_IN.names());

  @FuzzTest
  @DictionaryEntries({
    "\"expression\"",
    "\"url\"",
    "\"type\"",
    "\"object\"",
    "\"string\"",
    "\"properties\"",
    "\"required\"",
    "\"pattern\"",
    "\"format\"",
    "\"enum\"",
    "\"$ref\"",
    "\"$defs\"",
    "\"#/$defs/a\"",
    "\"minLength\"",
    "\"maxItems\"",
    "\"additionalProperties\""
  })
  void validate(byte[] data) {
    if (data.length == 0) {
      return;
    }
    JsonNode json;
    try {
      json = Json.reader().readTree(Arrays.copyOfRange(data, 1, data.length));
    } catch (IOException notJson) {
      return;
    }
    if (Byte.toUnsignedInt(data[0]) < 0x80) {
      String tool = TOOLS.get(data[0] % TOOLS.size());
      List<String> problems = BUILT_IN.validate(tool, json);
      assertThat(problems).isNotNull();
      if (problems.isEmpty() && tool.equals("calculator")) {
        try {
          assertThat(new Calculator().execute(json, Duration.ofSeconds(1)).result()).isNotNull();
        } catch (ToolException refused) {
          assertThat(refused.getMessage()).isNotBlank();
        }
      }
      return;
    }
    ToolDefinition definition;
    try {
      definition = new ToolDefinition("fuzzed", "a fuzzed tool", json, 1000, false);
    } catch (IllegalArgumentException notAnObjectSchema) {
      return;
    }
    ToolRegistry registry;
    try {
      registry = new ToolRegistry(List.of(definition));
    } catch (IllegalStateException notASchema) {
      return;
    }
    assertThat(registry.validate("fuzzed", Json.tree("{}"))).isNotNull();
    assertThat(registry.validate("fuzzed", json)).isNotNull();
  }
}
