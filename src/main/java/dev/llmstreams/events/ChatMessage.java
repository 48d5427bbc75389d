package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One message of an LLM conversation.
 *
 * @param content the text; may be absent only on an assistant message that carries toolCalls
 * @param toolCallId on a {@code tool} message: the id of the tool call it answers
 * @param toolCalls on an {@code assistant} message: the tool calls the model made
 */
public record ChatMessage(
    Role role, String content, String toolCallId, List<ToolCallRequest> toolCalls) {

  public enum Role {
    @JsonProperty("system")
    SYSTEM,
    @JsonProperty("user")
    USER,
    @JsonProperty("assistant")
    ASSISTANT,
    @JsonProperty("tool")
    TOOL
  }

  public ChatMessage {
    Require.present(role, "role");
    toolCalls = Require.list(toolCalls, "toolCalls");
    if (content == null) {
      Require.check(
          role == Role.ASSISTANT && !toolCalls.isEmpty(),
          "field \"content\" is required (only an assistant message with toolCalls may omit it)");
    }
    if (role == Role.TOOL) {
      Require.text(toolCallId, "toolCallId");
    }
  }

  public static ChatMessage system(String content) {
    return new ChatMessage(Role.SYSTEM, content, null, List.of());
  }

  public static ChatMessage user(String content) {
    return new ChatMessage(Role.USER, content, null, List.of());
  }
}
