package dev.llmstreams.events;

import java.time.Instant;

/**
 * Why a specialist model was, or was not, put in service: the decision of the promotion gate and
 * the scores it was taken on. It rides on the model's record in {@code specialist-models}: on the
 * model's own key when the model went into service, on {@code <name>/rejected} when it did not. Not
 * covered by the model's digest or signature (it is a verdict about the model, added after the
 * model was sealed, and does not change what is served).
 *
 * @param decision what happened to the candidate
 * @param reason the rule that decided, in words
 * @param decidedAt when the gate decided
 * @param examples labelled events both models were scored on: labelled after the model in service
 *     was built and never seen by the candidate in training (0 when nothing was compared)
 * @param candidate the candidate's scores on them; optional (absent when nothing was compared)
 * @param incumbent the scores of the model in service on the same events; optional
 * @param incumbentVersion the version in service when the gate decided; optional (none in service)
 * @param decidedBy who decided: {@code trainer} (the specialist's in-app trainer) or {@code train
 *     --publish} (the command line)
 */
public record ModelPromotion(
    Decision decision,
    String reason,
    Instant decidedAt,
    int examples,
    Scores candidate,
    Scores incumbent,
    String incumbentVersion,
    String decidedBy) {

  /** What the gate did with a candidate. */
  public enum Decision {
    /** At least as good as the model in service (or none was in service): now in service. */
    @com.fasterxml.jackson.annotation.JsonProperty("promoted")
    PROMOTED,
    /** Worse, or not enough evidence: recorded, never served; the model in service stays. */
    @com.fasterxml.jackson.annotation.JsonProperty("rejected")
    REJECTED,
    /** Put in service without the comparison ({@code train --publish --force}). */
    @com.fasterxml.jackson.annotation.JsonProperty("forced")
    FORCED
  }

  /**
   * One model's scores on the gate's events, at the threshold it is served with.
   *
   * @param accuracy share of all events labelled right
   * @param keptAccuracy share of the kept events (confidence at or above the threshold) labelled
   *     right; optional (absent when the model kept none)
   * @param coverage share of events kept rather than escalated
   * @param threshold the threshold it was scored at
   */
  public record Scores(double accuracy, Double keptAccuracy, double coverage, double threshold) {
    public Scores {
      Require.between(accuracy, 0.0, 1.0, "accuracy");
      Require.between(keptAccuracy, 0.0, 1.0, "keptAccuracy");
      Require.between(coverage, 0.0, 1.0, "coverage");
    }
  }

  public ModelPromotion {
    Require.present(decision, "decision");
    Require.text(reason, "reason");
    Require.present(decidedAt, "decidedAt");
    Require.atLeast(examples, 0, "examples");
    Require.optionalText(incumbentVersion, "incumbentVersion");
    Require.text(decidedBy, "decidedBy");
  }
}
