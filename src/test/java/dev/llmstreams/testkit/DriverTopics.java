package dev.llmstreams.testkit;

import dev.llmstreams.topics.Topic;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/** Catalog topics on a {@link TopologyTestDriver}, with their own serdes. */
public final class DriverTopics {
  private DriverTopics() {}

  public static <V> TestInputTopic<String, V> input(TopologyTestDriver driver, Topic<V> topic) {
    return driver.createInputTopic(
        topic.name(), topic.keySerde().serializer(), topic.valueSerde().serializer());
  }

  public static <V> TestOutputTopic<String, V> output(TopologyTestDriver driver, Topic<V> topic) {
    return driver.createOutputTopic(
        topic.name(), topic.keySerde().deserializer(), topic.valueSerde().deserializer());
  }

  /** The last value of a header as text, or null. */
  public static String header(Headers headers, String name) {
    var h = headers.lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
