package dev.llmstreams.testkit;

import dev.llmstreams.config.AppConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * {@link TopologyTestDriver}s whose state lives in a folder of this JVM's own when the test did not
 * choose one: the app's default state dir ({@code .llm-streams/state}, relative to the working
 * folder) and Kafka's ({@code /tmp/kafka-streams}) are shared by every JVM, and two test JVMs
 * ({@code -Dsurefire.forkCount=2}) driving one pattern's topology at once would lock each other out
 * of the same task folders. A state dir the test set itself is kept, so a test that restarts a
 * driver on the same state still finds it.
 */
public final class TestDrivers {
  private static final String SHARED_DEFAULT =
      Path.of(AppConfig.of(Map.of()).getString(AppConfig.STATE_DIR)).toAbsolutePath().toString();
  private static final Path OWN =
      Path.of("target", "test-state", "jvm-" + ProcessHandle.current().pid()).toAbsolutePath();

  private TestDrivers() {}

  public static TopologyTestDriver create(Topology topology, Properties props) {
    return new TopologyTestDriver(topology, ownStateDir(props));
  }

  public static TopologyTestDriver create(
      Topology topology, Properties props, Instant initialWallClockTime) {
    return new TopologyTestDriver(topology, ownStateDir(props), initialWallClockTime);
  }

  /** {@code props}, or a copy with this JVM's state dir when they name none or the shared one. */
  static Properties ownStateDir(Properties props) {
    String dir = props.getProperty(StreamsConfig.STATE_DIR_CONFIG);
    if (dir != null && !dir.equals(SHARED_DEFAULT)) {
      return props;
    }
    Properties copy = new Properties();
    copy.putAll(props);
    copy.put(StreamsConfig.STATE_DIR_CONFIG, OWN.toString());
    return copy;
  }
}
