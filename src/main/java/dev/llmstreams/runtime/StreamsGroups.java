package dev.llmstreams.runtime;

import dev.llmstreams.config.AppConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigResource;

/**
 * What {@code group.protocol=streams} (KIP-1071) needs from the app beyond the client setting.
 *
 * <p>The broker must have streams groups: the feature {@code streams.version} at level 1 or more
 * (Kafka 4.2+; on by default on a cluster formatted by 4.2+, {@code kafka-features.sh upgrade
 * --feature streams.version=1} on an upgraded one). Without it each stream thread would fail at its
 * first heartbeat, so the app refuses to start and says why.
 *
 * <p>Under that protocol the broker, not the client, holds a group's standby replicas, session
 * timeout and heartbeat interval: Kafka Streams ignores {@code num.standby.replicas}, {@code
 * session.timeout.ms} and {@code heartbeat.interval.ms} set on the client, without a word. So that
 * the app's settings mean the same under both protocols, the app writes those it was given onto
 * each pattern's streams group at start ({@code streams.num.standby.replicas}, {@code
 * streams.session.timeout.ms}, {@code streams.heartbeat.interval.ms}), and only where the group
 * holds another value. What it was not given stays as the group has it (an operator's {@code
 * kafka-configs.sh}, else the broker's {@code group.streams.*} defaults).
 */
public final class StreamsGroups {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(StreamsGroups.class);

  /** The feature that enables streams groups on a cluster. */
  public static final String FEATURE = "streams.version";

  public static final String STANDBY_REPLICAS = "streams.num.standby.replicas";
  public static final String SESSION_TIMEOUT_MS = "streams.session.timeout.ms";
  public static final String HEARTBEAT_INTERVAL_MS = "streams.heartbeat.interval.ms";

  private StreamsGroups() {}

  public static boolean enabled(AppConfig config) {
    return "streams".equals(config.getString(AppConfig.GROUP_PROTOCOL));
  }

  /**
   * The group settings the app was given, by their group config name: the standby count when {@code
   * num.standby.replicas} is set, the session timeout and heartbeat interval when {@code
   * kafka.client.session.timeout.ms} or {@code kafka.client.heartbeat.interval.ms} is.
   */
  public static Map<String, String> wanted(AppConfig config) {
    Map<String, String> out = new LinkedHashMap<>();
    if (config.isSet(AppConfig.NUM_STANDBY_REPLICAS)) {
      out.put(STANDBY_REPLICAS, Integer.toString(config.getInt(AppConfig.NUM_STANDBY_REPLICAS)));
    }
    Map<String, Object> client = config.clientProperties();
    for (Map.Entry<String, String> e :
        Map.of(
                "session.timeout.ms",
                SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms",
                HEARTBEAT_INTERVAL_MS)
            .entrySet()) {
      Object v = client.get(e.getKey());
      if (v != null) {
        out.put(e.getValue(), v.toString().trim());
      }
    }
    return out;
  }

  /**
   * Why this cluster cannot run streams groups, or null when it can. {@code finalized} maps each
   * finalized feature to its level, as {@code Admin.describeFeatures()} reports them.
   */
  public static String unsupported(Map<String, Short> finalized) {
    Short level = finalized.get(FEATURE);
    if (level != null && level >= 1) {
      return null;
    }
    return "group.protocol=streams needs streams groups on the brokers (Kafka 4.2 or later, feature "
        + FEATURE
        + " at level 1 or more), but this cluster has "
        + (level == null ? "no " + FEATURE : FEATURE + "=" + level)
        + ". Enable it (kafka-features.sh --bootstrap-server ... upgrade --feature "
        + FEATURE
        + "=1) or set group.protocol=classic.";
  }

