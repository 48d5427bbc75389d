package dev.llmstreams.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * Every fuzz target in one {@code @FuzzTest}, for the bounded fuzzing of {@code mvn verify}: Jazzer
 * fuzzes one {@code @FuzzTest} per JVM, and starting a JVM with its agent costs about 35 s here,
 * which seven JVMs a build cannot afford. Byte 0 of an input picks the target (the fuzzer learns
 * which values reach new code, as for any other byte); the rest is that target's input, checked
 * against that target's own contract (see each class's Javadoc). Each target keeps its own class,
 * fuzzed alone for longer with {@code -Dfuzz.include} (docs/fuzzing.md).
 */
class AllParsersFuzzTest {
  /** The targets, by class name; each has one {@code @FuzzTest} method taking {@code byte[]}. */
  static final List<String> TARGETS =
      List.of(
          "dev.llmstreams.events.EventDeserializersFuzzTest",
          "dev.llmstreams.topics.InputRecordFuzzTest",
          "dev.llmstreams.observability.tracing.TraceparentFuzzTest",
          "dev.llmstreams.runtime.tools.CalculatorFuzzTest",
          "dev.llmstreams.runtime.tools.ToolArgumentsFuzzTest",
          "dev.llmstreams.mcpserver.ArgumentValidatorFuzzTest",
          "dev.llmstreams.runtime.mcp.McpSchemaValidatorFuzzTest");

  private static final Target[] LOADED = TARGETS.stream().map(Target::load).toArray(Target[]::new);

  private record Target(Object instance, Method method) {
    static Target load(String className) {
      try {
        Class<?> type = Class.forName(className);
        Method method =
            Arrays.stream(type.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(FuzzTest.class))
                .filter(m -> Arrays.equals(m.getParameterTypes(), new Class<?>[] {byte[].class}))
                .findFirst()
                .orElseThrow(
                    () -> new IllegalStateException(className + " has no @FuzzTest (byte[])"));
        method.setAccessible(true);
        var constructor = type.getDeclaredConstructor();
        constructor.setAccessible(true);
        return new Target(constructor.newInstance(), method);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot load fuzz target " + className, e);
      }
    }

    void run(byte[] input) throws Throwable {
      try {
        method.invoke(instance, (Object) input);
      } catch (InvocationTargetException e) {
        throw e.getCause(); // the target's own failure, as if it ran alone
      }
    }
  }

  @FuzzTest
  void anyParser(byte[] data) throws Throwable {
    if (data.length == 0) {
      return;
    }
    LOADED[Byte.toUnsignedInt(data[0]) % LOADED.length].run(
        Arrays.copyOfRange(data, 1, data.length));
  }

  /** The targets' own cleanup (the input-record target's test driver). */
  @AfterAll
  static void stop() throws Exception {
    for (Target t : LOADED) {
      for (Method m : t.instance().getClass().getDeclaredMethods()) {
        if (m.isAnnotationPresent(AfterAll.class) && Modifier.isStatic(m.getModifiers())) {
          m.setAccessible(true);
          m.invoke(null);
        }
      }
    }
  }
}
