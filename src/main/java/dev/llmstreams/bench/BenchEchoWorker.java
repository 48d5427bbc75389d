package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A STAND-IN for the calculator's tool worker, for {@code bench controller} until the {@code tools} pattern is in
 * this build: it answers every call on {@code tool-calls.calculator} with 3 on {@code tool-results}, from a plain
 * consumer and a non-transactional producer. Not the real worker: no evaluation, no idempotency store, no
 * exactly-once commit, so its hop is cheaper than the real one's.
 */
final class BenchEchoWorker implements AutoCloseable {
  static final String NAME = "bench echo worker (a stand-in: the tools pattern is not in this build)";

  private final Thread thread;
  private volatile boolean running = true;

  private BenchEchoWorker(BenchCluster cluster, TopicCatalog catalog) {
    Topic<ToolCall> calls = catalog.toolCalls(ControllerBench.TOOL, ToolCall.class);
    Topic<ToolResult> results = catalog.topic(Topics.TOOL_RESULTS);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    thread = new Thread(() -> {
      try (KafkaConsumer<String, String> consumer = cluster.committedReader(calls.name(), true);
          KafkaProducer<String, ToolResult> producer = new KafkaProducer<>(pp, results.keySerde().serializer(),
              results.valueSerde().serializer())) {
        while (running) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
            long start = System.nanoTime();
            ToolCall call = calls.valueSerde().deserializer().deserialize(calls.name(),
                r.value().getBytes(StandardCharsets.UTF_8));
            ToolResult result = new ToolResult(call.callId(), call.goalId(), call.tool(), true, IntNode.valueOf(3), null,
                (System.nanoTime() - start) / 1_000_000, "bench-echo-worker");
            producer.send(new ProducerRecord<>(results.name(), call.goalId(), result));
          }
          producer.flush();
        }
      }
    }, "bench-echo-worker");
    thread.setDaemon(true);
  }

  static BenchEchoWorker start(BenchCluster cluster, TopicCatalog catalog) {
    BenchEchoWorker worker = new BenchEchoWorker(cluster, catalog);
    worker.thread.start();
    return worker;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(5_000);
  }
}
