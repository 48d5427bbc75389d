package dev.llmstreams.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class StreamsGroupsTest {
  @Test
  void classicIsTheDefaultAndKeepsTheStandbyCountOnTheClient() {
    AppConfig config = AppConfig.of(Map.of(AppConfig.NUM_STANDBY_REPLICAS, "1"));
    assertThat(StreamsGroups.enabled(config)).isFalse();
    Properties props = settings(config);
    assertThat(props)
        .containsEntry(StreamsConfig.GROUP_PROTOCOL_CONFIG, "classic")
        .containsEntry(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 1);
  }

  @Test
  void underTheStreamsProtocolTheStandbyCountIsTheGroupsNotTheClients() {
    AppConfig config =
        AppConfig.of(
            Map.of(AppConfig.GROUP_PROTOCOL, "streams", AppConfig.NUM_STANDBY_REPLICAS, "1"));
    assertThat(StreamsGroups.enabled(config)).isTrue();
    Properties props = settings(config);
    assertThat(props).containsEntry(StreamsConfig.GROUP_PROTOCOL_CONFIG, "streams");
    // Kafka Streams would ignore it there, with a warning: the app sets it on the group.
    assertThat(props).doesNotContainKey(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG);
    assertThat(StreamsGroups.wanted(config))
        .containsExactly(Map.entry(StreamsGroups.STANDBY_REPLICAS, "1"));
  }

  @Test
  void onlyWhatTheAppWasGivenIsWrittenOntoTheGroup() {
    assertThat(StreamsGroups.wanted(AppConfig.of(Map.of(AppConfig.GROUP_PROTOCOL, "streams"))))
        .as("nothing given: the group keeps its own settings (an operator's, or the broker's)")
        .isEmpty();
    Map<String, String> given = new LinkedHashMap<>();
    given.put(AppConfig.GROUP_PROTOCOL, "streams");
    given.put(AppConfig.NUM_STANDBY_REPLICAS, "0");
    given.put(AppConfig.CLIENT_PREFIX + "session.timeout.ms", " 6000 ");
    given.put(AppConfig.CLIENT_PREFIX + "heartbeat.interval.ms", "1500");
    assertThat(StreamsGroups.wanted(AppConfig.of(given)))
        .containsOnly(
            Map.entry(StreamsGroups.STANDBY_REPLICAS, "0"),
            Map.entry(StreamsGroups.SESSION_TIMEOUT_MS, "6000"),
            Map.entry(StreamsGroups.HEARTBEAT_INTERVAL_MS, "1500"));
  }

  @Test
  void aClusterWithoutStreamsGroupsIsRefusedWithTheWayOut() {
    assertThat(StreamsGroups.unsupported(Map.of(StreamsGroups.FEATURE, (short) 1))).isNull();
    assertThat(StreamsGroups.unsupported(Map.of(StreamsGroups.FEATURE, (short) 2))).isNull();
    assertThat(StreamsGroups.unsupported(Map.of(StreamsGroups.FEATURE, (short) 0)))
        .contains("this cluster has streams.version=0")
        .contains("kafka-features.sh --bootstrap-server ... upgrade --feature streams.version=1")
        .contains("group.protocol=classic");
    assertThat(StreamsGroups.unsupported(Map.of("group.version", (short) 1)))
        .contains("this cluster has no streams.version");
  }

  @Test
  void aGroupOfTheOtherProtocolIsJoinedOnlyOnceItIsEmpty() {
    List<String> ours = List.of("acme-gateway", "acme-controller");
    List<GroupListing> listed =
        List.of(
            listing("acme-gateway", GroupType.CLASSIC, GroupState.EMPTY),
            listing("acme-controller", GroupType.STREAMS, GroupState.STABLE),
            listing("someone-else", GroupType.CLASSIC, GroupState.STABLE));
    assertThat(StreamsGroups.conflict("streams", listed, ours))
        .as("an empty classic group converts at the first heartbeat")
        .isNull();
    assertThat(StreamsGroups.conflict("classic", listed, ours))
        .isEqualTo(
            "group.protocol=classic, but acme-controller is a streams group with members (state"
                + " stable): other instances of this application run group.protocol=streams. Kafka"
                + " converts a group to the other protocol only while it is empty: stop every"
                + " instance, then start them all with the same group.protocol.");
    List<GroupListing> running =
        List.of(listing("acme-gateway", GroupType.CLASSIC, GroupState.PREPARING_REBALANCE));
    assertThat(StreamsGroups.conflict("streams", running, ours))
        .startsWith("group.protocol=streams, but acme-gateway is a classic group with members")
        .contains("run group.protocol=classic");
    assertThat(StreamsGroups.conflict("classic", running, ours)).isNull();
    List<GroupListing> foreign =
        List.of(listing("acme-gateway", GroupType.CONSUMER, GroupState.STABLE));
    assertThat(StreamsGroups.conflict("classic", foreign, ours))
        .contains("is a consumer group")
        .contains("another application uses this group id");
  }

  private static GroupListing listing(String id, GroupType type, GroupState state) {
    return new GroupListing(id, Optional.of(type), type.toString(), Optional.of(state));
  }

  @Test
  void aGroupTheAppCouldNotChangeGetsTheCommandThatDoes() {
    Map<String, String> wanted = new LinkedHashMap<>();
    wanted.put(StreamsGroups.STANDBY_REPLICAS, "1");
    wanted.put(StreamsGroups.SESSION_TIMEOUT_MS, "6000");
    StreamsGroups.Outcome failed =
        new StreamsGroups.Outcome("llm-streams-controller", Map.of(), "denied");
    assertThat(failed.command("broker:9092", wanted))
        .isEqualTo(
            "kafka-configs.sh --bootstrap-server broker:9092 --alter --entity-type groups"
                + " --entity-name llm-streams-controller --add-config"
                + " streams.num.standby.replicas=1,streams.session.timeout.ms=6000");
  }

  private static Properties settings(AppConfig config) {
    return StreamsSettings.forPattern(
        config, TopicCatalog.load(), "summarizer", new SimpleMeterRegistry());
  }
}