  /** Refuses to start on a cluster without streams groups (see {@link #unsupported}). */
  public static void requireSupported(Admin admin, Duration timeout) {
    Map<String, Short> finalized = new LinkedHashMap<>();
    try {
      Map<String, FinalizedVersionRange> features =
          admin
              .describeFeatures()
              .featureMetadata()
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
              .finalizedFeatures();
      features.forEach((name, range) -> finalized.put(name, range.maxVersionLevel()));
    } catch (ExecutionException | TimeoutException e) {
      throw new ConfigException(
          "group.protocol=streams: cannot read the cluster's features to check for streams groups: "
              + (e instanceof ExecutionException ? e.getCause() : e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConfigException("interrupted while reading the cluster's features");
    }
    String why = unsupported(finalized);
    if (why != null) {
      throw new ConfigException(why);
    }
  }

  /**
   * Why an instance under {@code protocol} cannot join one of {@code groups}, or null. Kafka moves
   * a group from one protocol to the other only while it is empty: an instance that joins a group
   * of the other kind that has members (instances of this application still running the other
   * {@code group.protocol}) is refused by the broker at every heartbeat, and each of its stream
   * threads dies. {@code listed} is what {@code Admin.listGroups()} reports.
   */
  public static String conflict(
      String protocol, Collection<GroupListing> listed, Collection<String> groups) {
    GroupType wanted = "streams".equals(protocol) ? GroupType.STREAMS : GroupType.CLASSIC;
    for (GroupListing g : listed) {
      if (!groups.contains(g.groupId()) || g.type().isEmpty() || g.type().get() == wanted) {
        continue;
      }
      GroupState state = g.groupState().orElse(GroupState.UNKNOWN);
      if (state == GroupState.EMPTY || state == GroupState.DEAD) {
        continue; // converted at the first heartbeat
      }
      GroupType other = g.type().get();
      String who =
          other == GroupType.STREAMS || other == GroupType.CLASSIC
              ? "other instances of this application run group.protocol="
                  + (other == GroupType.STREAMS ? "streams" : "classic")
                  + ". Kafka converts a group to the other protocol only while it is empty: stop"
                  + " every instance, then start them all with the same group.protocol."
              : "another application uses this group id; give this one another application.id.";
      return "group.protocol="
          + protocol
          + ", but "
          + g.groupId()
          + " is a "
          + other.toString().toLowerCase(java.util.Locale.ROOT)
          + " group with members (state "
          + state.toString().toLowerCase(java.util.Locale.ROOT)
          + "): "
          + who;
    }
    return null;
  }

  /**
   * Refuses to start when an instance could not join its groups (see {@link #conflict}). When the
   * groups cannot be listed, says so and lets the instance start: the check spares a loop of dying
   * threads, it is not what makes the app correct.
   */
  public static void requireJoinable(
      Admin admin, String protocol, Collection<String> groups, Duration timeout) {
    Collection<GroupListing> listed;
    try {
      listed = admin.listGroups().all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn(
          "cannot list the cluster's groups to check that {} can be joined under group.protocol={}"
              + " ({}); starting without the check",
          groups,
          protocol,
          String.valueOf(e instanceof ExecutionException ? e.getCause() : e));
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConfigException("interrupted while listing the cluster's groups");
    }
    String why = conflict(protocol, listed, groups);
    if (why != null) {
      throw new ConfigException(why);
    }
  }

  /** What happened to one group: the settings changed (name: old -> new), or why it failed. */
  public record Outcome(String group, Map<String, String> changed, String failure) {
    /** The command an operator runs to set what the app could not. */
    public String command(String bootstrap, Map<String, String> wanted) {
      return "kafka-configs.sh --bootstrap-server "
          + bootstrap
          + " --alter --entity-type groups --entity-name "
          + group
          + " --add-config "
          + wanted.entrySet().stream()
              .map(e -> e.getKey() + "=" + e.getValue())
              .collect(Collectors.joining(","));
    }
  }

  /**
   * Sets {@code wanted} on each group where the group holds another value (one DescribeConfigs,
   * then one IncrementalAlterConfigs of what differs). A group the app may not read or alter, or a
   * value the broker refuses (below {@code group.streams.min.session.timeout.ms}, say), is a
   * failure of that group only.
   */
  public static List<Outcome> apply(
      Admin admin, Collection<String> groups, Map<String, String> wanted, Duration timeout) {
    List<Outcome> out = new ArrayList<>();
    if (wanted.isEmpty()) {
      return out;
    }
    for (String group : groups) {
      ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
      try {
        Config current =
            admin
                .describeConfigs(List.of(resource))
                .all()
                .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .get(resource);
        Map<String, String> changed = new LinkedHashMap<>();
        List<AlterConfigOp> ops = new ArrayList<>();
        wanted.forEach(
            (name, value) -> {
              ConfigEntry entry = current == null ? null : current.get(name);
              String now = entry == null ? null : entry.value();
              if (!value.equals(now)) {
                changed.put(name, (now == null ? "unset" : now) + " -> " + value);
                ops.add(new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET));
              }
            });
        if (!ops.isEmpty()) {
          admin
              .incrementalAlterConfigs(Map.of(resource, ops))
              .all()
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        out.add(new Outcome(group, changed, null));
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        out.add(
            new Outcome(
                group,
                Map.of(),
                cause.getMessage() == null
                    ? cause.getClass().getSimpleName()
                    : cause.getClass().getSimpleName() + ": " + cause.getMessage()));
      } catch (TimeoutException e) {
        out.add(new Outcome(group, Map.of(), "no answer within " + timeout.toMillis() + " ms"));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        out.add(new Outcome(group, Map.of(), "interrupted"));
        break;
      }
    }
    return out;
  }
}
