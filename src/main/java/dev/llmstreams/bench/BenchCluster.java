package dev.llmstreams.bench;

import dev.llmstreams.broker.LocalBroker;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The Kafka a benchmark runs against: the cluster named by KAFKA_BOOTSTRAP, else a fresh local broker on
 * free ports under {@code .llm-streams/bench/}, stopped at the end.
 */
final class BenchCluster implements AutoCloseable {
  private final String bootstrap;
  private final LocalBroker broker;

  private BenchCluster(String bootstrap, LocalBroker broker) {
    this.bootstrap = bootstrap;
    this.broker = broker;
  }

  static BenchCluster start(String externalBootstrap, Progress progress) throws IOException {
    if (externalBootstrap != null && !externalBootstrap.isBlank()) {
      progress.say("using the Kafka cluster at %s", externalBootstrap);
      return new BenchCluster(externalBootstrap, null);
    }
    int port = freePort();
    int controller = freePort();
    LocalBroker broker = new LocalBroker(new LocalBroker.Settings(Path.of(".llm-streams", "bench", "kafka-" + port),
        LocalBroker.DEFAULT_HOST, port, controller, LocalBroker.DEFAULT_HEAP));
    progress.say("starting a local Kafka broker on port %d ...", port);
    LocalBroker.StartResult r = broker.start(Duration.ofSeconds(120));
    progress.say("broker ready in %.1f s", r.elapsed().toMillis() / 1000.0);
    return new BenchCluster(r.bootstrap(), broker);
  }

  String bootstrap() {
    return bootstrap;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    if (broker != null) {
      broker.stop(Duration.ofSeconds(30));
    }
  }
}
