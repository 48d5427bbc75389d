package dev.llmstreams.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a test class a real, in-JVM Kafka cluster, injected as a {@link KafkaCluster} (or {@link
 * EmbeddedKafkaCluster}) parameter into constructors, {@code @BeforeAll}, {@code @BeforeEach} and
 * test methods.
 *
 * <pre>{@code
 * @WithKafka
 * class OrderTopologyIT {
 *   @Test
 *   void shouldEmitOneResultPerGoal(KafkaCluster kafka) {
 *     String input = KafkaCluster.uniqueName("goals");
 *     kafka.createTopics(input);
 *     try (var producer = new KafkaProducer<String, String>(kafka.producerProps())) { ... }
 *   }
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> {@link Shape#SINGLE_NODE} (the default) is started once per JVM and shared
 * by every test class that asks for it, unless {@link #isolated()} is set; it is closed when the
 * test run ends. Because it is shared, tests must use unique topic names, group ids, transactional
 * ids and application ids ({@link KafkaCluster#uniqueName(String)}), and must not assume a topic
 * list. {@link Shape#THREE_BROKERS} and isolated clusters are started once per test class (before
 * the first constructor or {@code @BeforeAll} needs them) and closed after the class.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(KafkaClusterExtension.class)
public @interface WithKafka {

  /** The cluster's layout. */
  Shape shape() default Shape.SINGLE_NODE;

  /** Start a cluster for this class alone instead of the JVM-wide single node. */
  boolean isolated() default false;

  /** The layouts {@link EmbeddedKafkaCluster} can start. */
  enum Shape {
    /** One combined broker+controller node, internal topics with replication factor 1. */
    SINGLE_NODE,
    /** Three brokers and one separate controller; replication factor 3, min ISR 2. */
    THREE_BROKERS
  }
}
