package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI as a user runs it, against a real broker: topics apply, produce (refusals and sends),
 * tail.
 */
@WithKafka
class CliIT {
  @TempDir Path dir;
  private Path config;
  private String prefix;

  /** What one CLI call printed and returned. */
  record Result(int exit, String out, String err) {}

  @BeforeEach
  void writeConfig(KafkaCluster kafka) throws Exception {
    prefix = KafkaCluster.uniqueName("cli") + ".";
    config = dir.resolve("app.properties");
    Files.writeString(
        config, "kafka.bootstrap=" + kafka.bootstrapServers() + "\ntopics.prefix=" + prefix + "\n");
  }

  private Result cli(String stdin, String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    InputStream in = System.in;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
      // --config is inherited: it may follow the sub-command as a user would type it
      String[] typed = new String[args.length + 2];
      System.arraycopy(args, 0, typed, 0, args.length);
      typed[args.length] = "--config";
      typed[args.length + 1] = config.toString();
      int exit = Main.commandLine(typed).execute(typed);
      return new Result(
          exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
      System.setIn(in);
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(120) // if the check let it start, run would wait for Ctrl-C
  void shouldRefuseToRunTheControllerWhenItsStateWouldHaveToMoveToMorePartitions(KafkaCluster kafka)
      throws Exception {
    // A free HTTP port: an app of the developer's on the default 9400 must not decide the outcome.
    Files.writeString(
        config,
        "application.id=" + prefix + "app\nhttp.port=0\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(cli("", "topics", "apply").exit()).isZero();
    awaitVisible(kafka);
    // A run before this one kept the goal logs in the catalog's 6 partitions; then tool-results got
    // 8.
    String changelog = prefix + "app-controller-controller-goal-log-changelog";
    kafka
        .admin()
        .createTopics(
            java.util.List.of(new org.apache.kafka.clients.admin.NewTopic(changelog, 6, (short) 1)))
        .all()
        .get();
    kafka
        .admin()
        .createPartitions(
            java.util.Map.of(
                prefix + "tool-results",
                org.apache.kafka.clients.admin.NewPartitions.increaseTo(8)))
        .all()
        .get();
    // Every broker must know the new partitions before run asks one of them.
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () ->
                kafka
                        .admin()
                        .describeTopics(java.util.List.of(prefix + "tool-results", changelog))
                        .allTopicNames()
                        .get()
                        .get(prefix + "tool-results")
                        .partitions()
                        .size()
                    == 8);
    Result run = cli("", "run", "--patterns", "controller");
    assertThat(run.exit()).isNotZero();
    assertThat(run.err())
        .contains("keeps its state in 6 partitions (changelog " + changelog + ")")
        .contains("up to 8")
        .contains(prefix + "tool-results=8")
        .contains(prefix + "goals=6")
        .contains("kafka-streams-application-reset --application-id " + prefix + "app-controller");
  }

  /** Brokers learn of new topics from the controller a moment after they are created. */
  private void awaitVisible(KafkaCluster kafka) {
    java.util.Set<String> names =
        dev.llmstreams.topics.TopicCatalog.load().withPrefix(prefix).names();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> kafka.admin().listTopics().names().get().containsAll(names));
  }

  @Test
  @org.junit.jupiter.api.Timeout(120) // if the check let it start, run would wait for Ctrl-C
  void shouldRefuseToRunTheToolsWhenAPublishTopicDoesNotExist(KafkaCluster kafka) throws Exception {
    assertThat(cli("", "topics", "apply").exit()).isZero();
    awaitVisible(kafka);
    Files.writeString(
        config,
        "tools.publish.allowed.topics=" + prefix + "nowhere\n",
        java.nio.file.StandardOpenOption.APPEND);
    Result run = cli("", "run", "--patterns", "tools");
    assertThat(run.exit()).isNotZero();
    assertThat(run.err()).contains("tools.publish.allowed.topics").contains(prefix + "nowhere");
  }

  @Test
  @org.junit.jupiter.api.Timeout(120) // if the check let it start, run would wait for Ctrl-C
  void shouldRefuseToRunWhenAnMcpServerCannotBeReached(KafkaCluster kafka) throws Exception {
    Path mcp = Files.createDirectories(dir.resolve("mcp"));
    Files.writeString(
        mcp.resolve("gone.json"),
        "{\"name\":\"gone\",\"transport\":\"stdio\",\"command\":\""
            + dir.resolve("no-such-program")
            + "\"}");
    Files.writeString(config, "mcp.dir=" + mcp + "\n", java.nio.file.StandardOpenOption.APPEND);
    // topics apply reads the declaration (it does not start the server) and creates its topic.
    Result apply = cli("", "topics", "apply");
    assertThat(apply.exit()).as(apply.err()).isZero();
    assertThat(apply.out()).contains("CREATED       " + prefix + "tool-calls.mcp.gone");
    awaitVisible(kafka);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(
            () ->
                kafka.admin().listTopics().names().get().contains(prefix + "tool-calls.mcp.gone"));
    Result run = cli("", "run", "--patterns", "tools");
    assertThat(run.exit()).isNotZero();
    // A program that cannot start ends the wait with the start failure as the reason, not the
    // initialize time limit's TimeoutException.
    assertThat(run.err().lines())
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("llm-streams: MCP server gone cannot be reached")
                    .doesNotContain("Timeout")
                    .contains("no-such-program")
                    .contains("check its declaration in " + mcp));
  }

