package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.text.Rouge;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code bench summarizer --quality --dataset qmsum}: each bundled QMSum test meeting streams
 * through the gateway and the summarizer on a real broker as transcript parts (documents keyed by
 * meeting), and its final all-time synthesis is scored with ROUGE-1/2/L against the meeting's
 * reference "summarize the whole meeting" answer, beside a lead baseline (the transcript's first N
 * tokens, N the synthesis' length) scored in the same run.
 *
 * <p>The LLM is the user's: their {@code llm.*} settings are passed on, so the summarizer purpose
 * goes where their configuration routes it, the offline engine by default (an extractive sentence
 * selector, not an LLM).
 */
public final class QualityBench {
  /**
   * Transcript parts are cut at line ends to about this many characters: a meeting arrives as a
   * stream.
   */
  static final int PART_CHARS = 3000;

  private static final Instant START = Instant.parse("2026-11-02T09:00:00Z");

  /**
   * A bundled meeting: its QMSum name, transcript ({@code Speaker: content} lines) and reference
   * summary.
   */
  record Meeting(String meeting, String transcript, String reference) {}

  private final AppConfig user;
  private final String bootstrap;
  private final Progress progress;

  public QualityBench(AppConfig user, String bootstrap, PrintStream progressOut) {
    this.user = user;
    this.bootstrap = bootstrap;
    this.progress = new Progress(progressOut);
  }

  public ObjectNode run() throws Exception {
    List<Meeting> meetings = meetings();
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Path state = Files.createTempDirectory("llmstreams-bench");
    try (BenchCluster cluster = BenchCluster.start(bootstrap, progress)) {
      TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrap()))) {
        new TopicAdmin(admin, (short) -1).apply(catalog.all(), false);
      }
      Map<String, String> settings = new LinkedHashMap<>();
      user.originalsWithPrefix("llm.", false).forEach((k, v) -> settings.put(k, String.valueOf(v)));
      user.originalsWithPrefix("summarizer.", false)
          .forEach((k, v) -> settings.put(k, String.valueOf(v)));
      // One meeting is one synthesis: no windows, so the final synthesis is the all-time one of the
      // whole meeting.
      settings.put(AppConfig.SUMMARIZER_WINDOW_MS, "0");
      settings.putAll(cluster.appSettings(prefix, state));
      AppConfig config = AppConfig.load(null, Map.of(), settings);
      String route =
          String.join(
              ",", config.routeStepsOf("summarizer").stream().map(Object::toString).toList());
      progress.say("summarizer routed to provider '%s'", route);

      Map<String, List<String>> parts = new LinkedHashMap<>();
      meetings.forEach(m -> parts.put(m.meeting(), parts(m.transcript(), PART_CHARS)));
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability)) {
        app.start(List.of(new GatewayModule(), new SummarizerModule()));
        progress.say("summarizer and gateway starting");
        BenchCluster.awaitReady(app);
        send(cluster, catalog.spec(TopicRole.DOCUMENTS).name(), parts);
        Map<String, Long> expected = new LinkedHashMap<>();
        parts.forEach((k, v) -> expected.put(k, (long) v.size()));
        Duration quiet =
            Duration.ofMillis(config.getLong(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS))
                .plusSeconds(8);
        Map<String, Synthesis> last =
            SummarizerBench.awaitSyntheses(
                cluster, catalog.spec(TopicRole.SYNTHESES).name(), expected, quiet, progress);
        return report(meetings, parts, last, route);
      }
    }
  }

  private void send(BenchCluster cluster, String topic, Map<String, List<String>> parts) {
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
      int m = 0;
      for (Map.Entry<String, List<String>> e : parts.entrySet()) {
        for (int i = 0; i < e.getValue().size(); i++) {
          ObjectNode doc = JsonNodeFactory.instance.objectNode();
          doc.put("docId", String.format("%s-part-%03d", e.getKey(), i + 1));
          doc.put("text", e.getValue().get(i));
          // A meeting a day, a part a minute: the order of the parts is the order of the meeting.
          doc.put("timestamp", START.plus(Duration.ofDays(m)).plusSeconds(60L * i).toString());
          producer.send(new ProducerRecord<>(topic, e.getKey(), doc.toString()));
        }
        progress.say("sent %s as %d parts", e.getKey(), e.getValue().size());
        m++;
      }
    }
  }

  static ObjectNode report(
      List<Meeting> meetings,
      Map<String, List<String>> parts,
      Map<String, Synthesis> last,
      String route) {
    ObjectNode report = JsonNodeFactory.instance.objectNode();
    report.put("benchmark", "summarizer-quality");
    report.put(
        "dataset", "qmsum (test split, " + meetings.size() + " meetings bundled, MIT licence)");
    report.put("provider", route);
    report.put(
        "provider_note",
        "offline".equals(route)
            ? "the offline engine: extractive sentence selection, not an LLM"
            : "the LLM the configuration routes the summarizer to");
    TreeSet<String> models = new TreeSet<>();
    last.values()
        .forEach(
            s ->
                models.add(
                    s.model() == null
                        ? "(none: the top was one node, no synthesis call)"
                        : s.model()));
    report
        .putArray("synthesis_models")
        .addAll(models.stream().map(JsonNodeFactory.instance::textNode).toList());
    report.put(
        "rouge",
        "lower-cased [a-z0-9]+ tokens, no stemming; ROUGE-L is the LCS over the whole text");
    double[][] sums = new double[2][6];
    var rows = report.putArray("meetings");
    for (Meeting m : meetings) {
      Synthesis s = last.get(m.meeting());
      List<String> synthesis = Rouge.tokens(s.text());
      List<String> transcript = Rouge.tokens(m.transcript());
      List<String> lead = transcript.subList(0, Math.min(synthesis.size(), transcript.size()));
      List<String> reference = Rouge.tokens(m.reference());
      ObjectNode row = rows.addObject();
      row.put("meeting", m.meeting());
      row.put("documents", parts.get(m.meeting()).size());
      row.put("synthesis_level", s.level());
      row.put("synthesis_tokens", synthesis.size());
      row.put("reference_tokens", reference.size());
      row.put("model", s.model());
      scores(row.putObject("synthesis"), synthesis, reference, sums[0]);
      scores(row.putObject("lead"), lead, reference, sums[1]);
    }
    ObjectNode mean = report.putObject("mean");
    String[] names = {
      "rouge1_f1", "rouge1_recall", "rouge2_f1", "rouge2_recall", "rougeL_f1", "rougeL_recall"
    };
    for (int side = 0; side < 2; side++) {
      ObjectNode o = mean.putObject(side == 0 ? "synthesis" : "lead");
      for (int i = 0; i < names.length; i++) {
        o.put(names[i], GatewayBench.round(sums[side][i] / meetings.size()));
      }
    }
    return report;
  }

  private static void scores(
      ObjectNode out, List<String> candidate, List<String> reference, double[] sums) {
    Rouge.Score[] s = {
      Rouge.n(candidate, reference, 1),
      Rouge.n(candidate, reference, 2),
      Rouge.l(candidate, reference)
    };
    String[] names = {"rouge1", "rouge2", "rougeL"};
    for (int i = 0; i < s.length; i++) {
      out.put(names[i] + "_f1", GatewayBench.round(s[i].f1()));
      out.put(names[i] + "_recall", GatewayBench.round(s[i].recall()));
      sums[2 * i] += s[i].f1();
      sums[2 * i + 1] += s[i].recall();
    }
  }

  /**
   * A transcript cut at line ends into parts of at most {@code maxChars} (a longer single line is a
   * part alone).
   */
  static List<String> parts(String transcript, int maxChars) {
    List<String> out = new ArrayList<>();
    StringBuilder part = new StringBuilder();
    for (String line : transcript.split("\n")) {
      if (part.length() > 0 && part.length() + 1 + line.length() > maxChars) {
        out.add(part.toString());
        part.setLength(0);
      }
      part.append(part.length() > 0 ? "\n" : "").append(line);
    }
    if (!part.toString().isBlank()) {
      out.add(part.toString());
    }
    return out;
  }

  static List<Meeting> meetings() throws Exception {
    List<Meeting> out = new ArrayList<>();
    try (var in =
        new BufferedReader(
            new InputStreamReader(
                QualityBench.class.getClassLoader().getResourceAsStream("quality/qmsum-test.jsonl"),
                StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        JsonNode n = Json.tree(line);
        out.add(
            new Meeting(
                n.path("meeting").asText(),
                n.path("transcript").asText(),
                n.path("reference").asText()));
      }
    }
    return out;
  }
}
