package dev.llmstreams.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * What a CPU sample of a thread was doing, by the code it was in: the stack is walked from the leaf
 * towards the root and the first frame whose class belongs to a known category names it (JDK
 * frames, {@code java.}, {@code javax.}, {@code jdk.}, {@code sun.}, are skipped, so a sample in
 * {@code HashMap.put} called from RocksDB's store counts for the store). A sample with no such
 * frame is {@link #OTHER}.
 */
final class SampleAttribution {
  static final String SERIALIZATION = "serialization (JSON)";
  static final String STATE_STORES = "state stores (RocksDB, changelog)";
  static final String PRODUCER = "producer, record batches and transactions";
  static final String CONSUMER = "consumer (fetch, deserialization of batches)";
  static final String STREAMS = "Kafka Streams runtime";
  static final String METERS = "meters";
  static final String TRACING = "tracing";
  static final String LOGIC = "llm-streams logic";
  static final String OTHER = "other";

  /**
   * Class name prefixes and their category, the first that matches wins: the state stores and the
   * producer before the rest of Kafka Streams and Kafka's clients, since they are inside them.
   */
  private static final List<Map.Entry<String, String>> PREFIXES =
      List.of(
          Map.entry("com.fasterxml.jackson.", SERIALIZATION),
          Map.entry("org.rocksdb.", STATE_STORES),
          Map.entry("org.apache.kafka.streams.state.", STATE_STORES),
          Map.entry("org.apache.kafka.clients.producer.", PRODUCER),
          Map.entry("org.apache.kafka.common.record.", PRODUCER),
          Map.entry("org.apache.kafka.common.compress.", PRODUCER),
          Map.entry("com.github.luben.zstd.", PRODUCER),
          Map.entry("org.xerial.snappy.", PRODUCER),
          Map.entry("net.jpountz.lz4.", PRODUCER),
          Map.entry("org.apache.kafka.clients.consumer.", CONSUMER),
          Map.entry("org.apache.kafka.streams.", STREAMS),
          Map.entry("io.micrometer.", METERS),
          Map.entry("io.opentelemetry.", TRACING),
          Map.entry("dev.llmstreams.observability.tracing.", TRACING),
          Map.entry("dev.llmstreams.", LOGIC));

  private static final List<String> JDK = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.");

  /** Every category in the order a report lists them. */
  static final List<String> CATEGORIES =
      List.of(
          SERIALIZATION, STATE_STORES, PRODUCER, CONSUMER, STREAMS, METERS, TRACING, LOGIC, OTHER);

  private SampleAttribution() {}

  /**
   * The category of one sample.
   *
   * @param classesLeafFirst the class of each frame of the sample's stack, the executing frame
   *     first
   */
  static String category(List<String> classesLeafFirst) {
    for (String type : classesLeafFirst) {
      if (JDK.stream().anyMatch(type::startsWith)) {
        continue;
      }
      for (Map.Entry<String, String> p : PREFIXES) {
        if (type.startsWith(p.getKey())) {
          return p.getValue();
        }
      }
    }
    return OTHER;
  }

  /**
   * Samples per thread group and category: every {@code jdk.ExecutionSample} of a JFR recording
   * whose thread {@code groupOf} places in a group (non-null), counted under its stack's category.
   * Groups and categories without samples are left out.
   */
  static Map<String, Map<String, Long>> tally(Path jfr, Function<String, String> groupOf)
      throws IOException {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    try (RecordingFile file = new RecordingFile(jfr)) {
      while (file.hasMoreEvents()) {
        RecordedEvent e = file.readEvent();
        if (!"jdk.ExecutionSample".equals(e.getEventType().getName())) {
          continue;
        }
        RecordedThread thread = e.getThread("sampledThread");
        RecordedStackTrace stack = e.getStackTrace();
        String group = thread == null ? null : groupOf.apply(thread.getJavaName());
        if (group == null || stack == null) {
          continue;
        }
        List<String> classes = new ArrayList<>();
        for (RecordedFrame f : stack.getFrames()) {
          if (f.getMethod() != null && f.getMethod().getType() != null) {
            classes.add(f.getMethod().getType().getName());
          }
        }
        out.computeIfAbsent(group, g -> new LinkedHashMap<>())
            .merge(category(classes), 1L, Long::sum);
      }
    }
    return out;
  }
}
