package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** librdkafka's default partition of a key, and the bench's choice between it and Java's. */
class LibrdkafkaPartitionerTest {
  @Test
  void keysLandWhereKcatPutThemOnSixPartitions() {
    // kcat -P -K: with its default partitioner (consistent_random) put these keys on partitions 3,
    // 2 and 5 of 6.
    assertThat(LibrdkafkaPartitioner.partition("story-61198", 6)).isEqualTo(3);
    assertThat(LibrdkafkaPartitioner.partition("story-62244", 6)).isEqualTo(2);
    assertThat(LibrdkafkaPartitioner.partition("story-63521", 6)).isEqualTo(5);
  }

  @Test
  void theStringFormIsTheCrcOfItsUtf8Bytes() {
    // CRC-32("123456789") is 0xCBF43926, the check value of the IEEE polynomial: 3421780262 = 1000
    // * 3421780 + 262.
    assertThat(LibrdkafkaPartitioner.partition("123456789", 1000)).isEqualTo(262);
    String key = "réunion-7";
    assertThat(LibrdkafkaPartitioner.partition(key, 7))
        .isEqualTo(LibrdkafkaPartitioner.partition(key.getBytes(StandardCharsets.UTF_8), 7));
  }

  @Test
  void javaAndLibrdkafkaDisagreeOnMostKeys() {
    int differ = 0;
    for (int i = 0; i < 600; i++) {
      byte[] key = ("goal-" + i).getBytes(StandardCharsets.UTF_8);
      assertThat(InputPartitioner.JAVA.explicitPartition(key, 6)).isNull();
      assertThat(InputPartitioner.LIBRDKAFKA.explicitPartition(key, 6))
          .isEqualTo(LibrdkafkaPartitioner.partition(key, 6));
      differ +=
          InputPartitioner.JAVA.partition(key, 6) != InputPartitioner.LIBRDKAFKA.partition(key, 6)
              ? 1
              : 0;
    }
    // Two unrelated hashes agree on about one key in six.
    assertThat(differ).isBetween(400, 560);
  }

  @Test
  void aKeylessRecordHasNoConsistentPartition() {
    assertThatThrownBy(() -> LibrdkafkaPartitioner.partition(new byte[0], 6))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("random");
  }

  @Test
  void theSummarizersLibrdkafkaKeyIsOneTheTwoPlaceApart() {
    assertThat(SummarizerBench.keyFor(InputPartitioner.JAVA, 6)).isEqualTo("bench-meetings");
    String key = SummarizerBench.keyFor(InputPartitioner.LIBRDKAFKA, 6);
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    assertThat(key).startsWith("bench-meetings-librdkafka");
    assertThat(InputPartitioner.LIBRDKAFKA.partition(bytes, 6))
        .isNotEqualTo(InputPartitioner.JAVA.partition(bytes, 6));
    assertThat(SummarizerBench.keyFor(InputPartitioner.LIBRDKAFKA, 1))
        .isEqualTo("bench-meetings-librdkafka");
  }

  @Test
  void theOptionNamesOneOrBoth() {
    assertThat(InputPartitioner.parse(null))
        .containsExactly(InputPartitioner.JAVA, InputPartitioner.LIBRDKAFKA);
    assertThat(InputPartitioner.parse("both"))
        .containsExactly(InputPartitioner.JAVA, InputPartitioner.LIBRDKAFKA);
    assertThat(InputPartitioner.parse("java")).isEqualTo(List.of(InputPartitioner.JAVA));
    assertThat(InputPartitioner.parse(" LibRdKafka "))
        .isEqualTo(List.of(InputPartitioner.LIBRDKAFKA));
    assertThatThrownBy(() -> InputPartitioner.parse("murmur2"))
        .hasMessage("--partitioner must be java, librdkafka or both, was 'murmur2'");
  }
}
