package dev.llmstreams.topics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes every record that cannot be read or processed to {@code dead-letters}: original key and
 * value bytes unchanged, the original headers kept, and headers saying where it came from and why.
 * The records go out through Kafka Streams' own producer (KIP-1034), so under exactly-once they are
 * committed atomically with the input offset: a poison record lands in dead-letters exactly once.
 */
public final class DeadLetters {
  /** Streams config key carrying the dead-letters topic name to the handlers. */
  public static final String TOPIC_CONFIG = "llmstreams.dead.letters.topic";

  /** Streams config key carrying the {@link MeterRegistry} to the handlers. */
  public static final String REGISTRY_CONFIG = "llmstreams.meter.registry";

  public static final String SOURCE_TOPIC = "llmstreams.dlq.source.topic";
  public static final String SOURCE_PARTITION = "llmstreams.dlq.source.partition";
  public static final String SOURCE_OFFSET = "llmstreams.dlq.source.offset";
  public static final String EXCEPTION_CLASS = "llmstreams.dlq.exception.class";
  public static final String EXCEPTION_MESSAGE = "llmstreams.dlq.exception.message";
  public static final String STAGE = "llmstreams.dlq.stage";
  public static final String PROCESSOR = "llmstreams.dlq.processor";
  public static final String FAILED_AT = "llmstreams.dlq.failed.at";

  /** The W3C trace context header; kept from the input, or a new trace when it had none. */
  static final String TRACEPARENT = "traceparent";

  /**
   * For a record re-routed to its key's partition ({@link KeyedInput}): the internal
   * topic-partition@offset it was read from.
   */
  public static final String REROUTED_VIA = "llmstreams.dlq.rerouted.via";

  /**
   * A message header value is capped so a huge exception text cannot make the dead letter too
   * large.
   */
  private static final int MAX_MESSAGE_CHARS = 2_000;

  private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

  private final String topic;
  private final MeterRegistry registry;

  DeadLetters(Map<String, ?> configs) {
    Object name = configs.get(TOPIC_CONFIG);
    if (!(name instanceof String s) || s.isBlank()) {
      throw new IllegalStateException(TOPIC_CONFIG + " must name the dead-letters topic");
    }
    this.topic = s;
    this.registry =
        configs.get(REGISTRY_CONFIG) instanceof MeterRegistry r ? r : Metrics.globalRegistry;
  }

  public enum Stage {
    DESERIALIZATION,
    PROCESSING,
    PRODUCTION
  }

  /**
   * A record of a global store's topic (task {@code -1_-1}): Kafka Streams 4.4 has no producer
   * there, and dead-letter records returned for one kill the global thread, and with it the whole
   * client, at every restart (a ClassCastException in RecordDeserializer). Such a record can only
   * be skipped: said loudly and counted.
   */
  static boolean fromGlobalStore(ErrorHandlerContext ctx) {
    return ctx.taskId() != null && ctx.taskId().subtopology() < 0;
  }

  /**
   * Skips a record of a global store's topic (see {@link #fromGlobalStore}); its offset is passed
   * all the same.
   */
  List<ProducerRecord<byte[], byte[]>> skip(Stage stage, ErrorHandlerContext ctx, Exception error) {
    Counter.builder("llmstreams.records.skipped")
        .description(
            "Records of a global store's topic that could not be read or processed; Kafka Streams cannot"
                + " dead-letter them, so they are skipped")
        .tag("source_topic", String.valueOf(ctx.topic()))
        .tag("stage", stage.name().toLowerCase())
        .tag("reason", error.getClass().getSimpleName())
        .register(registry)
        .increment();
    LOG.warn(
        "skipped a record of global store topic {}-{}@{} ({}), which cannot be dead-lettered: {}",
        ctx.topic(),
        ctx.partition(),
        ctx.offset(),
        stage.name().toLowerCase(),
        String.valueOf(error.getMessage()));
    return List.of();
  }

  /**
   * The dead letter of a record, or nothing for a record of a global store's topic (skipped, see
   * above).
   */
  List<ProducerRecord<byte[], byte[]>> deadLetter(
      Stage stage,
      ErrorHandlerContext ctx,
      byte[] key,
      byte[] value,
      Headers original,
      Exception error) {
    return fromGlobalStore(ctx)
        ? skip(stage, ctx, error)
        : List.of(record(stage, ctx, key, value, original, error));
  }

