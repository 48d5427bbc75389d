package dev.llmstreams.observability;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.LagInfo;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;

/**
 * {@code GET /tasks}: how each pattern's work is spread, as this instance's Kafka Streams clients
 * know it. Per pattern: its state; this instance's stream threads with their active and standby
 * tasks (each with its input partitions); how far each local store partition is behind its
 * changelog (a standby about to take over, or a task restoring); and every instance of the
 * application with the partitions it runs and keeps standbys of (from the group's assignment, the
 * {@code application.server} each instance advertises). The same under either {@code
 * group.protocol}: what {@code kafka-streams-groups.sh --describe} would show, without a broker
 * admin.
 */
public final class TaskView {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private TaskView() {}

  /** The view of every pattern, by name. */
  public static ObjectNode of(Map<String, KafkaStreams> streams, String self, String protocol) {
    ObjectNode out = JSON.objectNode();
    out.put("instance", self);
    out.put("groupProtocol", protocol);
    ObjectNode patterns = out.putObject("patterns");
    new TreeMap<>(streams).forEach((name, ks) -> patterns.set(name, pattern(ks)));
    return out;
  }

  static ObjectNode pattern(KafkaStreams ks) {
    ObjectNode p = JSON.objectNode();
    p.put("state", ks.state().name());
    // Each part is read on its own: a client that is not running (ERROR, shutting down) refuses
    // some of them, and the view then says why rather than failing when it is needed most.
    part(
        p,
        "threads",
        () -> {
          ArrayNode threads = JSON.arrayNode();
          ks.metadataForLocalThreads().stream()
              .sorted(Comparator.comparing(ThreadMetadata::threadName))
              .forEach(
                  t -> {
                    ObjectNode thread = threads.addObject();
                    thread.put("name", t.threadName());
                    thread.put("state", t.threadState());
                    thread.set("active", tasks(t.activeTasks()));
                    thread.set("standby", tasks(t.standbyTasks()));
                  });
          return threads;
        });
    part(
        p,
        "storeLag",
        () -> {
          ObjectNode stores = JSON.objectNode();
          new TreeMap<>(ks.allLocalStorePartitionLags())
              .forEach(
                  (store, byPartition) -> {
                    ObjectNode s = stores.putObject(store);
                    new TreeMap<>(byPartition)
                        .forEach((partition, lag) -> s.set(Integer.toString(partition), lag(lag)));
                  });
          return stores;
        });
    part(
        p,
        "instances",
        () -> {
          ArrayNode instances = JSON.arrayNode();
          ks.metadataForAllStreamsClients().stream()
              .sorted(Comparator.comparing(m -> m.hostInfo().host() + ":" + m.hostInfo().port()))
              .forEach(m -> instances.add(instance(m)));
          return instances;
        });
    return p;
  }

  /** Sets {@code field} to what {@code read} gives, or {@code <field>Error} to why it could not. */
  private static void part(
      ObjectNode p,
      String field,
      java.util.function.Supplier<com.fasterxml.jackson.databind.JsonNode> read) {
    try {
      p.set(field, read.get());
    } catch (RuntimeException e) {
      p.put(field + "Error", e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  private static ArrayNode tasks(Collection<TaskMetadata> tasks) {
    ArrayNode out = JSON.arrayNode();
    tasks.stream()
        .sorted(Comparator.comparing(TaskMetadata::taskId))
        .forEach(
            t -> {
              ObjectNode task = out.addObject();
              task.put("id", t.taskId().toString());
              task.set("partitions", partitions(t.topicPartitions()));
            });
    return out;
  }

  private static ObjectNode lag(LagInfo lag) {
    ObjectNode out = JSON.objectNode();
    out.put("position", lag.currentOffsetPosition());
    out.put("end", lag.endOffsetPosition());
    out.put("lag", lag.offsetLag());
    return out;
  }

  private static ObjectNode instance(StreamsMetadata m) {
    ObjectNode out = JSON.objectNode();
    out.put("host", m.hostInfo().host() + ":" + m.hostInfo().port());
    out.set("active", partitions(m.topicPartitions()));
    out.set("standby", partitions(m.standbyTopicPartitions()));
    return out;
  }

  private static ArrayNode partitions(Set<TopicPartition> partitions) {
    ArrayNode out = JSON.arrayNode();
    partitions.stream()
        .sorted(
            Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition))
        .forEach(tp -> out.add(tp.topic() + "-" + tp.partition()));
    return out;
  }
}
