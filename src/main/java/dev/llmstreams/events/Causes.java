package dev.llmstreams.events;

/** Finding an exception of a type among another's causes. */
public final class Causes {
  private Causes() {}

  /** The exception or its first cause of the given type, or null. */
  public static <X extends Throwable> X find(Throwable e, Class<X> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
