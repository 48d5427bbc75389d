package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuProfileTest {
  private final CpuProfile.Components components =
      new CpuProfile.Components(
          Map.of(
              "bench-1.app-gateway", "gateway",
              "bench-1.app-controller", "controller",
              "bench-1.app-tools", "tools"),
          List.of("bench-2.app-"));

  @Test
  void threadsArePlacedByTheirPatternsApplicationIdAndTheirRole() {
    String client = "bench-1.app-controller-6f1c2a9e-0b7d-4f7a-9a51-1f0e5e1c2d3a";
    assertThat(components.of(client + "-StreamThread-1")).isEqualTo("controller_stream_threads");
    assertThat(
            components.of("kafka-producer-network-thread | " + client + "-StreamThread-1-producer"))
        .isEqualTo("controller_producers");
    assertThat(components.of("kafka-coordinator-heartbeat-thread | bench-1.app-controller"))
        .isEqualTo("controller_other_kafka_threads");
    assertThat(components.of("kafka-admin-client-thread | bench-1.app-tools-abc-admin"))
        .isEqualTo("tools_other_kafka_threads");
    assertThat(components.of("bench-1.app-gateway-abc-StreamThread-2"))
        .isEqualTo("gateway_stream_threads");
  }

  @Test
  void threadsOfNoPatternArePlacedByWhatRunsThem() {
    assertThat(components.of("bench-2.app-controller-abc-StreamThread-1"))
        .isEqualTo(CpuProfile.Components.OTHER_APP);
    assertThat(components.of("HttpClient-1-SelectorManager"))
        .isEqualTo(CpuProfile.Components.GATEWAY_HTTP);
    assertThat(components.of("sim-llm-reply-3")).isEqualTo(CpuProfile.Components.SIMULATED_LLM);
    assertThat(components.of("main")).isEqualTo(CpuProfile.Components.BENCH_DRIVER);
    assertThat(components.of("kafka-producer-network-thread | producer-7"))
        .isEqualTo(CpuProfile.Components.OTHER_KAFKA);
    assertThat(components.of("JFR Periodic Tasks")).isEqualTo(CpuProfile.Components.PROFILER);
    assertThat(components.of("Common-Cleaner")).isEqualTo(CpuProfile.Components.OTHER_THREADS);
  }

  @Test
  void onlyStreamAndProducerThreadsOfTheMeasuredAppAreAttributed() {
    assertThat(components.attributedOf("bench-1.app-tools-x-StreamThread-1"))
        .isEqualTo("tools_stream_threads");
    assertThat(components.attributedOf("bench-2.app-tools-x-StreamThread-1")).isNull();
    assertThat(components.attributedOf("sim-llm-http-1")).isNull();
  }

  @Test
  void procStatCpuIsUserPlusSystemTicksInMilliseconds() {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    String stat = "4242 (java (kafka)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 80";
    assertThat(CpuProfile.parseStatCpuMs(stat, 100)).isEqualTo((1234 + 56) * 10L);
  }
}
