package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kcat, a librdkafka client with its default partitioner, puts each key where {@link
 * LibrdkafkaPartitioner} says.
 */
@WithKafka
class LibrdkafkaPartitionerIT {
  private static final int PARTITIONS = 6;
  private static final int RECORDS = 50;

  @TempDir Path dir;

  @Test
  void kcatPutsEachKeyOnTheCrc32Partition(KafkaCluster kafka) throws Exception {
    assumeTrue(kcatRuns(), "kcat is not installed");
    String topic = KafkaCluster.uniqueName("librdkafka-partitions");
    kafka.createTopic(topic, PARTITIONS);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < RECORDS; i++) {
      lines.add("story-" + (61_000 + 37 * i) + ":value-" + i);
    }
    Path input = Files.write(dir.resolve("records.txt"), lines, StandardCharsets.UTF_8);

    // No -p and no partitioner setting: librdkafka's default, consistent_random.
    Process p =
        new ProcessBuilder("kcat", "-P", "-b", kafka.bootstrapServers(), "-t", topic, "-K:")
            .redirectInput(input.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("kcat.log").toFile())
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("kcat finished").isTrue();
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("kcat.log"))).isZero();

    Map<String, Integer> partitionOf = new HashMap<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(
            kafka.consumerProps(KafkaCluster.uniqueName("librdkafka-partitions")))) {
      consumer.subscribe(List.of(topic));
      Instant giveUp = Instant.now().plusSeconds(60);
      while (partitionOf.size() < RECORDS && Instant.now().isBefore(giveUp)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          partitionOf.put(r.key(), r.partition());
        }
      }
    }
    assertThat(partitionOf).hasSize(RECORDS);
    Map<String, Integer> expected = new HashMap<>();
    partitionOf
        .keySet()
        .forEach(k -> expected.put(k, LibrdkafkaPartitioner.partition(k, PARTITIONS)));
    assertThat(partitionOf).isEqualTo(expected);
    // Murmur2 (a Java producer) would have put most of them elsewhere: the test tells the two
    // apart.
    long elsewhere =
        partitionOf.keySet().stream()
            .filter(
                k ->
                    partitionOf.get(k)
                        != LibrdkafkaPartitioner.javaDefault(
                            k.getBytes(StandardCharsets.UTF_8), PARTITIONS))
            .count();
    assertThat(elsewhere).isGreaterThan(RECORDS / 2);
  }

  private static boolean kcatRuns() throws InterruptedException {
    try {
      Process version =
          new ProcessBuilder("kcat", "-V")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return version.waitFor(30, TimeUnit.SECONDS) && version.exitValue() == 0;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
