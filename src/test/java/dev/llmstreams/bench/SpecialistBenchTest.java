package dev.llmstreams.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SpecialistBenchTest {
  @Test
  void theMedianOfAnOddCountIsTheMiddleValue() {
    assertEquals(0.72, SpecialistBench.median(List.of(0.61, 0.72, 0.80)));
  }

  @Test
  void theMedianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
    assertEquals(0.75, SpecialistBench.median(List.of(0.6, 0.7, 0.8, 0.9)), 1e-12);
  }

  @Test
  void oneRoundIsItsOwnMedian() {
    assertEquals(0.5, SpecialistBench.median(List.of(0.5)));
  }
}