  @Test
  void shouldCreateTopicsThenReportThemUnchanged() {
    Result dry = cli("", "topics", "apply", "--dry-run");
    assertThat(dry.exit()).isZero();
    assertThat(dry.out()).contains("WOULD_CREATE  " + prefix + "documents");
    Result first = cli("", "topics", "apply");
    assertThat(first.exit()).isZero();
    assertThat(first.out()).contains("CREATED       " + prefix + "goals").contains("0 drifted");
    Result second = cli("", "topics", "apply");
    assertThat(second.out())
        .contains("OK            " + prefix + "goals")
        .doesNotContain("CREATED");
  }

  @Test
  void shouldRefuseInvalidLinesWithTheirNumberAndReasonAndSendTheRest() throws Exception {
    assertThat(cli("", "topics", "apply").exit()).isZero();
    Result notJson = cli("not json\n", "produce", prefix + "documents", "-");
    assertThat(notJson.exit()).isEqualTo(1);
    assertThat(notJson.err())
        .contains("line 1: refused: malformed JSON")
        .contains("sent 0 record(s)");

    // Written as Windows tools write it: a byte order mark first, CRLF line ends.
    Path lines = dir.resolve("docs.jsonl");
    Files.writeString(
        lines,
        "\uFEFF"
            + String.join(
                "\r\n",
                "{\"docId\":\"d1\",\"text\":\"We agreed to ship in March.\",\"timestamp\":\"2026-11-02T09:00:00Z\"}",
                "{\"docId\":\"d2\",\"text\":42,\"timestamp\":\"2026-11-02T09:00:00Z\"}",
                "",
                "{\"docId\":\"d3\",\"text\":\"ok\",\"timestamp\":\"yesterday\"}",
                "{\"docId\":\"d4\",\"text\":\"Also fine.\",\"timestamp\":\"2026-11-02T09:05:00Z\"}")
            + "\r\n");
    Result mixed = cli("", "produce", prefix + "documents", lines.toString(), "--key", "meeting-1");
    assertThat(mixed.exit()).isEqualTo(1);
    assertThat(mixed.err())
        .contains(
            "line 2: refused: does not match the schema: /text: integer found, string expected")
        .contains("line 4: refused:")
        .contains("sent 2 record(s) to " + prefix + "documents, refused 2 line(s)");

    Result tail =
        cli("", "tail", prefix + "documents", "--from-beginning", "--max", "2", "--timeout", "20");
    assertThat(tail.exit()).isZero();
    assertThat(tail.out().lines().toList())
        .hasSize(2)
        .allSatisfy(
            line ->
                assertThat(line)
                    .contains("\"key\":\"meeting-1\"")
                    .contains("\"partition\":")
                    .contains("\"offset\":"));
    assertThat(tail.out()).contains("\"docId\":\"d1\"").contains("\"docId\":\"d4\"");
  }

  @Test
  void shouldKeyGoalsByTheirGoalIdAndRefuseUnknownTopics() {
    assertThat(cli("", "topics", "apply").exit()).isZero();
    Result sent =
        cli("{\"goalId\":\"g-1\",\"goal\":\"What is 2+2?\"}\n", "produce", prefix + "goals", "-");
    assertThat(sent.exit()).as(sent.err()).isZero();
    Result tail =
        cli("", "tail", prefix + "goals", "--from-beginning", "--max", "1", "--timeout", "20");
    assertThat(tail.out()).contains("\"key\":\"g-1\"");
    Result unknown = cli("{}\n", "produce", "no-such-topic", "-");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("unknown topic 'no-such-topic'");
  }

  @Test
  void shouldRefuseAnUnknownConfigKeyNamingIt() throws Exception {
    Files.writeString(config, Files.readString(config) + "http.prot=1\n");
    Result r = cli("", "topics", "apply");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("unknown configuration key 'http.prot'");
  }
}