  ProducerRecord<byte[], byte[]> record(
      Stage stage,
      ErrorHandlerContext ctx,
      byte[] key,
      byte[] value,
      Headers original,
      Exception error) {
    if (error instanceof UnreadableRecordException unreadable) {
      // Decoded by a processor after placement (KeyedInput), not by the source: still a value that
      // cannot be read.
      stage = Stage.DESERIALIZATION;
      error = unreadable.reason();
    }
    Source source = Source.of(ctx, original);
    Headers headers = new RecordHeaders();
    if (original != null) {
      for (Header h : original) {
        if (!h.key().startsWith("llmstreams.dlq.")
            && !(source.rerouted() && h.key().startsWith("llmstreams.origin."))) {
          headers.add(h);
        }
      }
    }
    if (headers.lastHeader(TRACEPARENT) == null) {
      // The input carried no trace context: the dead letter starts a trace of its own (not sampled:
      // no span of it is recorded), so that it can be found by trace id like any output.
      io.opentelemetry.sdk.trace.IdGenerator ids = io.opentelemetry.sdk.trace.IdGenerator.random();
      put(headers, TRACEPARENT, "00-" + ids.generateTraceId() + "-" + ids.generateSpanId() + "-00");
    }
    String message = String.valueOf(error.getMessage());
    if (message.length() > MAX_MESSAGE_CHARS) {
      message = message.substring(0, MAX_MESSAGE_CHARS) + "…";
    }
    put(headers, SOURCE_TOPIC, source.topic());
    put(headers, SOURCE_PARTITION, source.partition());
    put(headers, SOURCE_OFFSET, source.offset());
    if (source.rerouted()) {
      put(headers, REROUTED_VIA, ctx.topic() + "-" + ctx.partition() + "@" + ctx.offset());
    }
    put(headers, EXCEPTION_CLASS, error.getClass().getName());
    put(headers, EXCEPTION_MESSAGE, message);
    put(headers, STAGE, stage.name().toLowerCase());
    put(headers, PROCESSOR, ctx.processorNodeId());
    put(headers, FAILED_AT, Instant.ofEpochMilli(System.currentTimeMillis()).toString());
    Counter.builder("llmstreams.dead.letters")
        .description("Records sent to dead-letters, by source topic and reason")
        .tag("source_topic", source.topic())
        .tag("stage", stage.name().toLowerCase())
        .tag("reason", error.getClass().getSimpleName())
        .register(registry)
        .increment();
    LOG.warn(
        "dead letter from {}-{}@{} ({}): {}",
        source.topic(),
        source.partition(),
        source.offset(),
        stage.name().toLowerCase(),
        message);
    return new ProducerRecord<>(topic, null, key, value, headers);
  }

  /**
   * Where a failed record was produced: its input topic, partition and offset, also for a record
   * read from a re-route topic ({@link KeyedInput}), whose origin headers say where it first
   * arrived. Those headers are believed only on a re-route topic, where the app itself wrote them
   * over whatever a producer sent.
   */
  record Source(String topic, String partition, String offset, boolean rerouted) {
    static Source of(ErrorHandlerContext ctx, Headers headers) {
      return KeyedInput.origin(ctx.topic(), headers)
          .map(o -> new Source(o.topic(), o.partition(), o.offset(), true))
          .orElseGet(
              () ->
                  new Source(
                      String.valueOf(ctx.topic()),
                      String.valueOf(ctx.partition()),
                      String.valueOf(ctx.offset()),
                      false));
    }
  }

  private static void put(Headers headers, String key, String value) {
    if (value != null) {
      headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Input bytes that are not a valid event: dead-letter them and keep going. */
  public static final class OnDeserialization implements DeserializationExceptionHandler {
    private DeadLetters dlq;

    @Override
    public void configure(Map<String, ?> configs) {
      dlq = new DeadLetters(configs);
    }

    @Override
    public Response handleError(
        ErrorHandlerContext ctx, ConsumerRecord<byte[], byte[]> record, Exception e) {
      return Response.resume(
          dlq.deadLetter(
              Stage.DESERIALIZATION, ctx, record.key(), record.value(), record.headers(), e));
    }
  }

  /** A processor refused or failed on one record: dead-letter the source record and keep going. */
  public static final class OnProcessing implements ProcessingExceptionHandler {
    private DeadLetters dlq;

    @Override
    public void configure(Map<String, ?> configs) {
      dlq = new DeadLetters(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext ctx, Record<?, ?> record, Exception e) {
      return Response.resume(
          dlq.deadLetter(
              Stage.PROCESSING, ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), ctx.headers(), e));
    }
  }

  /**
   * An output that cannot be written (does not serialize, or is larger than the topic allows): the
   * source record goes to dead-letters. Any other send error fails the task, as Kafka's default
   * does.
   */
  public static final class OnProduction implements ProductionExceptionHandler {
    private DeadLetters dlq;

    @Override
    public void configure(Map<String, ?> configs) {
      dlq = new DeadLetters(configs);
    }

    @Override
    public Response handleError(
        ErrorHandlerContext ctx, ProducerRecord<byte[], byte[]> record, Exception e) {
      if (e instanceof RecordTooLargeException) {
        return Response.resume(
            dlq.deadLetter(
                Stage.PRODUCTION, ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), ctx.headers(), e));
      }
      return Response.fail();
    }

    @Override
    @SuppressWarnings("rawtypes") // Kafka's ProductionExceptionHandler declares the record raw
    public Response handleSerializationError(
        ErrorHandlerContext ctx,
        ProducerRecord record,
        Exception e,
        SerializationExceptionOrigin origin) {
      return Response.resume(
          dlq.deadLetter(
              Stage.PRODUCTION, ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), ctx.headers(), e));
    }
  }
}
