package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A tool offered to an LLM.
 *
 * @param parameters the JSON Schema (an object) of the tool's arguments
 */
public record ToolSpec(String name, String description, JsonNode parameters) {
  public ToolSpec {
    Require.text(name, "name");
    Require.text(description, "description");
    Require.present(parameters, "parameters");
    Require.check(
        parameters.isObject(), "field \"parameters\" must be a JSON object (a JSON Schema)");
  }
}
