package dev.llmstreams.bench;

import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The Kafka a benchmark runs against: the cluster named by KAFKA_BOOTSTRAP, else a fresh local
 * broker on free ports under {@code .llm-streams/bench/}, stopped at the end, or when the bench is
 * interrupted (Ctrl-C, SIGTERM), so that no broker process is left running.
 */
final class BenchCluster implements AutoCloseable {
  private final String bootstrap;
  private final LocalBroker broker;
  private final Thread stopOnExit;
  private final java.util.OptionalLong brokerPid;

  private BenchCluster(String bootstrap, LocalBroker broker, java.util.OptionalLong brokerPid) {
    this.bootstrap = bootstrap;
    this.broker = broker;
    this.brokerPid = brokerPid;
    this.stopOnExit =
        broker == null
            ? null
            : new Thread(() -> broker.stop(Duration.ofSeconds(10)), "llmstreams-bench-broker-stop");
    if (stopOnExit != null) {
      Runtime.getRuntime().addShutdownHook(stopOnExit);
    }
  }

  static BenchCluster start(String externalBootstrap, Progress progress) throws IOException {
    if (externalBootstrap != null && !externalBootstrap.isBlank()) {
      progress.say("using the Kafka cluster at %s", externalBootstrap);
      return new BenchCluster(externalBootstrap, null, java.util.OptionalLong.empty());
    }
    int port = freePort();
    int controller = freePort();
    LocalBroker broker =
        new LocalBroker(
            new LocalBroker.Settings(
                Path.of(".llm-streams", "bench", "kafka-" + port),
                LocalBroker.DEFAULT_HOST,
                port,
                controller,
                LocalBroker.DEFAULT_HEAP));
    progress.say("starting a local Kafka broker on port %d ...", port);
    LocalBroker.StartResult r = broker.start(Duration.ofSeconds(120));
    progress.say("broker ready in %.1f s", r.elapsed().toMillis() / 1000.0);
    return new BenchCluster(r.bootstrap(), broker, java.util.OptionalLong.of(r.pid()));
  }

  String bootstrap() {
    return bootstrap;
  }

  /** The local broker's process, empty for a cluster named by KAFKA_BOOTSTRAP. */
  java.util.OptionalLong brokerPid() {
    return brokerPid;
  }

  /**
   * A group-less String consumer of one topic that sees committed data only, from the start or the
   * end.
   */
  KafkaConsumer<String, String> committedReader(String topic, boolean fromBeginning) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    List<TopicPartition> parts =
        consumer.partitionsFor(topic).stream()
            .map(p -> new TopicPartition(topic, p.partition()))
            .toList();
    consumer.assign(parts);
    if (fromBeginning) {
      consumer.seekToBeginning(parts);
    } else {
      consumer.seekToEnd(parts);
    }
    parts.forEach(consumer::position); // fix the start now, before anything is produced
    return consumer;
  }

  /**
   * Hands every committed record of a topic, from the beginning to its end as of now, to {@code
   * each}.
   */
  void readAll(String topic, Consumer<ConsumerRecord<String, String>> each) {
    try (KafkaConsumer<String, String> consumer = committedReader(topic, true)) {
      readToEnd(consumer, each);
    }
  }

  /**
   * Hands every committed record from the consumer's positions to the end of its partitions as of
   * now to {@code each}.
   */
  static void readToEnd(
      KafkaConsumer<String, String> consumer, Consumer<ConsumerRecord<String, String>> each) {
    List<TopicPartition> parts = List.copyOf(consumer.assignment());
    Map<TopicPartition, Long> end = consumer.endOffsets(parts);
    while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
      consumer.poll(Duration.ofMillis(200)).forEach(each);
    }
  }

  /**
   * The settings of an app under benchmark: this cluster, its own topic prefix, application id and
   * state, a free HTTP port, and every purpose routed to the simulator. Mutable, so a benchmark can
   * add its own.
   */
  Map<String, String> appSettings(String prefix, Path state, SimulatedLlmServer sim) {
    Map<String, String> settings = appSettings(prefix, state);
    settings.putAll(
        Map.of(
            AppConfig.LLM_ROUTE_DEFAULT,
            "openai",
            AppConfig.provider("openai", "base.url"),
            sim.baseUrl().toString(),
            AppConfig.provider("openai", "model"),
            "simulated"));
    return settings;
  }

  /** The same without LLM routes: the providers are the app's defaults, or what the caller adds. */
  Map<String, String> appSettings(String prefix, Path state) {
    return new java.util.HashMap<>(
        Map.of(
            AppConfig.KAFKA_BOOTSTRAP,
            bootstrap,
            AppConfig.TOPICS_PREFIX,
            prefix,
            AppConfig.APPLICATION_ID,
            prefix + "app",
            AppConfig.STATE_DIR,
            state.toString(),
            AppConfig.HTTP_PORT,
            "0"));
  }

  /** Waits until the app is ready, or fails the benchmark after two minutes. */
  static void awaitReady(dev.llmstreams.app.LlmStreamsApp app) throws InterruptedException {
    if (!app.awaitReady(Duration.ofMinutes(2))) {
      throw new IllegalStateException(
          "the app did not become ready within 120 s: " + app.health().toJson());
    }
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
      try {
        Runtime.getRuntime().removeShutdownHook(stopOnExit);
      } catch (IllegalStateException e) {
        // the JVM is already shutting down: the hook stops nothing more than what just stopped
      }
      // A fresh broker per run: its data (hundreds of MB after a bench) would pile up run after
      // run. Its broker.log stays; deleteData refuses a broker that did not stop.
      try {
        broker.deleteData();
      } catch (LocalBroker.BrokerException e) {
        System.err.println("bench: " + e.getMessage());
      }
    }
  }
}
