package dev.llmstreams.mcpserver;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer per process that waits for outputs by key for the MCP tools: it is assigned every
 * partition of its topics (no group), starts at their end and reads committed records only; each
 * record completes the futures waiting for its topic and key. A caller registers before it produces
 * the input, so the output cannot pass unseen.
 */
final class ResultWaiter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResultWaiter.class);
  private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(30);

  private final Consumer<byte[], byte[]> consumer;
  private final List<String> topics;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Map<String, List<CompletableFuture<byte[]>>> waiting = new HashMap<>();
  private final Thread thread;
  private volatile boolean closed;
  private volatile RuntimeException failure;

  ResultWaiter(Consumer<byte[], byte[]> consumer, List<String> topics) {
    this.consumer = consumer;
    this.topics = List.copyOf(topics);
    this.thread = new Thread(this::run, "llmstreams-mcp-results");
    thread.setDaemon(true);
    thread.start();
  }

  /** A registration for one output; {@link #close} it when no longer waiting. */
  final class Waiting implements AutoCloseable {
    private final String slot;
    private final CompletableFuture<byte[]> future;

    private Waiting(String slot, CompletableFuture<byte[]> future) {
      this.slot = slot;
      this.future = future;
    }

    /** The record's value, or null when none came within {@code timeout}. */
    byte[] await(Duration timeout) throws InterruptedException {
      try {
        return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        return null;
      } catch (ExecutionException e) {
        throw new IllegalStateException(
            "stopped reading " + String.join(" and ", topics) + ": " + e.getCause().getMessage(),
            e.getCause());
      }
    }

    @Override
    public void close() {
      synchronized (waiting) {
        List<CompletableFuture<byte[]>> list = waiting.get(slot);
        if (list != null) {
          list.remove(future);
          if (list.isEmpty()) {
            waiting.remove(slot);
          }
        }
      }
    }
  }

  /**
   * Registers a wait for the next record of {@code topic} with {@code key}; blocks until the
   * consumer has its start positions (the end of every partition), at most {@code timeout}.
   */
  Waiting expect(String topic, String key, Duration timeout) throws InterruptedException {
    try {
      ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot read " + String.join(" and ", topics) + ": " + e.getCause().getMessage(),
          e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "cannot read " + String.join(" and ", topics) + " yet: no position within " + timeout);
    }
    CompletableFuture<byte[]> future = new CompletableFuture<>();
    String slot = slot(topic, key);
    synchronized (waiting) {
      if (failure != null) {
        throw new IllegalStateException(
            "stopped reading " + String.join(" and ", topics) + ": " + failure.getMessage());
      }
      waiting.computeIfAbsent(slot, s -> new ArrayList<>()).add(future);
    }
    return new Waiting(slot, future);
  }

  /** False once the consumer stopped on an error; a new waiter must take its place. */
  boolean healthy() {
    return failure == null && !closed && !ready.isCompletedExceptionally();
  }

  private static String slot(String topic, String key) {
    return topic + '\u0000' + key;
  }

  private void run() {
    try {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : topics) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, METADATA_TIMEOUT);
        if (infos == null || infos.isEmpty()) {
          throw new IllegalStateException(
              "topic " + topic + " does not exist; run `llm-streams topics apply` first");
        }
        infos.forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
      }
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      for (TopicPartition p : partitions) {
        consumer.position(p, METADATA_TIMEOUT); // fixes the start now, not at the first poll
      }
      ready.complete(null);
      LOG.debug("MCP server reading {} from their end", topics);
      while (!closed) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          if (record.key() == null || record.value() == null) {
            continue;
          }
          String slot = slot(record.topic(), new String(record.key(), StandardCharsets.UTF_8));
          List<CompletableFuture<byte[]>> done;
          synchronized (waiting) {
            done = waiting.remove(slot);
          }
          if (done != null) {
            done.forEach(f -> f.complete(record.value()));
          }
        }
      }
    } catch (WakeupException e) {
      if (!closed) {
        fail(new IllegalStateException("woken up", e));
      }
    } catch (RuntimeException e) {
      LOG.warn("MCP server: stopped reading {}: {}", topics, e.toString());
      fail(e);
    } finally {
      try {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
      } catch (RuntimeException e) {
        LOG.debug("closing the MCP server's consumer", e);
      }
    }
  }

  private void fail(RuntimeException e) {
    List<CompletableFuture<byte[]>> all = new ArrayList<>();
    synchronized (waiting) {
      failure = e;
      waiting.values().forEach(all::addAll);
      waiting.clear();
    }
    ready.completeExceptionally(e);
    all.forEach(f -> f.completeExceptionally(e));
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    fail(new IllegalStateException("the MCP server is closing"));
  }
}
