package dev.llmstreams.events;

/**
 * Breaks the events rules on purpose, for {@code LayersTest}: an event class that imports the topic
 * catalog and a pattern. Test sources only; the rules check main classes.
 */
public final class EventsBreakingFixture {
  private EventsBreakingFixture() {}

  static Object topic() {
    return dev.llmstreams.topics.Topics.GOALS;
  }

  static Object pattern() {
    return dev.llmstreams.controller.ControllerModule.class;
  }
}
