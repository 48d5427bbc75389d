package dev.llmstreams.app;

import dev.llmstreams.summarizer.SummarizerModule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The patterns this build can run. The others named in the config arrive with their own issues. */
final class Patterns {
  private static final Map<String, PatternModule> AVAILABLE = new LinkedHashMap<>();

  static {
    register(new SummarizerModule());
  }

  private Patterns() {}

  private static void register(PatternModule module) {
    AVAILABLE.put(module.name(), module);
  }

  static boolean available(String name) {
    return AVAILABLE.containsKey(name);
  }

  /** The modules for the requested names; an explicit request for one this build lacks is an error. */
  static List<PatternModule> select(List<String> requested, boolean explicit) {
    List<PatternModule> out = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (String name : requested) {
      PatternModule m = AVAILABLE.get(name);
      if (m == null) {
        missing.add(name);
      } else {
        out.add(m);
      }
    }
    if (explicit && !missing.isEmpty()) {
      throw new Main.UserError("pattern(s) " + missing + " are not in this build yet; available: " + AVAILABLE.keySet());
    }
    if (out.isEmpty()) {
      throw new Main.UserError("none of the patterns " + requested + " is in this build; available: " + AVAILABLE.keySet());
    }
    return out;
  }

  static List<String> unavailable(List<String> requested) {
    return requested.stream().filter(n -> !AVAILABLE.containsKey(n)).toList();
  }
}
