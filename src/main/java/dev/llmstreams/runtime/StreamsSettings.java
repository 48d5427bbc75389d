package dev.llmstreams.runtime;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;

/** The Kafka Streams settings every pattern runs with. */
public final class StreamsSettings {
  /**
   * Outputs such as a summary of a 10 MB document may be large; the broker's topic limits still
   * apply.
   */
  public static final int MAX_REQUEST_BYTES = 32 * 1024 * 1024;

  private StreamsSettings() {}

  // processing.exception.handler.global.enabled is deprecated (it becomes the default); unset, 4.x
  // warns at start.
  @SuppressWarnings("deprecation")
  public static Properties forPattern(
      AppConfig config, TopicCatalog catalog, String pattern, MeterRegistry registry) {
    Properties props = new Properties();
    config
        .clientProperties()
        .forEach(
            (k, v) -> {
              props.put(StreamsConfig.consumerPrefix(k), v);
              props.put(StreamsConfig.producerPrefix(k), v);
              props.put(StreamsConfig.adminClientPrefix(k), v);
            });
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(config, pattern));
    props.put(
        StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
        config.getString(AppConfig.PROCESSING_GUARANTEE));
    props.put(
        StreamsConfig.STATE_DIR_CONFIG,
        Path.of(config.getString(AppConfig.STATE_DIR)).toAbsolutePath().toString());
    props.put(
        StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.getLong(AppConfig.COMMIT_INTERVAL_MS));
    // The commit (and so the visibility of outputs under exactly-once) waits for the poll to
    // return.
    props.put(StreamsConfig.POLL_MS_CONFIG, config.getLong(AppConfig.POLL_MS));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.getInt(AppConfig.NUM_STREAM_THREADS));
    // Warm copies of each stateful task on another instance: a failover resumes from them instead
    // of the changelog.
    // Under the streams protocol the group holds that count (StreamsGroups sets it there), and
    // Kafka Streams warns that the client's is ignored.
    if (!StreamsGroups.enabled(config)) {
      props.put(
          StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, config.getInt(AppConfig.NUM_STANDBY_REPLICAS));
    }
    props.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, config.getString(AppConfig.GROUP_PROTOCOL));
    props.put(
        StreamsConfig.REPLICATION_FACTOR_CONFIG,
        (int) config.getShort(AppConfig.TOPICS_REPLICATION_FACTOR));
    // A store or repartition topic with a generated name would lose its state when the topology
    // changes.
    props.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    props.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetters.OnDeserialization.class);
    props.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProcessing.class);
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    // The partition assignor rebuilds a StreamsConfig from the main consumer's settings and warns
    // without this.
    props.put(
        StreamsConfig.mainConsumerPrefix(
            StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG),
        true);
    props.put(
        StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProduction.class);
    props.put(DeadLetters.TOPIC_CONFIG, catalog.spec(TopicRole.DEAD_LETTERS).name());
    props.put(DeadLetters.REGISTRY_CONFIG, registry);
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), MAX_REQUEST_BYTES);
    // Internal topics take the largest record an input allows: a 10 MB document re-routed to its
    // key's partition
    // (KeyedInput) goes through a repartition topic, which the broker's 1 MB default would refuse.
    catalog.all().stream()
        .filter(t -> t.role() != TopicRole.DEAD_LETTERS)
        .map(
            t ->
                t.configs()
                    .get(org.apache.kafka.common.config.TopicConfig.MAX_MESSAGE_BYTES_CONFIG))
        .filter(java.util.Objects::nonNull)
        .mapToInt(Integer::parseInt)
        .max()
        .ifPresent(
            max ->
                props.put(
                    StreamsConfig.topicPrefix(
                        org.apache.kafka.common.config.TopicConfig.MAX_MESSAGE_BYTES_CONFIG),
                    Integer.toString(max)));
    props.put(StreamsConfig.consumerPrefix("max.partition.fetch.bytes"), MAX_REQUEST_BYTES);
    return props;
  }

  /**
   * A builder for a pattern's topology. Streams checks a config even while building; this one
   * carries the settings that affect building, so no misleading warning is logged and no I/O
   * happens.
   */
  // processing.exception.handler.global.enabled is deprecated (it becomes the default); unset, 4.x
  // warns at start.
  @SuppressWarnings("deprecation")
  public static StreamsBuilder newBuilder() {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-builder");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    props.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    return new StreamsBuilder(new TopologyConfig(new StreamsConfig(props)));
  }

  /**
   * Settings of a pattern someone waits on: a short commit interval, since under exactly-once each
   * hop's output is visible only after its commit, a poll no longer than it, since the commit waits
   * for the poll to return, the quiet time after which an output is committed at once ({@link
   * QuietCommits}), and no idling for input partitions that have nothing buffered.
   */
  public static java.util.Map<String, Object> interactive(AppConfig config) {
    long commit = config.getLong(AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS);
    return java.util.Map.of(
        StreamsConfig.COMMIT_INTERVAL_MS_CONFIG,
        commit,
        StreamsConfig.POLL_MS_CONFIG,
        Math.min(commit, config.getLong(AppConfig.POLL_MS)),
        QuietCommits.QUIET_MS,
        config.getLong(AppConfig.INTERACTIVE_COMMIT_QUIET_MS),
        StreamsConfig.MAX_TASK_IDLE_MS_CONFIG,
        config.getLong(AppConfig.INTERACTIVE_MAX_TASK_IDLE_MS));
  }

  public static String applicationId(AppConfig config, String pattern) {
    return config.getString(AppConfig.APPLICATION_ID) + "-" + pattern;
  }
}
