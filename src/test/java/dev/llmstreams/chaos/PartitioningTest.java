package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class PartitioningTest {
  private static final int PARTITIONS = 6;

  private static MockProducer<byte[], byte[]> producer() {
    Node node = new Node(0, "localhost", 9092);
    List<PartitionInfo> parts =
        IntStream.range(0, PARTITIONS)
            .mapToObj(
                p -> new PartitionInfo("goals", p, node, new Node[] {node}, new Node[] {node}))
            .toList();
    return new MockProducer<>(
        new Cluster("c", List.of(node), parts, Set.of(), Set.of()),
        true,
        null,
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void librdkafkasPartitionIsTheCrc32OfTheKeyModuloThePartitions() {
    // CRC-32 (zlib's, java.util.zip's, librdkafka's rd_crc32) of "123456789" is 0xCBF43926 =
    // 3,421,780,262.
    assertThat(Partitioning.crc32Partition(bytes("123456789"), 1000)).isEqualTo(262);
    assertThat(Partitioning.crc32Partition(bytes("123456789"), 6))
        .isEqualTo((int) (0xCBF43926L % 6));
    for (String key : List.of("g-000001", "run-k-003", "\u263a key", "")) {
      assertThat(Partitioning.murmur2Partition(bytes(key), PARTITIONS))
          .isEqualTo(BuiltInPartitioner.partitionForKey(bytes(key), PARTITIONS));
    }
  }

  @Test
  void eachPartitionerPlacesAndCountsItsRecords() {
    MockProducer<byte[], byte[]> producer = producer();
    Random random = new Random(1);
    List<String> keys =
        IntStream.range(0, 60).mapToObj(i -> String.format("run-g-%06d", i)).toList();

    Partitioning murmur = new Partitioning(Partitioning.Mode.JAVA);
    Partitioning crc = new Partitioning(Partitioning.Mode.LIBRDKAFKA);
    Partitioning explicit = new Partitioning(Partitioning.Mode.EXPLICIT);
    long crcOff = 0;
    List<Integer> robin = new ArrayList<>();
    for (String key : keys) {
      assertThat(murmur.record(producer, random, "goals", bytes(key), bytes("{}")).partition())
          .isNull();
      int p = crc.record(producer, random, "goals", bytes(key), bytes("{}")).partition();
      assertThat(p).isEqualTo(Partitioning.crc32Partition(bytes(key), PARTITIONS));
      crcOff += p != Partitioning.murmur2Partition(bytes(key), PARTITIONS) ? 1 : 0;
      robin.add(explicit.record(producer, random, "goals", bytes(key), bytes("{}")).partition());
    }
    assertThat(murmur.offKey()).isZero();
    assertThat(murmur.perTopic())
        .containsExactly(
            Map.entry(
                "goals",
                Map.of("java", 60L, "librdkafka", 0L, "explicit", 0L, "off_key_partition", 0L)));
    assertThat(crc.offKey()).isEqualTo(crcOff).isPositive();
    assertThat(crc.perTopic().get("goals"))
        .containsEntry("librdkafka", 60L)
        .containsEntry("off_key_partition", crcOff);
    // Round robin: every partition in turn, whatever the key.
    for (int i = 0; i < robin.size(); i++) {
      assertThat(robin.get(i)).isEqualTo((robin.get(0) + i) % PARTITIONS);
    }
    assertThat(explicit.offKey())
        .isEqualTo(
            IntStream.range(0, keys.size())
                .filter(
                    i ->
                        robin.get(i)
                            != Partitioning.murmur2Partition(bytes(keys.get(i)), PARTITIONS))
                .count());
  }

  @Test
  void mixedDrawsOneOfTheThreeForEachRecordFromItsSeededRandom() {
    MockProducer<byte[], byte[]> producer = producer();
    Partitioning mixed = new Partitioning(Partitioning.Mode.MIXED);
    Random random = new Random(7);
    long off = 0;
    List<Integer> placed = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      byte[] key = bytes("run-d-" + i);
      ProducerRecord<byte[], byte[]> r = mixed.record(producer, random, "goals", key, bytes("{}"));
      placed.add(r.partition());
      off +=
          r.partition() != null && r.partition() != Partitioning.murmur2Partition(key, PARTITIONS)
              ? 1
              : 0;
    }
    Map<String, Long> counts = mixed.perTopic().get("goals");
    assertThat(counts.get("java") + counts.get("librdkafka") + counts.get("explicit"))
        .isEqualTo(300);
    assertThat(counts.get("java")).isBetween(70L, 130L);
    assertThat(counts.get("librdkafka")).isBetween(70L, 130L);
    assertThat(counts.get("explicit")).isBetween(70L, 130L);
    assertThat(mixed.offKey()).isEqualTo(off).isEqualTo(counts.get("off_key_partition"));

    // The same seed, the same placement.
    Partitioning again = new Partitioning(Partitioning.Mode.MIXED);
    Random same = new Random(7);
    for (int i = 0; i < 300; i++) {
      assertThat(
              again.record(producer, same, "goals", bytes("run-d-" + i), bytes("{}")).partition())
          .isEqualTo(placed.get(i));
    }
  }

  @Test
  void theOptionNamesTheModes() {
    assertThat(Partitioning.Mode.parse("mixed")).isEqualTo(Partitioning.Mode.MIXED);
    assertThat(Partitioning.Mode.parse("LibRdKafka")).isEqualTo(Partitioning.Mode.LIBRDKAFKA);
    assertThat(Partitioning.Mode.EXPLICIT.label()).isEqualTo("explicit");
    assertThatThrownBy(() -> Partitioning.Mode.parse("murmur2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("java, librdkafka, explicit or mixed");
  }
}
