package dev.llmstreams.specialist.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What {@link ModelTrainer} tells the user beyond its figures: progress at a readable pace, the
 * out-of-scope trade-off, and warnings when the model would escalate most events.
 */
final class TrainerReport {
  private TrainerReport() {}

  /**
   * Passes a progress line on when {@link #PROGRESS_EVERY_NANOS} have passed since it began or last
   * passed one: long work shows progress, short steps (a 20 ms epoch) do not fill the log.
   */
  static final class Every {
    static final long PROGRESS_EVERY_NANOS = 2_000_000_000L;
    private final Consumer<String> progress;
    private final java.util.function.LongSupplier nanos;
    private long last;

    Every(Consumer<String> progress) {
      this(progress, System::nanoTime);
    }

    Every(Consumer<String> progress, java.util.function.LongSupplier nanos) {
      this.progress = progress;
      this.nanos = nanos;
      this.last = nanos.getAsLong();
    }

    void accept(java.util.function.Supplier<String> line) {
      long now = nanos.getAsLong();
      if (now - last >= PROGRESS_EVERY_NANOS) {
        last = now;
        progress.accept(line.get());
      }
    }
  }

  /**
   * Coverage the out-of-scope bound may cost before train warns: beyond it, the LLM gets many more
   * escalations than the model would send without the bound.
   */
  static final double COVERAGE_COST_WARNING = 0.10;

  /**
   * What train says of the trade-off: a line per bound, and a warning when the chosen one costs
   * more than {@link #COVERAGE_COST_WARNING} of held-out coverage.
   */
  static List<String> tradeOffLines(
      List<CascadeCalibration.Point> tradeOff,
      double chosen,
      boolean cascade,
      boolean leftOut,
      String oosLabel) {
    if (tradeOff.isEmpty()) {
      return List.of();
    }
    List<String> lines = new ArrayList<>();
    lines.add(
        "out of scope: what each --out-of-scope-kept gives on the held-out predictions (kept of the"
            + (leftOut ? " left-out labels' examples" : "")
            + (leftOut && oosLabel != null ? ", and" : "")
            + (oosLabel == null ? "" : " examples labelled " + oosLabel)
            + "; coverage; accuracy of kept"
            + (cascade ? "; decided by the hashed stage" : "")
            + "):");
    for (CascadeCalibration.Point p : tradeOff) {
      CascadeCalibration.Choice c = p.choice();
      StringBuilder line =
          new StringBuilder(
              String.format(
                  java.util.Locale.ROOT,
                  "  %-18s",
                  trim(p.bound())
                      + (p.bound() == chosen
                          ? " (this model)"
                          : p.bound() >= 1 ? " (no bound)" : "")
                      + ":"));
      if (!Double.isNaN(c.outOfScopeKept())) {
        line.append(
            String.format(java.util.Locale.ROOT, " kept %5.1f%%", 100 * c.outOfScopeKept()));
      }
      if (!Double.isNaN(c.knownOutOfScopeKept())) {
        line.append(
            String.format(
                java.util.Locale.ROOT,
                " kept %5.1f%% of %s",
                100 * c.knownOutOfScopeKept(),
                oosLabel));
      }
      line.append(
          String.format(
              java.util.Locale.ROOT, ", coverage %.3f, accuracy %.3f", c.coverage(), c.accuracy()));
      if (cascade) {
        line.append(
            String.format(
                java.util.Locale.ROOT, ", hashed stage %.1f%%", 100 * c.firstStageShare()));
      }
      lines.add(line.toString());
    }
    CascadeCalibration.Choice at =
        tradeOff.stream().filter(p -> p.bound() == chosen).findFirst().orElseThrow().choice();
    CascadeCalibration.Choice none = tradeOff.get(tradeOff.size() - 1).choice();
    double cost = none.coverage() - at.coverage();
    if (cost > COVERAGE_COST_WARNING) {
      lines.add(
          String.format(
              java.util.Locale.ROOT,
              "out of scope: "
                  + ModelTrainer.WARNING
                  + " the bound costs %.3f of held-out coverage (%.3f without it, %.3f"
                  + " with it): the model escalates %.1f%% of in-scope events instead of %.1f%%.%s"
                  + " Choose a bound from the trade-off above (--out-of-scope-kept)%s",
              cost,
              none.coverage(),
              at.coverage(),
              100 * (1 - at.coverage()),
              100 * (1 - none.coverage()),
              leftOut
                  ? " Models of the other labels are sure of a left-out label's texts here, as"
                      + " happens with few or well-separated labels, so the bound is strict."
                  : "",
              oosLabel == null
                  ? ", or show the model a sample of the other traffic (--out-of-scope-label)"
                  : ""));
    }
    return lines;
  }

  static String trim(double bound) {
    return java.math.BigDecimal.valueOf(bound).stripTrailingZeros().toPlainString();
  }

  /** Held-out coverage under which train warns that the model escalates most events. */
  static final double LOW_COVERAGE = 0.5;

  /** Lower target accuracies train shows beside a low coverage. */
  static final double[] LOWER_TARGETS = {0.95, 0.90, 0.80, 0.70};

  /**
   * A warning when the model keeps less than {@link #LOW_COVERAGE} of the held-out events at the
   * target accuracy, with the coverage lower targets would give (under the same out-of-scope
   * bounds): the labels may be too hard to tell apart at that accuracy.
   *
   * @param atTarget the thresholds a target accuracy gives under the model's out-of-scope bounds
   * @param bounded whether out-of-scope bounds apply (they, not the target, may hold coverage down)
   */
  static java.util.Optional<String> lowCoverageLine(
      java.util.function.DoubleFunction<CascadeCalibration.Choice> atTarget,
      boolean bounded,
      double target,
      CascadeCalibration.Choice choice,
      double accuracy) {
    if (choice.coverage() >= LOW_COVERAGE) {
      return java.util.Optional.empty();
    }
    List<String> lower = new ArrayList<>();
    double most = choice.coverage();
    for (double t : LOWER_TARGETS) {
      if (t < target) {
        CascadeCalibration.Choice c = atTarget.apply(t);
        lower.add(
            String.format(java.util.Locale.ROOT, "%s keeps %.1f%%", trim(t), 100 * c.coverage()));
        most = Math.max(most, c.coverage());
      }
    }
    String more;
    if (most > choice.coverage() + 0.005) {
      more =
          " Lower targets (--target-accuracy) would keep more, less accurately: "
              + String.join(", ", lower)
              + ".";
    } else if (bounded) {
      more =
          " Lower targets keep no more: the out-of-scope bound holds the coverage down (the"
              + " trade-off above).";
    } else {
      more = "";
    }
    return java.util.Optional.of(
        String.format(
            java.util.Locale.ROOT,
            ModelTrainer.WARNING
                + " at target accuracy %s the model keeps %.1f%% of the held-out events (its"
                + " accuracy on all of them: %.3f) and escalates the rest.%s",
            trim(target),
            100 * choice.coverage(),
            accuracy,
            more));
  }

  /** What train says of one out-of-scope set under the chosen thresholds. */
  static String keptLine(
      String what, double kept, TrainingOptions options, CascadeCalibration.Choice choice) {
    return String.format(
        java.util.Locale.ROOT,
        "out of scope: %.1f%% of %s are kept (at most %.0f%% wanted); held-out coverage %.3f",
        100 * kept,
        what,
        100 * options.outOfScopeKept(),
        choice.coverage());
  }
}
