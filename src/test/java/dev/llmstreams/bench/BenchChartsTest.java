package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import org.junit.jupiter.api.Test;

class BenchChartsTest {
  @Test
  void theGatewayChartDrawsEachSweepPointWithItsRatioBesideTheCeiling() throws Exception {
    JsonNode report =
        Json.tree(
            "{\"latency_ms\":200,\"partitions\":1,\"sweep\":["
                + "{\"concurrency\":8,\"throughput_per_s\":38.5,\"ceiling_per_s\":40,\"ratio\":0.9625},"
                + "{\"concurrency\":64,\"throughput_per_s\":274,\"ceiling_per_s\":320,\"ratio\":0.856}]}");

    String svg = GatewayBench.chart(report).toSvg();

    assertThat(svg)
        .contains(
            "LLM latency 200 ms",
            "0.96 of ceiling",
            "0.86 of ceiling",
            "ceiling C / L",
            "1 partition(s)");
    assertThat(svg.split("<circle", -1)).hasSize(3);
  }

  @Test
  void theSummarizerChartDrawsTreeAndNaiveOnALogAxisWithTheOnceLine() throws Exception {
    JsonNode report =
        Json.tree(
            "{\"along_the_stream\":["
                + "{\"documents\":100,\"llm_input_tokens_per_ingested_token\":1.31,\"naive_per_ingested_token\":50.6},"
                + "{\"documents\":200,\"llm_input_tokens_per_ingested_token\":1.36,\"naive_per_ingested_token\":100.6}]}");

    String svg = SummarizerBench.chart(report).toSvg();

    assertThat(svg)
        .contains("(log scale)", "1.31", "1.36", "each ingested token sent once", "re-summarize");
    assertThat(svg.split("<circle", -1)).hasSize(5);
  }
}
