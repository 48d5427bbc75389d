package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A tool call an LLM asked for in a reply (or that an assistant message replays in a conversation).
 *
 * @param id the provider's id of the call; a later {@code tool} message answers it with toolCallId
 * @param arguments the arguments as the model wrote them, parsed to JSON
 */
public record ToolCallRequest(String id, String name, JsonNode arguments) {
  public ToolCallRequest {
    Require.text(id, "id");
    Require.text(name, "name");
    Require.present(arguments, "arguments");
  }
}
