package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleAttributionTest {
  @Test
  void theFirstNonJdkFrameFromTheLeafNamesTheCategory() {
    // HashMap.put (skipped) inside RocksDB's store, inside the controller's processor
    assertThat(
            SampleAttribution.category(
                List.of(
                    "java.util.HashMap",
                    "org.apache.kafka.streams.state.internals.RocksDBStore",
                    "org.apache.kafka.streams.processor.internals.ProcessorNode",
                    "dev.llmstreams.controller.RunGoals")))
        .isEqualTo(SampleAttribution.STATE_STORES);
    assertThat(
            SampleAttribution.category(
                List.of(
                    "com.fasterxml.jackson.core.json.UTF8JsonGenerator",
                    "dev.llmstreams.events.Json",
                    "org.apache.kafka.streams.processor.internals.SinkNode")))
        .isEqualTo(SampleAttribution.SERIALIZATION);
    assertThat(
            SampleAttribution.category(
                List.of(
                    "sun.nio.ch.SocketChannelImpl",
                    "org.apache.kafka.common.network.Selector",
                    "org.apache.kafka.clients.producer.internals.Sender")))
        .isEqualTo(SampleAttribution.PRODUCER);
    assertThat(
            SampleAttribution.category(
                List.of(
                    "org.apache.kafka.common.record.MemoryRecordsBuilder",
                    "org.apache.kafka.clients.consumer.internals.Fetcher")))
        .isEqualTo(SampleAttribution.PRODUCER);
    assertThat(
            SampleAttribution.category(
                List.of("org.apache.kafka.clients.consumer.internals.CompletedFetch")))
        .isEqualTo(SampleAttribution.CONSUMER);
    assertThat(
            SampleAttribution.category(
                List.of(
                    "org.apache.kafka.streams.processor.internals.StreamTask",
                    "dev.llmstreams.controller.RunGoals")))
        .isEqualTo(SampleAttribution.STREAMS);
    assertThat(SampleAttribution.category(List.of("io.micrometer.core.instrument.Counter")))
        .isEqualTo(SampleAttribution.METERS);
    assertThat(SampleAttribution.category(List.of("io.opentelemetry.sdk.trace.SdkSpan")))
        .isEqualTo(SampleAttribution.TRACING);
    assertThat(
            SampleAttribution.category(
                List.of("java.lang.String", "dev.llmstreams.controller.Guards")))
        .isEqualTo(SampleAttribution.LOGIC);
  }

  @Test
  void aStackOfJdkAndUnknownFramesOnlyIsOther() {
    assertThat(SampleAttribution.category(List.of("java.lang.Thread", "jdk.internal.misc.Unsafe")))
        .isEqualTo(SampleAttribution.OTHER);
    assertThat(SampleAttribution.category(List.of("org.slf4j.Logger")))
        .isEqualTo(SampleAttribution.OTHER);
    assertThat(SampleAttribution.category(List.of())).isEqualTo(SampleAttribution.OTHER);
  }

  @Test
  void samplesOfARealRecordingAreTalliedByThreadGroupAndCategory(@TempDir Path dir)
      throws Exception {
    Path jfr = dir.resolve("busy.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
      recording.start();
      Thread busy = new Thread(BusyLoop::spin, "bench-test-busy");
      busy.start();
      busy.join();
      recording.stop();
      recording.dump(jfr);
    }
    assertThat(Files.size(jfr)).isPositive();

    Map<String, Map<String, Long>> tally =
        SampleAttribution.tally(jfr, t -> t.equals("bench-test-busy") ? "busy" : null);

    // only the named thread is kept, and its samples are in this package's loop
    assertThat(tally).containsOnlyKeys("busy");
    Map<String, Long> busy = tally.get("busy");
    long total = busy.values().stream().mapToLong(Long::longValue).sum();
    assertThat(total).isPositive();
    assertThat(busy.getOrDefault(SampleAttribution.LOGIC, 0L)).isGreaterThan(total / 2);
  }

  /** A loop in dev.llmstreams, long enough to be sampled many times. */
  static final class BusyLoop {
    static volatile long sink;

    static void spin() {
      long deadline = System.nanoTime() + 600_000_000L;
      long x = 1;
      while (System.nanoTime() < deadline) {
        for (int i = 0; i < 10_000; i++) {
          x = x * 6364136223846793005L + 1442695040888963407L;
        }
      }
      sink = x;
    }
  }
}
