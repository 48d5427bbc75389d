package dev.llmstreams.runtime;

import org.apache.kafka.streams.processor.api.ProcessingContext;

/**
 * Commits the first output after a quiet spell right away, instead of at the next commit interval
 * ({@code interactive.commit.quiet.ms}): under exactly-once another hop sees an output only once
 * its transaction commits, so a lone goal's step would otherwise wait up to a commit interval at
 * each hop. The processor calls {@link #wrote} when it has written a record another hop waits for;
 * when its previous such record was at least the quiet time ago, it asks Kafka Streams for a commit
 * ({@code ProcessingContext.commit()}), which then follows the batch under way. Off by default:
 * measured with {@code bench controller}, 20 ms cut a lone goal's step overhead from 18 to 13 ms
 * (p50) but cost 14% of goals/s with 64 goals in flight, whose LLM replies arrive in waves that
 * each begin after a quiet spell; asking after every output halved the throughput.
 */
public final class QuietCommits {
  /**
   * The Streams property (ours, read back through {@code ProcessingContext.appConfigs()}) that
   * carries {@code interactive.commit.quiet.ms} to the processors of a pattern.
   */
  public static final String QUIET_MS = "llmstreams.commit.quiet.ms";

  private final long quietMs;
  private long lastMs = Long.MIN_VALUE / 2;

  private QuietCommits(long quietMs) {
    this.quietMs = quietMs;
  }

  /** The quiet time of the pattern this processor belongs to (0, or none given: off). */
  public static QuietCommits of(ProcessingContext context) {
    Object value = context.appConfigs().get(QUIET_MS);
    long ms = value == null ? 0 : Long.parseLong(String.valueOf(value));
    return new QuietCommits(ms);
  }

  /** An output another hop waits for was written at {@code nowMs} (wall clock). */
  public void wrote(ProcessingContext context, long nowMs) {
    if (quietMs > 0 && nowMs - lastMs >= quietMs) {
      context.commit();
    }
    lastMs = nowMs;
  }
}
