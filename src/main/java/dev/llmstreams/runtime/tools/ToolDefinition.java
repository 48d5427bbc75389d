package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.ToolSpec;

/**
 * One tool the controller may call, exactly as written in {@code topics/tools/<name>.json} (or a
 * file in {@code tools.dir}). Its calls go to topic {@code tool-calls.<name>}; any program that
 * reads that topic and answers on {@code tool-results} is its worker.
 *
 * @param parameters the JSON Schema (draft 2020-12) the arguments must match before a call is
 *     dispatched
 * @param timeoutMs how long the controller waits for a result before it sends the call once more
 *     (same callId)
 * @param requiresApproval when true a call is held until an approve record for its callId arrives
 *     on approvals
 * @param readOnly true when a call changes nothing outside the tool and reaches no outside system,
 *     so that a replay ({@code replay goals}) may run it again; optional, false when absent. The
 *     built-in {@code http_get} is not read-only (it reaches outside hosts, whose answers change
 *     over time); an MCP tool is when its server annotates it {@code readOnlyHint} and not {@code
 *     destructiveHint}.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ToolDefinition(
    String name,
    String description,
    JsonNode parameters,
    long timeoutMs,
    boolean requiresApproval,
    boolean readOnly) {

  public static final String NAME_PATTERN = "^[A-Za-z0-9_-]{1,64}$";

  public ToolDefinition {
    if (name == null || !name.matches(NAME_PATTERN)) {
      throw new IllegalArgumentException("tool name '" + name + "' must match " + NAME_PATTERN);
    }
    if (description == null || description.isBlank()) {
      throw new IllegalArgumentException("tool " + name + ": description is required");
    }
    if (parameters == null
        || !parameters.isObject()
        || !"object".equals(parameters.path("type").asText())) {
      throw new IllegalArgumentException(
          "tool " + name + ": parameters must be a JSON Schema of type object");
    }
    if (timeoutMs < 1) {
      throw new IllegalArgumentException("tool " + name + ": timeoutMs must be at least 1");
    }
  }

  /** A tool that is not read-only. */
  public ToolDefinition(
      String name,
      String description,
      JsonNode parameters,
      long timeoutMs,
      boolean requiresApproval) {
    this(name, description, parameters, timeoutMs, requiresApproval, false);
  }

  /** The tool as offered to an LLM. */
  public ToolSpec spec() {
    return new ToolSpec(name, description, parameters);
  }
}
