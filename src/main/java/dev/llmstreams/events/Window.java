package dev.llmstreams.events;

import java.time.Instant;

/** A time window [start, end): start inclusive, end exclusive. */
public record Window(Instant start, Instant end) {
  public Window {
    Require.present(start, "start");
    Require.present(end, "end");
    Require.check(end.isAfter(start), "field \"end\" must be after \"start\"");
  }
}
