package dev.llmstreams.runtime.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The cache of exact vectors: it never changes a vector, it counts, and it stays bounded. */
class SentenceEncoderCacheTest {
  private static SentenceEncoder uncached;

  @BeforeAll
  static void load() {
    uncached = new SentenceEncoder(EncoderModel.MINILM);
  }

  @AfterAll
  static void close() {
    uncached.close();
  }

  @Test
  void shouldServeTheSameVectorAsAnUncachedEncoderAndCountAHit() {
    try (SentenceEncoder cached = new SentenceEncoder(EncoderModel.MINILM, 8)) {
      String text = "My card has not arrived yet.";

      float[] first = cached.embed(text);
      float[] again = cached.embed(text);

      assertThat(first).isEqualTo(uncached.embed(text));
      assertThat(again).isEqualTo(first).isNotSameAs(first);
      assertThat(cached.cacheMisses()).isEqualTo(1);
      assertThat(cached.cacheHits()).isEqualTo(1);
    }
  }

  @Test
  void shouldServeExactVectorsWhateverWasEmbeddedBefore() {
    try (SentenceEncoder cached = new SentenceEncoder(EncoderModel.MINILM, 8)) {
      List<String> texts =
          List.of("Where is my card?", "What is the exchange rate?", "My phone was stolen.");
      cached.embed(texts); // a batch: neither reads nor fills the cache
      texts.forEach(cached::embed);
      // A cached vector cannot be changed through the array handed out.
      cached.embed(texts.get(0))[0] = 42;

      for (String t : texts) {
        assertThat(cached.embed(t)).isEqualTo(uncached.embed(t));
      }
      assertThat(cached.cacheMisses()).isEqualTo(3);
      assertThat(cached.cacheHits()).isEqualTo(4);
    }
  }

  @Test
  void shouldKeepAtMostItsCapacityDroppingTheLeastRecentlyUsed() {
    try (SentenceEncoder cached = new SentenceEncoder(EncoderModel.MINILM, 2)) {
      cached.embed("one");
      cached.embed("two");
      cached.embed("one"); // hit: "two" is now the least recently used
      cached.embed("three"); // evicts "two"

      assertThat(cached.cachedVectors()).isEqualTo(2);
      assertThat(cached.cacheCapacity()).isEqualTo(2);
      cached.embed("one");
      assertThat(cached.cacheHits()).isEqualTo(2);
      cached.embed("two");
      assertThat(cached.cacheMisses()).isEqualTo(4);
      assertThat(cached.cachedVectors()).isEqualTo(2);
    }
  }

  @Test
  void shouldHaveNoCacheByDefaultAndRefuseANegativeSize() {
    uncached.embed("hello");
    uncached.embed("hello");

    assertThat(uncached.cacheCapacity()).isZero();
    assertThat(uncached.cacheHits()).isZero();
    assertThat(uncached.cacheMisses()).isZero();
    assertThatThrownBy(() -> new SentenceEncoder(EncoderModel.MINILM, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldRefuseToEmbedOnceClosedEvenACachedText() {
    SentenceEncoder cached = new SentenceEncoder(EncoderModel.MINILM, 8);
    cached.embed("hello");
    cached.close();

    assertThatThrownBy(() -> cached.embed("hello")).isInstanceOf(IllegalStateException.class);
  }
}
