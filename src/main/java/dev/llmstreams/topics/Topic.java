package dev.llmstreams.topics;

import dev.llmstreams.events.JsonSerde;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** A topic with its key and value serdes: the only handle code uses to read or write a topic. */
public record Topic<V>(
    TopicSpec spec, Class<V> valueType, Serde<String> keySerde, Serde<V> valueSerde) {

  static <V> Topic<V> of(TopicSpec spec, Class<V> valueType) {
    return new Topic<>(spec, valueType, Serdes.String(), JsonSerde.of(valueType));
  }

  public String name() {
    return spec.name();
  }

  /**
   * The value serializer for a sink fed by a processor that forwards values of several types to
   * several sinks: this sink only ever gets this topic's type.
   */
  public Serializer<Object> sinkSerializer() {
    Serializer<V> inner = valueSerde.serializer();
    return (topic, data) -> inner.serialize(topic, valueType.cast(data));
  }
}
