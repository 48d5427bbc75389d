package dev.llmstreams.controller;

/**
 * Breaks three layer rules on purpose, for {@code LayersTest}: a pattern (controller) that imports
 * the CLI (app) and another pattern (summarizer), and starts a KafkaStreams itself. Test sources
 * only; the rules check main classes.
 */
public final class LayerBreakingFixture {
  private LayerBreakingFixture() {}

  static Object cli() {
    return new dev.llmstreams.app.Main();
  }

  static Object otherPattern() {
    return dev.llmstreams.summarizer.Chunker.class;
  }

  static Object startsStreams(org.apache.kafka.streams.Topology topology) {
    return new org.apache.kafka.streams.KafkaStreams(topology, new java.util.Properties());
  }
}
