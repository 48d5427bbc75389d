package dev.llmstreams.app;

import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.streams.TopologyDescription;

/**
 * The partition counts a cluster really has, read once at start. The topologies place keyed records
 * by them (see {@link KeyedInput}), so an input topic created outside {@code topics apply} with
 * another count than the catalog's still reaches its keys' state; what it costs is said in a
 * warning, and what cannot work (state that would have to move to another number of partitions)
 * refuses to start with the fix.
 */
final class InputPartitions {
  private InputPartitions() {}

  /** The catalog with the counts the cluster has for the catalog topics among {@code existing}. */
  static TopicCatalog resolve(Admin admin, TopicCatalog catalog, Set<String> existing)
      throws ExecutionException, InterruptedException {
    List<String> names = catalog.names().stream().filter(existing::contains).toList();
    if (names.isEmpty()) {
      return catalog;
    }
    Map<String, Integer> counts = new TreeMap<>();
    admin
        .describeTopics(names)
        .allTopicNames()
        .get()
        .forEach((n, d) -> counts.put(n, d.partitions().size()));
    return catalog.withPartitions(counts);
  }

  /**
   * For each part of a topology that reads several catalog topics by key into one state: the topics
   * with fewer partitions than the largest, whose records are mostly re-routed (one more hop each),
   * with what to do about it.
   */
  static List<String> warnings(String pattern, TopologyDescription topology, TopicCatalog catalog) {
    List<String> out = new ArrayList<>();
    for (TopologyDescription.Subtopology sub : topology.subtopologies()) {
      Map<String, Integer> counts = catalogSources(sub, catalog);
      int max = counts.values().stream().mapToInt(Integer::intValue).max().orElse(0);
      List<String> fewer =
          counts.entrySet().stream()
              .filter(e -> e.getValue() < max)
              .map(e -> e.getKey() + " has " + e.getValue())
              .toList();
      if (!fewer.isEmpty()) {
        out.add(
            String.format(
                "pattern %s reads %s by key into one state kept in %d partitions, but %s: records of"
                    + " those topics that are not on their key's partition take one more hop, through an internal"
                    + " re-route topic (counted in llmstreams_records_rerouted_total); add partitions to them"
                    + " (kafka-topics --alter --partitions %d) to read them directly",
                pattern, counts.keySet(), max, String.join(", ", fewer), max));
      }
    }
    return out;
  }

  /**
   * Refuses to start when a store's changelog already has another number of partitions than the
   * tasks that would now use it: its state cannot move, and Kafka Streams would stop every thread
   * at the first rebalance.
   */
  static void requireStateFits(
      Admin admin,
      Set<String> existing,
      String pattern,
      String applicationId,
      TopologyDescription topology,
      TopicCatalog catalog)
      throws ExecutionException, InterruptedException {
    // Each changelog that exists, with the catalog inputs of its sub-topology: as many tasks as the
    // largest has.
    Map<String, Map<String, Integer>> inputsOf = new TreeMap<>();
    for (TopologyDescription.Subtopology sub : topology.subtopologies()) {
      Map<String, Integer> counts = catalogSources(sub, catalog);
      if (counts.isEmpty()) {
        continue; // fed by repartition topics only, whose counts Kafka Streams keeps
      }
      for (TopologyDescription.Node node : sub.nodes()) {
        if (node instanceof TopologyDescription.Processor p) {
          for (String store : p.stores()) {
            String changelog = applicationId + "-" + store + "-changelog";
            if (existing.contains(changelog)) {
              inputsOf.put(changelog, counts);
            }
          }
        }
      }
    }
    if (inputsOf.isEmpty()) {
      return;
    }
    Map<String, TopicDescription> actual =
        admin.describeTopics(inputsOf.keySet()).allTopicNames().get();
    for (Map.Entry<String, Map<String, Integer>> e : inputsOf.entrySet()) {
      String changelog = e.getKey();
      int has = actual.get(changelog).partitions().size();
      int wants = e.getValue().values().stream().mapToInt(Integer::intValue).max().getAsInt();
      if (has != wants) {
        throw new Main.UserError(
            String.format(
                "pattern %s keeps its state in %d partitions (changelog %s), but its"
                    + " inputs now have up to %d (%s): Kafka Streams cannot move state to another number of partitions."
                    + " Give the inputs %d partitions again (recreate the larger ones), or reset the application"
                    + " (kafka-streams-application-reset --application-id %s) to start over with empty state",
                pattern, has, changelog, wants, e.getValue(), has, applicationId));
      }
    }
  }

  /**
   * The catalog topics a sub-topology reads, with their counts (its re-route and other internal
   * topics left out).
   */
  private static Map<String, Integer> catalogSources(
      TopologyDescription.Subtopology sub, TopicCatalog catalog) {
    Map<String, Integer> counts = new TreeMap<>();
    for (TopologyDescription.Node node : sub.nodes()) {
      if (node instanceof TopologyDescription.Source source && source.topicSet() != null) {
        for (String topic : source.topicSet()) {
          catalog.byName(topic).map(TopicSpec::partitions).ifPresent(n -> counts.put(topic, n));
        }
      }
    }
    return counts;
  }
}
