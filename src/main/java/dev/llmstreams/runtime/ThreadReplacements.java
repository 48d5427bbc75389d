package dev.llmstreams.runtime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.LongSupplier;

/**
 * How a pattern answers a stream thread that died of an unexpected error: replace it, unless
 * threads have died more than {@code limit} times within {@link #WINDOW}. A thread that dies once
 * (a bug met by one record, an error in a library) is replaced and the pattern goes on; a thread
 * that dies again at once is in a loop that replacing cannot end: a fatal error from the broker (a
 * group it refuses, an authorization taken away) or an {@code Error} on a record that is read again
 * after each death, since under exactly-once its offset was never committed. Kafka Streams would
 * replace such threads every few hundred milliseconds forever, with the pattern seeming alive; past
 * the limit the pattern shuts down instead (state ERROR, {@code /health} alive false), so that the
 * process is restarted and the error is seen.
 */
public final class ThreadReplacements {
  /**
   * The window the limit counts deaths in: long enough to hold several deaths that come back once a
   * session timeout.
   */
  public static final Duration WINDOW = Duration.ofMinutes(10);

  private final int limit;
  private final LongSupplier nanos;
  private final Deque<Long> deaths = new ArrayDeque<>();

  public ThreadReplacements(int limit) {
    this(limit, System::nanoTime);
  }

  ThreadReplacements(int limit, LongSupplier nanos) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit < 0: " + limit);
    }
    this.limit = limit;
    this.nanos = nanos;
  }

  /**
   * Records a death; true when the thread may be replaced (at most {@code limit} within {@link
   * #WINDOW}), false when the pattern should shut down.
   */
  public synchronized boolean replace() {
    long now = nanos.getAsLong();
    while (!deaths.isEmpty() && now - deaths.peekFirst() >= WINDOW.toNanos()) {
      deaths.removeFirst();
    }
    deaths.addLast(now);
    return deaths.size() <= limit;
  }

  /** Deaths within the window, this one included. */
  public synchronized int recent() {
    return deaths.size();
  }

  public int limit() {
    return limit;
  }
}
