package dev.llmstreams.controller;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.tools.Calculator;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolRegistry;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.kafka.common.config.ConfigException;

/**
 * The tools the controller answers itself ({@code controller.inline.tools}), inside the transaction
 * of the step that called them: the result, its goal-events and the next LLM request commit
 * together, so such a step costs one exactly-once hop (the LLM's) instead of three, and no
 * tool-calls or tool-results record. Only pure built-in tools qualify: no effects (a repeat after
 * an aborted transaction changes nothing outside it), no approval, no I/O, bounded work.
 */
final class InlineTools {
  /** The built-in tools that may run inline, and how to make each. */
  static final Map<String, Supplier<Tool>> PURE = Map.of("calculator", Calculator::new);

  static final InlineTools NONE = new InlineTools(Map.of());

  private final Map<String, Tool> tools;

  private InlineTools(Map<String, Tool> tools) {
    this.tools = Map.copyOf(tools);
  }

  /**
   * The tools of {@code controller.inline.tools}; a name that is not a pure built-in tool, or whose
   * definition asks for approval or is not read-only, is a configuration error.
   */
  static InlineTools from(AppConfig config, ToolRegistry registry) {
    return of(config.getList(AppConfig.CONTROLLER_INLINE_TOOLS), registry);
  }

  static InlineTools of(List<String> names, ToolRegistry registry) {
    Map<String, Tool> tools = new TreeMap<>();
    for (String name : names) {
      Supplier<Tool> make = PURE.get(name);
      ToolDefinition definition = registry.find(name).orElse(null);
      String why =
          make == null
              ? "it is not a pure built-in tool (those are " + PURE.keySet() + ")"
              : definition == null
                  ? "it has no definition in the tool registry"
                  : definition.requiresApproval()
                      ? "its definition requires approval"
                      : !definition.readOnly() ? "its definition is not readOnly" : null;
      if (why != null) {
        throw new ConfigException(
            AppConfig.CONTROLLER_INLINE_TOOLS,
            String.join(",", names),
            "the controller cannot answer " + name + " itself: " + why);
      }
      tools.put(name, make.get());
    }
    return new InlineTools(tools);
  }

  /** Whether the controller answers calls of {@code tool} itself. */
  boolean answers(String tool) {
    return tools.containsKey(tool);
  }

  Tool get(String tool) {
    return tools.get(tool);
  }
}
