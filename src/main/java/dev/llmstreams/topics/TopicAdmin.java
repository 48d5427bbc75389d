package dev.llmstreams.topics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Makes a cluster match the catalog: creates missing topics and reports drift (partitions, configs)
 * without deleting, shrinking or re-partitioning anything: adding partitions to a keyed topic moves
 * keys, so that stays a person's decision.
 */
public final class TopicAdmin {
  public enum Action {
    CREATED,
    WOULD_CREATE,
    OK,
    DRIFT
  }

  /** One line of the report. */
  public record Change(String topic, Action action, String detail) {
    @Override
    public String toString() {
      return String.format("%-13s %-28s %s", action, topic, detail);
    }
  }

  private final Admin admin;
  private final short defaultReplication;

  /**
   * {@code defaultReplication} is used where a catalog entry leaves it open; -1 means the broker's
   * default.
   */
  public TopicAdmin(Admin admin, short defaultReplication) {
    this.admin = admin;
    this.defaultReplication = defaultReplication;
  }

  public List<Change> apply(Collection<TopicSpec> specs, boolean dryRun)
      throws ExecutionException, InterruptedException {
    Set<String> existing = admin.listTopics().names().get();
    List<Change> changes = new ArrayList<>();
    List<NewTopic> toCreate = new ArrayList<>();
    List<TopicSpec> present = new ArrayList<>();
    for (TopicSpec spec : specs) {
      if (existing.contains(spec.name())) {
        present.add(spec);
      } else {
        toCreate.add(newTopic(spec));
        changes.add(
            new Change(
                spec.name(),
                dryRun ? Action.WOULD_CREATE : Action.CREATED,
                spec.partitions()
                    + " partitions, replication "
                    + replicationText(spec)
                    + ", "
                    + spec.configs()));
      }
    }
    if (!dryRun && !toCreate.isEmpty()) {
      for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e :
          admin.createTopics(toCreate).values().entrySet()) {
        try {
          e.getValue().get();
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw ex;
          }
          // The listing did not show it yet (a topic created a moment ago, by this command or
          // another): it exists, so it is reported as present, with its drift, not as created.
          changes.removeIf(c -> c.topic().equals(e.getKey()));
          specs.stream().filter(spec -> spec.name().equals(e.getKey())).forEach(present::add);
        }
      }
      // Returns once the broker's metadata shows the new topics: an app started right after
      // (a global table's thread asks for its topic's partitions once, at start) must find them.
      describe(toCreate.stream().map(NewTopic::name).toList());
    }
    if (!present.isEmpty()) {
      changes.addAll(drift(present));
    }
    return changes;
  }

  /**
   * The topics' descriptions; a topic the controller has but this broker's metadata does not show
   * yet (created a moment ago) is asked for again, for up to five seconds.
   */
  private Map<String, TopicDescription> describe(List<String> names)
      throws ExecutionException, InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        return admin.describeTopics(names).allTopicNames().get();
      } catch (ExecutionException e) {
        if (!(e.getCause()
                instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
            || attempt >= 25) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  private List<Change> drift(List<TopicSpec> specs)
      throws ExecutionException, InterruptedException {
    List<String> names = specs.stream().map(TopicSpec::name).toList();
    Map<String, TopicDescription> descriptions = describe(names);
    Map<ConfigResource, Config> configs =
        admin
            .describeConfigs(
                names.stream().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList())
            .all()
            .get();
    List<Change> changes = new ArrayList<>();
    for (TopicSpec spec : specs) {
      List<String> problems = new ArrayList<>();
      int actualPartitions = descriptions.get(spec.name()).partitions().size();
      if (actualPartitions != spec.partitions()) {
        problems.add("partitions " + actualPartitions + " (catalog " + spec.partitions() + ")");
      }
      Config actual = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
      for (Map.Entry<String, String> want : spec.configs().entrySet()) {
        String have =
            Optional.ofNullable(actual.get(want.getKey())).map(ConfigEntry::value).orElse(null);
        if (!want.getValue().equals(have)) {
          problems.add(want.getKey() + "=" + have + " (catalog " + want.getValue() + ")");
        }
      }
      changes.add(
          problems.isEmpty()
              ? new Change(spec.name(), Action.OK, actualPartitions + " partitions")
              : new Change(spec.name(), Action.DRIFT, String.join("; ", problems)));
    }
    return changes;
  }

  private NewTopic newTopic(TopicSpec spec) {
    Optional<Short> rf =
        Optional.ofNullable(spec.replicationFactor())
            .or(() -> defaultReplication > 0 ? Optional.of(defaultReplication) : Optional.empty());
    return new NewTopic(spec.name(), Optional.of(spec.partitions()), rf).configs(spec.configs());
  }

  private String replicationText(TopicSpec spec) {
    if (spec.replicationFactor() != null) {
      return spec.replicationFactor().toString();
    }
    return defaultReplication > 0 ? Short.toString(defaultReplication) : "broker default";
  }

  /** Names of catalog topics missing from a listing of the cluster's topics. */
  public static Set<String> missing(Collection<TopicSpec> specs, Set<String> existing) {
    return specs.stream()
        .map(TopicSpec::name)
        .filter(n -> !existing.contains(n))
        .collect(Collectors.toSet());
  }
}
