package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.kafka.streams.state.HostInfo;
import org.junit.jupiter.api.Test;

class StoreQueryTest {
  @Test
  void shouldReadTheForwardingMarkerBesideOtherParameters() {
    assertThat(StoreQuery.params("window=2026-11-02T09%3A00%3A00Z&local"))
        .containsEntry("window", "2026-11-02T09:00:00Z")
        .containsEntry(StoreQuery.LOCAL, "");
    assertThat(StoreQuery.params("local")).containsOnlyKeys(StoreQuery.LOCAL);
    assertThat(StoreQuery.params(null)).isEmpty();
    assertThat(StoreQuery.params("&window=1&")).containsOnlyKeys("window");
  }

  @Test
  void shouldAskToRetryWhenTheOwnerOfAKeyIsGone() throws Exception {
    int port;
    try (ServerSocket gone = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = gone.getLocalPort();
    }
    HttpApi.Reply reply = StoreQuery.forward(new HostInfo("127.0.0.1", port), "/goals/g1?local");
    assertThat(reply.status()).isEqualTo(503);
    assertThat(reply.body())
        .contains("127.0.0.1:" + port)
        .contains("did not answer")
        .contains("retry");
  }
}
