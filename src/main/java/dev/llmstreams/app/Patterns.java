package dev.llmstreams.app;

import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.tools.ToolsModule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The patterns this build can run. The others named in the config arrive with their own issues. */
final class Patterns {
  /**
   * Each start gets fresh module instances: a module may hold what its topology opened (clients,
   * pools).
   */
  private static final Map<String, Supplier<PatternModule>> AVAILABLE = new LinkedHashMap<>();

  static {
    register("gateway", GatewayModule::new);
    register("controller", dev.llmstreams.controller.ControllerModule::new);
    register("summarizer", SummarizerModule::new);
    register("tools", ToolsModule::new);
    register("specialist", dev.llmstreams.specialist.SpecialistModule::new);
  }

  private Patterns() {}

  private static void register(String name, Supplier<PatternModule> module) {
    AVAILABLE.put(name, module);
  }

  /** The patterns' names, in the order the runner starts them. */
  static java.util.Set<String> names() {
    return java.util.Collections.unmodifiableSet(AVAILABLE.keySet());
  }

  static boolean available(String name) {
    return AVAILABLE.containsKey(name);
  }

  /**
   * The modules for the requested names; an explicit request for one this build lacks is an error.
   */
  static List<PatternModule> select(List<String> requested, boolean explicit) {
    List<PatternModule> out = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (String name : requested) {
      Supplier<PatternModule> m = AVAILABLE.get(name);
      if (m == null) {
        missing.add(name);
      } else {
        out.add(m.get());
      }
    }
    if (explicit && !missing.isEmpty()) {
      throw new Main.UserError(
          "pattern(s) " + missing + " are not in this build yet; available: " + AVAILABLE.keySet());
    }
    if (out.isEmpty()) {
      throw new Main.UserError(
          "none of the patterns "
              + requested
              + " is in this build; available: "
              + AVAILABLE.keySet());
    }
    return out;
  }

  static List<String> unavailable(List<String> requested) {
    return requested.stream().filter(n -> !AVAILABLE.containsKey(n)).toList();
  }
}
