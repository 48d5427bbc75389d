package dev.llmstreams.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThreadReplacementsTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void threadsAreReplacedUpToTheLimitWithinTheWindowThenThePatternStops() {
    AtomicLong now = new AtomicLong(5 * SECOND);
    ThreadReplacements deaths = new ThreadReplacements(3, now::get);
    assertThat(deaths.replace()).isTrue();
    now.addAndGet(SECOND / 4); // a broker that refuses: deaths come back at once
    assertThat(deaths.replace()).isTrue();
    now.addAndGet(45 * SECOND); // a record that kills each thread: once a session timeout
    assertThat(deaths.replace()).isTrue();
    assertThat(deaths.recent()).isEqualTo(3);
    now.addAndGet(45 * SECOND);
    assertThat(deaths.replace()).as("a fourth death within the window: a loop").isFalse();
  }

  @Test
  void deathsFarApartAreEachReplaced() {
    AtomicLong now = new AtomicLong();
    ThreadReplacements deaths = new ThreadReplacements(1, now::get);
    long window = ThreadReplacements.WINDOW.toNanos();
    for (int i = 0; i < 10; i++) {
      assertThat(deaths.replace()).as("death %d", i).isTrue();
      assertThat(deaths.recent()).isEqualTo(1);
      now.addAndGet(window); // the window's length: this death leaves it before the next
    }
    assertThat(deaths.replace()).isTrue();
    now.addAndGet(window - SECOND);
    assertThat(deaths.replace()).as("the previous death is still within the window").isFalse();
  }

  @Test
  void aLimitOfZeroStopsThePatternAtTheFirstDeath() {
    assertThat(new ThreadReplacements(0).replace()).isFalse();
    assertThatThrownBy(() -> new ThreadReplacements(-1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
