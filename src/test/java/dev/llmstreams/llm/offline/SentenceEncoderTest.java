package dev.llmstreams.llm.offline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.runtime.text.SentenceEncoder;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SentenceEncoderTest {
  private static SentenceEncoder encoder;

  @BeforeAll
  static void load() {
    long t0 = System.nanoTime();
    encoder = new SentenceEncoder();
    encoder.load();
    System.out.printf("encoder load: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
  }

  @AfterAll
  static void close() {
    encoder.close();
  }

  @Test
  void similarSentencesAreCloserThanUnrelatedOnesAndVectorsAreNormalised() {
    float[][] v =
        encoder.embed(
            List.of(
                "My card has not arrived yet.",
                "I am still waiting for my new card to be delivered.",
                "The weather is sunny in Rome."));
    for (float[] x : v) {
      assertThat(x).hasSize(SentenceEncoder.DIMENSIONS);
      assertThat(SentenceEncoder.cosine(x, x))
          .isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-4f));
    }
    assertThat(SentenceEncoder.cosine(v[0], v[1]))
        .isGreaterThan(SentenceEncoder.cosine(v[0], v[2]) + 0.3f);
  }

  @Test
  void batchesAreDeterministicAndCloseToExactVectorsWhichBatchSizeOneGives() {
    List<String> texts =
        Sentences.split(OfflineEngineTest.resource("ES2004a.transcript.txt")).subList(0, 70);
    float[][] batched = encoder.embed(texts);
    assertThat(encoder.embed(texts)).isDeepEqualTo(batched);
    float[][] exact = encoder.embed(texts, 1);
    for (int i = 0; i < texts.size(); i += 7) {
      assertThat(encoder.embed(texts.get(i))).isEqualTo(exact[i]);
      // int8 activations are quantized per batch: batch mates move a vector a little, never far.
      assertThat(SentenceEncoder.cosine(exact[i], batched[i])).isGreaterThan(0.95f);
    }
  }

  @Test
  void throughputOnTranscriptSentences() {
    List<String> sentences = Sentences.split(OfflineEngineTest.resource("IS1003b.transcript.txt"));
    encoder.embed(sentences.subList(0, 64)); // warm-up
    for (int batch : new int[] {1, SentenceEncoder.BATCH}) {
      // CPU time of this thread too (ONNX Runtime computes on the caller's thread with one intra-op
      // thread):
      // wall time alone says more about the machine's other load than about the encoder.
      java.lang.management.ThreadMXBean mx =
          java.lang.management.ManagementFactory.getThreadMXBean();
      long cpu0 = mx.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      encoder.embed(sentences, batch);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpuSeconds = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
      System.out.printf(
          "encoder, batch %d: %d transcript sentences in %.2f s wall (%.0f/s), %.2f s CPU (%.0f/s per core)%n",
          batch,
          sentences.size(),
          seconds,
          sentences.size() / seconds,
          cpuSeconds,
          sentences.size() / cpuSeconds);
    }
  }
}
