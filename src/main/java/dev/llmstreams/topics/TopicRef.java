package dev.llmstreams.topics;

/**
 * A typed reference to a catalog topic by role; resolved to a {@link Topic} by {@link
 * TopicCatalog}.
 */
public record TopicRef<V>(TopicRole role, Class<V> valueType) {
  public static <V> TopicRef<V> of(TopicRole role, Class<V> valueType) {
    return new TopicRef<>(role, valueType);
  }
}
