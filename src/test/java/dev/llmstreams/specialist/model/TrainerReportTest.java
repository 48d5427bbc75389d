package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What train tells a user whose model escalates most events, and why. */
class TrainerReportTest {

  private static CascadeCalibration.Point point(double bound, double coverage, double kept) {
    return new CascadeCalibration.Point(
        bound,
        new CascadeCalibration.Choice(0.9, 0.8, coverage, 0.98, 0.5, kept, true, Double.NaN));
  }

  @Test
  void shouldWarnWhenTheOutOfScopeBoundCostsMuchCoverage() {
    List<CascadeCalibration.Point> costly =
        List.of(point(0.05, 0.08, 0.05), point(0.25, 0.22, 0.25), point(1, 0.87, 0.93));

    List<String> lines = TrainerReport.tradeOffLines(costly, 0.25, true, true, null);

    assertThat(lines).hasSize(5);
    assertThat(lines.get(2))
        .startsWith("  0.25 (this model):")
        .contains("kept  25.0%", "coverage 0.220", "hashed stage 50.0%");
    assertThat(lines.get(3)).startsWith("  1 (no bound):");
    assertThat(lines.get(4))
        .startsWith("out of scope: WARNING the bound costs 0.650 of held-out coverage")
        .contains("escalates 78.0% of in-scope events instead of 13.0%", "--out-of-scope-label");
    // The in-app retrainer logs the warning at WARN and the trade-off rows at INFO.
    assertThat(ModelTrainer.isWarning(lines.get(4))).isTrue();
    assertThat(lines.subList(0, 4)).noneMatch(ModelTrainer::isWarning);
  }

  @Test
  void shouldNotWarnWhenTheBoundCostsLittle() {
    List<CascadeCalibration.Point> cheap =
        List.of(point(0.05, 0.70, 0.05), point(0.25, 0.85, 0.24), point(1, 0.91, 0.39));

    List<String> lines = TrainerReport.tradeOffLines(cheap, 0.25, false, true, null);

    assertThat(lines).hasSize(4).noneMatch(l -> l.contains("WARNING"));
    assertThat(lines).noneMatch(l -> l.contains("hashed stage"));
    assertThat(TrainerReport.tradeOffLines(List.of(), 0.25, false, true, null)).isEmpty();
  }

  @Test
  void shouldWarnWhenTheTargetAccuracyLeavesFewEventsKeptAndShowLowerTargets() {
    // Held-out predictions right about half the time, whatever the confidence.
    int n = 2_000;
    double[] c = new double[n];
    boolean[] right = new boolean[n];
    java.util.Random r = new java.util.Random(1);
    for (int i = 0; i < n; i++) {
      c[i] = r.nextDouble();
      right[i] = r.nextDouble() < 0.3 + 0.6 * c[i];
    }
    CascadeCalibration.HeldOut held = new CascadeCalibration.HeldOut(c, right, c, right);
    CascadeCalibration.Choice choice = CascadeCalibration.choose(held, null, false, 0.97, 1, 0.01);

    String line =
        TrainerReport.lowCoverageLine(
                t -> CascadeCalibration.choose(held, null, false, t, 1, 0.01),
                false,
                0.97,
                choice,
                0.6)
            .orElseThrow();

    assertThat(choice.coverage()).isLessThan(TrainerReport.LOW_COVERAGE);
    assertThat(line)
        .startsWith("WARNING at target accuracy 0.97 the model keeps ")
        .matches(ModelTrainer::isWarning, "a warning to the in-app retrainer")
        .contains("(its accuracy on all of them: 0.600)", "0.95 keeps", "0.7 keeps");
    // The lower targets' figures are what training for them would choose.
    double at80 = CascadeCalibration.choose(held, null, false, 0.8, 1, 0.01).coverage();
    assertThat(line).contains(String.format(java.util.Locale.ROOT, "0.8 keeps %.1f%%", 100 * at80));
    assertThat(at80).isGreaterThan(choice.coverage());

    // Where the out-of-scope bound, not the target, holds the coverage down, lower targets are
    // not offered.
    double[] sure = new double[500];
    java.util.Arrays.fill(sure, 0.99);
    CascadeCalibration.OutOfScope confident = new CascadeCalibration.OutOfScope(sure, sure);
    CascadeCalibration.Choice bound =
        CascadeCalibration.choose(held, confident, false, 0.97, 0.25, 0.01);
    String heldDown =
        TrainerReport.lowCoverageLine(
                t -> CascadeCalibration.choose(held, confident, false, t, 0.25, 0.01),
                true,
                0.97,
                bound,
                0.6)
            .orElseThrow();
    assertThat(heldDown)
        .contains("Lower targets keep no more: the out-of-scope bound holds the coverage down")
        .doesNotContain("0.95 keeps");

    CascadeCalibration.Choice easy = CascadeCalibration.choose(held, null, false, 0.5, 1, 0.01);
    List<String> none = new ArrayList<>();
    TrainerReport.lowCoverageLine(
            t -> CascadeCalibration.choose(held, null, false, t, 1, 0.01), false, 0.5, easy, 0.6)
        .ifPresent(none::add);
    assertThat(easy.coverage()).isGreaterThanOrEqualTo(TrainerReport.LOW_COVERAGE);
    assertThat(none).isEmpty();
  }

  @Test
  void shouldPassProgressOnOnlyEveryFewSeconds() {
    List<String> said = new ArrayList<>();
    long[] now = {0};
    TrainerReport.Every every = new TrainerReport.Every(said::add, () -> now[0]);

    every.accept(() -> "epoch 1");
    now[0] += TrainerReport.Every.PROGRESS_EVERY_NANOS - 1;
    every.accept(() -> "epoch 2");
    now[0] += 1;
    every.accept(() -> "epoch 3");
    every.accept(() -> "epoch 4");
    now[0] += TrainerReport.Every.PROGRESS_EVERY_NANOS;
    every.accept(() -> "epoch 5");

    assertThat(said).containsExactly("epoch 3", "epoch 5");
  }
}
