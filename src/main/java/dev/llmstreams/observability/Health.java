package dev.llmstreams.observability;

import java.util.Map;
import java.util.TreeMap;

/**
 * Liveness and readiness of this instance. Alive: no component has failed for good. Ready: every
 * Kafka Streams instance is RUNNING and every worker is up.
 */
public record Health(Map<String, String> components, boolean alive, boolean ready) {
  public static Health of(Map<String, String> states) {
    boolean alive =
        states.values().stream()
            .noneMatch(
                s ->
                    s.equals("ERROR")
                        || s.equals("NOT_RUNNING")
                        || s.equals("PENDING_ERROR")
                        || s.equals("FAILED"));
    boolean ready =
        !states.isEmpty() && states.values().stream().allMatch(s -> s.equals("RUNNING"));
    return new Health(new TreeMap<>(states), alive, ready);
  }

  public String toJson() {
    StringBuilder sb =
        new StringBuilder("{\"alive\":")
            .append(alive)
            .append(",\"ready\":")
            .append(ready)
            .append(",\"components\":{");
    String sep = "";
    for (Map.Entry<String, String> e : components.entrySet()) {
      sb.append(sep)
          .append('"')
          .append(e.getKey())
          .append("\":\"")
          .append(e.getValue())
          .append('"');
      sep = ",";
    }
    return sb.append("}}").toString();
  }
}
