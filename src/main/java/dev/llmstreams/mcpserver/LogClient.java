package dev.llmstreams.mcpserver;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.topics.Schemas;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * How the MCP tools reach Kafka, as any producer and consumer would: a value is checked against its
 * topic's JSON Schema and read as its event type before it is sent (what {@code llm-streams
 * produce} refuses, this refuses), then produced with the app's producer settings; outputs are
 * awaited on one shared read_committed consumer ({@link ResultWaiter}). The clients are made at the
 * first call that needs them, so an app whose /mcp is never called opens no connection for it.
 */
public final class LogClient implements AutoCloseable {
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(45);

  /** The topics whose records callers wait for. */
  static final List<TopicRole> AWAITED = List.of(TopicRole.GOAL_RESULTS, TopicRole.CLASSIFICATIONS);

  private final TopicCatalog catalog;
  private final Schemas schemas;
  private final Supplier<Producer<byte[], byte[]>> producers;
  private final Supplier<Consumer<byte[], byte[]>> consumers;
  private Producer<byte[], byte[]> producer;
  private ResultWaiter waiter;
  private boolean closed;

  /** A value that its topic would refuse; the message says why. */
  public static final class RefusedValue extends Exception {
    private static final long serialVersionUID = 1L;

    RefusedValue(String message) {
      super(message);
    }
  }

  /**
   * @param producers makes the producer (the app's settings: acks=all, idempotent)
   * @param consumers makes the consumer that waits for outputs (read_committed, no group)
   */
  public LogClient(
      TopicCatalog catalog,
      Supplier<Producer<byte[], byte[]>> producers,
      Supplier<Consumer<byte[], byte[]>> consumers) {
    this.catalog = catalog;
    this.schemas = new Schemas(catalog);
    this.producers = producers;
    this.consumers = consumers;
  }

  /** The topic name of a role, with the deployment's prefix. */
  public String topic(TopicRole role) {
    return catalog.spec(role).name();
  }

  /**
   * Checks {@code value} against the topic's schema and event type, then produces it under {@code
   * key} and waits for the broker's acknowledgement.
   */
  public RecordMetadata send(TopicRole role, String key, JsonNode value)
      throws RefusedValue, InterruptedException {
    return send(role, key, value, null);
  }

  /** As {@link #send(TopicRole, String, JsonNode)}, with record headers (e.g. trace context). */
  public RecordMetadata send(
      TopicRole role, String key, JsonNode value, org.apache.kafka.common.header.Headers headers)
      throws RefusedValue, InterruptedException {
    TopicSpec spec = catalog.spec(role);
    List<String> problems = schemas.validate(spec.name(), value);
    if (!problems.isEmpty()) {
      throw new RefusedValue(
          "does not match the schema of " + spec.name() + ": " + String.join("; ", problems));
    }
    byte[] bytes;
    try {
      bytes = Json.writer().writeValueAsBytes(value);
      JsonSerde.of(Class.forName(spec.valueType())).deserializer().deserialize(spec.name(), bytes);
    } catch (ClassNotFoundException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      throw new RefusedValue(e.getMessage());
    }
    try {
      return producer()
          .send(
              new ProducerRecord<>(
                  spec.name(), null, key.getBytes(StandardCharsets.UTF_8), bytes, headers))
          .get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot produce to " + spec.name() + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "cannot produce to " + spec.name() + ": no acknowledgement within " + SEND_TIMEOUT);
    }
  }

  /**
   * Starts waiting for the next committed record with {@code key} on the topic of {@code role} (one
   * of {@link #AWAITED}); call before producing what it answers.
   */
  ResultWaiter.Waiting expect(TopicRole role, String key) throws InterruptedException {
    if (!AWAITED.contains(role)) {
      throw new IllegalArgumentException(role + " is not awaited");
    }
    return waiter().expect(topic(role), key, START_TIMEOUT);
  }

  /**
   * Makes the clients now rather than at the first call, in the background: the first wait then
   * finds the consumer at its start positions already.
   */
  public void warmUp() {
    producer();
    waiter();
  }

  private synchronized Producer<byte[], byte[]> producer() {
    if (closed) {
      throw new IllegalStateException("the MCP server is closed");
    }
    if (producer == null) {
      producer = producers.get();
    }
    return producer;
  }

  private synchronized ResultWaiter waiter() {
    if (closed) {
      throw new IllegalStateException("the MCP server is closed");
    }
    if (waiter != null && !waiter.healthy()) {
      waiter.close();
      waiter = null;
    }
    if (waiter == null) {
      waiter = new ResultWaiter(consumers.get(), AWAITED.stream().map(this::topic).toList());
    }
    return waiter;
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (waiter != null) {
      waiter.close();
      waiter = null;
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }
}
