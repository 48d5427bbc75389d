package dev.llmstreams.testkit;

import dev.llmstreams.testkit.WithKafka.Shape;
import java.util.Optional;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ExtensionContext.Store;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Starts the cluster a {@link WithKafka} class asks for and resolves {@link KafkaCluster} and
 * {@link EmbeddedKafkaCluster} parameters.
 *
 * <p>Clusters live in the JUnit {@link Store}: the shared single node in the root context's store
 * (closed when the whole run ends), any other cluster in the store of the annotated class's context
 * (closed after that class). The store closes them because {@link EmbeddedKafkaCluster} is {@link
 * AutoCloseable} (JUnit 5.13+; {@code Store.CloseableResource} is deprecated).
 */
public final class KafkaClusterExtension implements BeforeAllCallback, ParameterResolver {

  private static final Namespace NAMESPACE = Namespace.create(KafkaClusterExtension.class);
  private static final String SHARED_SINGLE_NODE = "shared-single-node";

  @Override
  public void beforeAll(ExtensionContext context) {
    // Start now, so the start-up time and any failure belong to the class and not its first test.
    cluster(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == KafkaCluster.class || type == EmbeddedKafkaCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return cluster(context);
  }

  private static EmbeddedKafkaCluster cluster(ExtensionContext context) {
    ExtensionContext owner = annotatedClassContext(context);
    WithKafka config = annotation(owner).orElseThrow();
    if (config.shape() == Shape.SINGLE_NODE && !config.isolated()) {
      return owner
          .getRoot()
          .getStore(NAMESPACE)
          .getOrComputeIfAbsent(
              SHARED_SINGLE_NODE,
              key -> EmbeddedKafkaCluster.singleNode(),
              EmbeddedKafkaCluster.class);
    }
    return owner
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(
            config.shape(), KafkaClusterExtension::start, EmbeddedKafkaCluster.class);
  }

  private static EmbeddedKafkaCluster start(Shape shape) {
    return switch (shape) {
      case SINGLE_NODE -> EmbeddedKafkaCluster.singleNode();
      case THREE_BROKERS -> EmbeddedKafkaCluster.threeBrokers();
    };
  }

  /**
   * The nearest class-level context (not a method's) whose class carries {@link WithKafka}, so that
   * methods, constructors and {@code @Nested} classes all reach the cluster of the annotated class.
   */
  private static ExtensionContext annotatedClassContext(ExtensionContext context) {
    for (Optional<ExtensionContext> current = Optional.of(context);
        current.isPresent();
        current = current.get().getParent()) {
      ExtensionContext candidate = current.get();
      if (candidate.getTestMethod().isEmpty() && annotation(candidate).isPresent()) {
        return candidate;
      }
    }
    throw new ParameterResolutionException(
        "No @WithKafka on "
            + context.getTestClass().map(Class::getName).orElse("the test class")
            + " or an enclosing class");
  }

  private static Optional<WithKafka> annotation(ExtensionContext context) {
    return context
        .getTestClass()
        .flatMap(type -> AnnotationSupport.findAnnotation(type, WithKafka.class));
  }
}
