package dev.llmstreams.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A real broker in a child JVM, driven through its whole life by real clients and the CLI. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalBrokerIT {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  @TempDir static Path tmp;
  private LocalBroker broker;
  private LocalBroker.Settings settings;

  @BeforeAll
  void setUp() throws IOException {
    int[] ports = freePorts(2);
    settings =
        new LocalBroker.Settings(tmp.resolve("kafka"), "127.0.0.1", ports[0], ports[1], "512m");
    broker = new LocalBroker(settings);
  }

  @AfterAll
  void tearDown() {
    // Whatever failed above, no broker JVM may outlive the tests.
    if (broker == null) {
      return;
    }
    broker.stop(STOP_TIMEOUT);
    assertThat(broker.status().pid()).isEmpty();
  }

  @Test
  @Order(0)
  void childClasspathIsExpandedFromManifests() {
    // Under Failsafe this JVM's class path is one manifest-only booter jar in a temp dir.
    List<String> classpath = LocalBroker.childClasspath();

    assertThat(classpath)
        .noneMatch(entry -> entry.contains("surefirebooter"))
        .anyMatch(entry -> entry.contains("kafka_2.13-"))
        .anyMatch(entry -> entry.contains("log4j-slf4j2-impl"))
        .allMatch(entry -> Files.exists(Path.of(entry)));
  }

  @Test
  @Order(1)
  void startsARealBrokerThatServesProducersAndConsumers() throws Exception {
    assertThat(broker.status().running()).isFalse();

    LocalBroker.StartResult started = broker.start(START_TIMEOUT);

    assertThat(started.outcome()).isEqualTo(LocalBroker.StartResult.Outcome.STARTED);
    assertThat(started.bootstrap()).isEqualTo(settings.bootstrap());
    System.out.printf(
        "broker started in %d ms (pid %d)%n", started.elapsed().toMillis(), started.pid());
    LocalBroker.Status status = broker.status();
    assertThat(status.running()).isTrue();
    assertThat(status.pid()).contains(started.pid());
    assertThat(Files.readString(settings.home().resolve("broker.pid")).strip())
        .isEqualTo(Long.toString(started.pid()));
    assertRoundTrip("first");
  }

  @Test
  @Order(2)
  void startIsIdempotent() {
    long pid = broker.status().pid().orElseThrow();

    LocalBroker.StartResult again = broker.start(START_TIMEOUT);

    assertThat(again.outcome()).isEqualTo(LocalBroker.StartResult.Outcome.ALREADY_RUNNING);
    assertThat(again.pid()).isEqualTo(pid);
    Cli cli = cli("start");
    assertThat(cli.exitCode).isZero();
    assertThat(cli.out)
        .startsWith(
            "Kafka broker already running on " + settings.bootstrap() + " (pid " + pid + ")");
  }

  @Test
  @Order(3)
  void anotherBrokerOnTheSamePortFailsClearly() {
    LocalBroker.Settings other = settings.withHome(tmp.resolve("other"));

    assertThatThrownBy(() -> new LocalBroker(other).start(START_TIMEOUT))
        .isInstanceOf(LocalBroker.BrokerException.class)
        .hasMessage(
            "port "
                + settings.port()
                + " on 127.0.0.1 is already in use by another process;"
                + " choose another with kafka.port (LLMSTREAMS_KAFKA_PORT)");
    Cli cli = cli("start", "--home", tmp.resolve("other").toString());
    assertThat(cli.exitCode).isEqualTo(KafkaCommand.EXIT_ERROR);
    assertThat(cli.err)
        .startsWith("Error: port " + settings.port() + " on 127.0.0.1 is already in use")
        .doesNotContain("Exception");
    assertThat(cli.out).isEmpty();
  }

  @Test
  @Order(4)
  void statusCommandReportsTheRunningBroker() {
    Cli cli = cli("status");
    assertThat(cli.exitCode).isZero();
    assertThat(cli.out)
        .isEqualTo(
            "Kafka broker running on "
                + settings.bootstrap()
                + " (pid "
                + broker.status().pid().orElseThrow()
                + ")\n");
  }

  @Test
  @Order(5)
  void stopIsIdempotentAndStatusFollows() {
    long pid = broker.status().pid().orElseThrow();

    LocalBroker.StopResult stopped = broker.stop(STOP_TIMEOUT);

    assertThat(stopped.outcome()).isEqualTo(LocalBroker.StopResult.Outcome.STOPPED);
    assertThat(stopped.pid()).isEqualTo(pid);
    assertThat(stopped.forced()).as("a SIGTERM suffices").isFalse();
    System.out.printf("broker stopped in %d ms%n", stopped.elapsed().toMillis());
    assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
    assertThat(broker.status().running()).isFalse();
    assertThat(broker.status().pid()).isEmpty();
    assertThat(settings.home().resolve("broker.pid")).doesNotExist();
    assertThat(broker.stop(STOP_TIMEOUT).outcome())
        .isEqualTo(LocalBroker.StopResult.Outcome.NOT_RUNNING);

    Cli status = cli("status");
    assertThat(status.exitCode).isEqualTo(KafkaCommand.EXIT_NOT_RUNNING);
    assertThat(status.out).isEqualTo("Kafka broker is not running\n");
    Cli stop = cli("stop");
    assertThat(stop.exitCode).isZero();
    assertThat(stop.out).isEqualTo("Kafka broker is not running\n");
  }

  @Test
  @Order(6)
  void restartsOnItsExistingDataThroughTheCli() throws Exception {
    Cli start = cli("start");

    assertThat(start.exitCode).as(start.err).isZero();
    assertThat(start.out)
        .matches(
            "Kafka broker started on "
                + settings.bootstrap().replace(".", "\\.")
                + " \\(pid \\d+, \\d+\\.\\d s\\); data and logs in .*\n");
    assertThat(broker.status().running()).isTrue();
    // The record written before the restart survived it.
    assertThat(consumeAll()).contains("first");
    assertRoundTrip("second");

    Cli stop = cli("stop");
    assertThat(stop.exitCode).isZero();
    assertThat(stop.out).startsWith("Kafka broker stopped (pid ");
    assertThat(broker.status().running()).isFalse();
  }

  @Test
  @Order(7)
  void restartsOnNewPortsKeepingItsData() throws Exception {
    int[] ports = freePorts(2);
    LocalBroker moved =
        new LocalBroker(
            new LocalBroker.Settings(settings.home(), "127.0.0.1", ports[0], ports[1], "512m"));
    try {
      assertThat(moved.start(START_TIMEOUT).outcome())
          .isEqualTo(LocalBroker.StartResult.Outcome.STARTED);
      assertThat(moved.status().bootstrap()).isEqualTo("127.0.0.1:" + ports[0]);
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + ports[0]))) {
        assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).contains(TOPIC);
      }
    } finally {
      moved.stop(STOP_TIMEOUT);
    }
  }

  @Test
  @Order(8)
  void deletesItsDataOnlyWhenStoppedKeepingItsLog() throws Exception {
    assertThat(broker.start(START_TIMEOUT).outcome())
        .isEqualTo(LocalBroker.StartResult.Outcome.STARTED);
    assertThatThrownBy(broker::deleteData)
        .isInstanceOf(LocalBroker.BrokerException.class)
        .hasMessageContaining("is running");
    assertThat(settings.home().resolve("data")).isDirectory();

    broker.stop(STOP_TIMEOUT);
    broker.deleteData();

    assertThat(settings.home().resolve("data")).doesNotExist();
    assertThat(settings.home().resolve("broker.log")).isRegularFile();
    // A next start formats afresh: the topic written before is gone.
    try {
      assertThat(broker.start(START_TIMEOUT).outcome())
          .isEqualTo(LocalBroker.StartResult.Outcome.STARTED);
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap()))) {
        assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).doesNotContain(TOPIC);
      }
    } finally {
      broker.stop(STOP_TIMEOUT);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static final String TOPIC = "broker-it";

  private void assertRoundTrip(String value) throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap()))) {
      if (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(TOPIC)) {
        admin
            .createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
    }
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                settings.bootstrap(),
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                true),
            new StringSerializer(),
            new StringSerializer())) {
      RecordMetadata sent =
          producer.send(new ProducerRecord<>(TOPIC, "key", value)).get(30, TimeUnit.SECONDS);
      assertThat(sent.topic()).isEqualTo(TOPIC);
    }
    assertThat(consumeAll()).endsWith(value);
  }

  /**
   * Every value in the topic, read from the beginning until one poll after the record count
   * settles.
   */
  private List<String> consumeAll() {
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                settings.bootstrap(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "broker-it-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new StringDeserializer(),
            new StringDeserializer())) {
      consumer.subscribe(Set.of(TOPIC));
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<String, String> record :
                    consumer.poll(Duration.ofMillis(200))) {
                  values.add(record.value());
                }
                Map<org.apache.kafka.common.TopicPartition, Long> end =
                    consumer.endOffsets(consumer.assignment());
                return !consumer.assignment().isEmpty()
                    && end.entrySet().stream()
                        .allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
              });
    }
    return values;
  }

  private record Cli(int exitCode, String out, String err) {}

  private Cli cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add(1, "--port=" + settings.port());
    all.add(2, "--controller-port=" + settings.controllerPort());
    if (!all.contains("--home")) {
      all.add(3, "--home=" + settings.home());
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine =
        KafkaCommand.commandLine(
            new KafkaCommand.Defaults(
                settings.home(),
                settings.host(),
                settings.port(),
                settings.controllerPort(),
                "512m"));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exit = commandLine.execute(all.toArray(String[]::new));
    return new Cli(exit, out.toString(), err.toString());
  }

  private static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0);
        sockets.add(socket);
        ports[i] = socket.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
