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

  private static dev.llmstreams.events.SpecialistModel named(String name) {
    com.fasterxml.jackson.databind.node.ObjectNode empty =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    return new dev.llmstreams.events.SpecialistModel(
        name,
        "v1",
        java.time.Instant.EPOCH,
        List.of("a"),
        "0".repeat(64),
        empty,
        empty,
        "specialist-hashed-v1",
        "AA==",
        "0".repeat(64));
  }

  @Test
  void theAppServesTheNameOfTheModelsItIsGiven() {
    // A model saved by train --out keeps its own name (banking77), not the bench's.
    assertEquals("banking77", SpecialistBench.servedName(List.of(named("banking77"))));
    assertEquals(
        SpecialistBench.MODEL,
        SpecialistBench.servedName(
            List.of(named(SpecialistBench.MODEL), named(SpecialistBench.MODEL))));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> SpecialistBench.servedName(List.of(named("banking77"), named("other"))));
  }
}
