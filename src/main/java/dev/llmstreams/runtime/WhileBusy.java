package dev.llmstreams.runtime;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ProcessorContext;

/**
 * A wall-clock punctuation that runs only while its task has work in flight: Kafka Streams commits
 * after every wall-clock punctuation, so one left running on an idle task would commit every few
 * milliseconds for nothing. {@link #ensure} schedules it when there is work; it cancels itself once
 * {@code idle} holds after a run. One per task, made in {@code init}.
 */
public final class WhileBusy {
  private final ProcessorContext<?, ?> context;
  private final Duration interval;
  private final BooleanSupplier idle;
  private final LongConsumer work;
  private Cancellable schedule;

  public WhileBusy(
      ProcessorContext<?, ?> context, Duration interval, BooleanSupplier idle, LongConsumer work) {
    this.context = context;
    this.interval = interval;
    this.idle = idle;
    this.work = work;
  }

  /** Schedules the punctuation unless it is scheduled or there is nothing to do. */
  public void ensure() {
    if (schedule != null || idle.getAsBoolean()) {
      return;
    }
    schedule =
        context.schedule(
            interval,
            PunctuationType.WALL_CLOCK_TIME,
            now -> {
              work.accept(now);
              if (idle.getAsBoolean() && schedule != null) {
                schedule.cancel(); // allowed from inside the punctuation
                schedule = null;
              }
            });
  }
}
