package dev.llmstreams.controller;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A wake-up of the controller, kept in store {@code controller-timers} under {@link #key}: the due
 * time first, zero-padded, so one range scan finds every timer that is due, however many goals are
 * running.
 *
 * @param callId the call whose result is awaited (kind CALL)
 * @param attempt the attempt of that call the timer belongs to (a result or a retry makes it stale)
 */
record Timer(String goalId, Kind kind, String callId, int attempt) {
  enum Kind {
    /** The goal's deadline. */
    @JsonProperty("deadline")
    DEADLINE,
    /** A tool call's timeout. */
    @JsonProperty("call")
    CALL,
    /** A finished goal's summary is deleted. */
    @JsonProperty("expire")
    EXPIRE
  }

  static Timer deadline(String goalId) {
    return new Timer(goalId, Kind.DEADLINE, null, 0);
  }

  static Timer call(String goalId, String callId, int attempt) {
    return new Timer(goalId, Kind.CALL, callId, attempt);
  }

  static Timer expire(String goalId) {
    return new Timer(goalId, Kind.EXPIRE, null, 0);
  }

  /** The store key: due time, goal and what, so that keys sort by due time. */
  String key(long dueMs) {
    String what =
        switch (kind) {
          case DEADLINE -> "deadline";
          case EXPIRE -> "expire";
          case CALL -> "call/" + callId + "#" + attempt;
        };
    return String.format(java.util.Locale.ROOT, "%013d|%s|%s", Math.max(0, dueMs), goalId, what);
  }

  /** The largest key due at {@code nowMs}: every key that sorts at or below it is due. */
  static String dueUpTo(long nowMs) {
    return String.format(java.util.Locale.ROOT, "%013d|\uffff", Math.max(0, nowMs));
  }
}
