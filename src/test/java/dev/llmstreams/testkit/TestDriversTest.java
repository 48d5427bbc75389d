package dev.llmstreams.testkit;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import dev.llmstreams.config.AppConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

/** Every test's {@link TopologyTestDriver} comes from {@link TestDrivers} (docs/development.md). */
class TestDriversTest {
  private static final ArchRule ONLY_TEST_DRIVERS_CREATE_DRIVERS =
      noClasses()
          .that()
          .doNotHaveFullyQualifiedName(TestDrivers.class.getName())
          .should()
          .callConstructorWhere(
              DescribedPredicate.describe(
                  "a constructor of TopologyTestDriver",
                  (JavaConstructorCall call) ->
                      call.getTargetOwner().isEquivalentTo(TopologyTestDriver.class)))
          .because(
              "a driver of one pattern in each of two test JVMs would share the default state dir"
                  + " (create it with testkit.TestDrivers)");

  @Test
  void noTestCreatesADriverButThroughTestDrivers() {
    JavaClasses tests =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.ONLY_INCLUDE_TESTS)
            .importPackages("dev.llmstreams");
    assertThat(tests.contain(TestDriversTest.class)).isTrue();

    EvaluationResult result =
        ONLY_TEST_DRIVERS_CREATE_DRIVERS.evaluate(
            tests.that(
                DescribedPredicate.describe(
                    "not the fixture", c -> !c.isEquivalentTo(DriverOfItsOwn.class))));

    assertThat(result.getFailureReport().getDetails()).isEmpty();
  }

  @Test
  void aTestThatCreatesItsOwnDriverBreaksTheRule() {
    EvaluationResult result =
        ONLY_TEST_DRIVERS_CREATE_DRIVERS.evaluate(
            new ClassFileImporter().importClasses(DriverOfItsOwn.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString())
        .contains("DriverOfItsOwn")
        .contains("TopologyTestDriver.<init>");
  }

  @Test
  void aDriverWithoutAStateDirOrWithTheSharedDefaultGetsOneOfThisJvm() {
    Properties none = new Properties();
    none.put(StreamsConfig.APPLICATION_ID_CONFIG, "a");
    Properties shared = new Properties();
    shared.put(
        StreamsConfig.STATE_DIR_CONFIG,
        Path.of(AppConfig.of(Map.of()).getString(AppConfig.STATE_DIR)).toAbsolutePath().toString());

    for (Properties props : new Properties[] {none, shared}) {
      Properties own = TestDrivers.ownStateDir(props);
      assertThat(own.getProperty(StreamsConfig.STATE_DIR_CONFIG))
          .endsWith(
              Path.of("target", "test-state", "jvm-" + ProcessHandle.current().pid()).toString());
      assertThat(own).isNotSameAs(props);
    }
    assertThat(TestDrivers.ownStateDir(none).getProperty(StreamsConfig.APPLICATION_ID_CONFIG))
        .isEqualTo("a");
  }

  @Test
  void aStateDirTheTestChoseIsKept() {
    Properties chosen = new Properties();
    chosen.put(StreamsConfig.STATE_DIR_CONFIG, "/somewhere/of/its/own");

    assertThat(TestDrivers.ownStateDir(chosen)).isSameAs(chosen);
  }

  /** Breaks the rule: a driver made without TestDrivers. */
  static final class DriverOfItsOwn {
    TopologyTestDriver driver() {
      StreamsBuilder builder = new StreamsBuilder();
      builder.stream("in");
      return new TopologyTestDriver(builder.build());
    }
  }
}
