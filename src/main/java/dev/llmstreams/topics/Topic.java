package dev.llmstreams.topics;

import dev.llmstreams.events.JsonSerde;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** A topic with its key and value serdes: the only handle code uses to read or write a topic. */
public record Topic<V>(TopicSpec spec, Class<V> valueType, Serde<String> keySerde, Serde<V> valueSerde) {

  static <V> Topic<V> of(TopicSpec spec, Class<V> valueType) {
    return new Topic<>(spec, valueType, Serdes.String(), JsonSerde.of(valueType));
  }

  public String name() {
    return spec.name();
  }
}
