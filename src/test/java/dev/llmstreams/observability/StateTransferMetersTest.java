package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;

class StateTransferMetersTest {
  /**
   * A processor that only uses the store (the test needs its name in the topology, not its
   * records).
   */
  private static final class Ignore
      implements org.apache.kafka.streams.processor.api.Processor<String, String, Void, Void> {
    @Override
    public void process(org.apache.kafka.streams.processor.api.Record<String, String> record) {}
  }

  @Test
  void shouldShowEveryStoreAtZeroBeforeAnythingIsRestored() {
    StreamsBuilder builder = new StreamsBuilder();
    builder.globalTable(
        "models", Consumed.with(Serdes.String(), Serdes.String()), Materialized.as("models-store"));
    builder.table(
        "events", Consumed.with(Serdes.String(), Serdes.String()), Materialized.as("events-store"));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("extra-store"), Serdes.String(), Serdes.String()));
    builder.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .process(Ignore::new, "extra-store");
    Topology topology = builder.build();
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "meters-test");
    props.put(
        StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"); // never started: nothing connects
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (KafkaStreams streams = new KafkaStreams(topology, props)) {
      StateTransferMeters.bind(streams, "p", registry, topology.describe());
    }

    assertThat(registry.find("llmstreams.state.restored.records").tag("pattern", "p").counters())
        .extracting(c -> c.getId().getTag("store"))
        .containsExactlyInAnyOrder("events-store", "extra-store", "models-store");
    assertThat(registry.find("llmstreams.state.standby.records").counters())
        .as("global stores have no standby replicas")
        .extracting(c -> c.getId().getTag("store"))
        .containsExactlyInAnyOrder("events-store", "extra-store");
    assertThat(registry.find("llmstreams.state.restored.records").counters())
        .extracting(Counter::count)
        .containsOnly(0.0);
  }
}
