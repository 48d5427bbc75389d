package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.app.AclPlan.Grant;
import dev.llmstreams.app.AclPlan.Role;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

class AclPlanTest {
  private static AclPlan plan(Map<String, String> settings) {
    Map<String, String> all = new HashMap<>(Map.of(AppConfig.APPLICATION_ID, "acme"));
    all.putAll(settings);
    AppConfig config = AppConfig.of(all);
    TopicCatalog catalog =
        TopicCatalog.load().withPrefix(config.getString(AppConfig.TOPICS_PREFIX));
    return AclPlan.of(catalog, config, AclPlan.defaultPrincipals(config));
  }

  /** The roles that may write {@code topic}. */
  private static Set<Role> writers(AclPlan plan, String topic) {
    return plan.grants().stream()
        .filter(g -> g.type() == ResourceType.TOPIC && g.name().equals(topic))
        .filter(g -> g.operations().contains(AclOperation.WRITE))
        .map(Grant::role)
        .collect(Collectors.toSet());
  }

  @Test
  void shouldLetOnlyTheirOwnersWriteTheTopicsThatSteerTheApp() {
    AclPlan plan =
        plan(Map.of(AppConfig.TOPICS_PREFIX, "p.", AppConfig.MCP_SERVER_ENABLED, "false"));
    assertThat(writers(plan, "p.approvals")).containsExactly(Role.APPROVER);
    assertThat(writers(plan, "p.specialist-models"))
        .containsExactlyInAnyOrder(Role.APP, Role.TRAINER);
    assertThat(writers(plan, "p.labels"))
        .containsExactlyInAnyOrder(Role.APP, Role.LABELLER, Role.TRAINER);
    for (String replies :
        List.of(
            "p.controller.llm-replies", "p.summarizer.llm-replies", "p.specialist.llm-replies")) {
      assertThat(writers(plan, replies)).as(replies).containsExactly(Role.APP);
    }
    assertThat(writers(plan, "p.tool-results")).containsExactly(Role.APP);
    // Users submit goals; the controller submits child goals (the delegate tool).
    assertThat(writers(plan, "p.goals")).containsExactlyInAnyOrder(Role.PRODUCER, Role.APP);
    assertThat(writers(plan, "p.goal-results")).containsExactly(Role.APP);
    assertThat(writers(plan, "p.spans")).containsExactly(Role.APP);
  }

  @Test
  void shouldNameStreamsResourcesAfterEachPatternsApplicationId() {
    AclPlan plan = plan(Map.of(AppConfig.PATTERNS, "gateway,controller"));
    List<Grant> app = plan.grants(List.of(Role.APP));
    assertThat(app)
        .filteredOn(g -> g.type() == ResourceType.TRANSACTIONAL_ID)
        .extracting(Grant::name, Grant::patternType)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("acme-controller-", PatternType.PREFIXED),
            org.assertj.core.groups.Tuple.tuple("acme-gateway-", PatternType.PREFIXED));
    assertThat(app)
        .filteredOn(g -> g.type() == ResourceType.GROUP)
        .extracting(Grant::name)
        .containsExactlyInAnyOrder("acme-controller", "acme-gateway", "acme-span-export");
    // Patterns not run get nothing: the specialist's topics are only described.
    assertThat(writers(plan, "specialist-models")).containsExactly(Role.TRAINER);
    assertThat(app)
        .filteredOn(g -> g.name().equals("specialist-models"))
        .flatExtracting(Grant::operations)
        .containsExactly(AclOperation.DESCRIBE);
  }

  @Test
  void underTheStreamsProtocolTheAppMaySetTheGroupSettingsItWasGivenAndNoMore() {
    List<AclOperation> groupOps = List.of(AclOperation.READ);
    assertThat(groupOperations(plan(Map.of(AppConfig.PATTERNS, "gateway"))))
        .containsExactlyElementsOf(groupOps);
    assertThat(
            groupOperations(
                plan(Map.of(AppConfig.PATTERNS, "gateway", AppConfig.GROUP_PROTOCOL, "streams"))))
        .as("nothing to write onto the group")
        .containsExactlyElementsOf(groupOps);
    AclPlan standbys =
        plan(
            Map.of(
                AppConfig.PATTERNS,
                "gateway",
                AppConfig.GROUP_PROTOCOL,
                "streams",
                AppConfig.NUM_STANDBY_REPLICAS,
                "1"));
    assertThat(groupOperations(standbys))
        .containsExactlyInAnyOrder(
            AclOperation.READ, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS);
    assertThat(standbys.grants(List.of(Role.APP)))
        .filteredOn(g -> g.name().equals("acme-gateway"))
        .extracting(Grant::why)
        .singleElement()
        .asString()
        .contains("streams.num.standby.replicas");
  }

  /** The operations the app is granted on the gateway's group. */
  private static List<AclOperation> groupOperations(AclPlan plan) {
    return plan.grants(List.of(Role.APP)).stream()
        .filter(g -> g.type() == ResourceType.GROUP && g.name().equals("acme-gateway"))
        .flatMap(g -> g.operations().stream())
        .toList();
  }

  @Test
  void shouldGrantWhatTheSettingsAdd() {
    AclPlan quiet =
        plan(Map.of(AppConfig.TRACING_ENABLED, "false", AppConfig.MCP_SERVER_ENABLED, "false"));
    assertThat(quiet.grants(List.of(Role.APP)))
        .extracting(Grant::name)
        .doesNotContain("acme-span-export");
    AclPlan noController =
        plan(Map.of(AppConfig.PATTERNS, "summarizer", AppConfig.MCP_SERVER_ENABLED, "false"));
    assertThat(writers(noController, "goals")).containsExactly(Role.PRODUCER);

    AclPlan busy =
        plan(
            Map.of(
                AppConfig.PATTERNS,
                "summarizer,tools",
                AppConfig.MCP_SERVER_ENABLED,
                "true",
                AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS,
                "team-news"));
    assertThat(writers(busy, "goals")).containsExactlyInAnyOrder(Role.PRODUCER, Role.APP);
    assertThat(writers(busy, "team-news")).containsExactly(Role.APP);
  }

  @Test
  void shouldGrantEachDeclaredMcpServersTopicWithoutStartingTheServer(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Files.writeString(
        dir.resolve("files.json"),
        "{\"name\":\"files\",\"command\":\"/nonexistent/mcp-server-that-must-not-start\"}");
    AppConfig config =
        AppConfig.of(Map.of(AppConfig.APPLICATION_ID, "acme", AppConfig.MCP_DIR, dir.toString()));
    TopicCatalog catalog = TopicCatalog.load().withMcpTopics(List.of("files"), "");
    AclPlan plan = AclPlan.of(catalog, config, AclPlan.defaultPrincipals(config));
    assertThat(plan.grants(List.of(Role.APP)))
        .filteredOn(g -> g.name().equals("tool-calls.mcp.files"))
        .flatExtracting(Grant::operations)
        .containsExactlyInAnyOrder(AclOperation.READ, AclOperation.WRITE);
  }

  @Test
  void shouldLetWorkersServeOnlyTheToolsNoPatternServes(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Files.writeString(
        dir.resolve("weather.json"),
        "{\"name\":\"weather\",\"description\":\"Weather of a city.\",\"parameters\":{\"type\":\"object\"},\"timeoutMs\":5000}");
    AppConfig config =
        AppConfig.of(Map.of(AppConfig.APPLICATION_ID, "acme", AppConfig.TOOLS_DIR, dir.toString()));
    TopicCatalog catalog = TopicCatalog.load().withToolTopics(List.of("weather"), "");
    AclPlan plan = AclPlan.of(catalog, config, AclPlan.defaultPrincipals(config));
    assertThat(plan.grants(List.of(Role.WORKER)))
        .extracting(Grant::name)
        .containsExactlyInAnyOrder("tool-calls.weather", "tool-results", "acme-worker-");
    assertThat(writers(plan, "tool-results")).containsExactlyInAnyOrder(Role.APP, Role.WORKER);
    // Without tools of its own the deployment has no worker role.
    assertThat(plan(Map.of()).grants(List.of(Role.WORKER))).isEmpty();
  }

  @Test
  void shouldPrintCommandsAndATableAndRejectUnknownRoles() {
    AclPlan plan = plan(Map.of());
    String commands = plan.commands(EnumSet.of(Role.APPROVER), "broker:9093");
    assertThat(commands)
        .startsWith("# approver (User:acme-approver)")
        .contains(
            "kafka-acls.sh --bootstrap-server broker:9093 --command-config admin.properties --add"
                + " --allow-principal User:acme-approver --operation Write --topic approvals")
        .contains("--group acme-approver- --resource-pattern-type prefixed")
        .doesNotContain("User:acme-producer");
    assertThat(plan.table(EnumSet.of(Role.TRAINER)))
        .contains("| trainer | `User:acme-trainer` | topic | `specialist-models` | Read, Write |");
    assertThat(plan.bindings(EnumSet.allOf(Role.class)))
        .hasSize(plan.grants().stream().mapToInt(g -> g.operations().size()).sum());
    assertThatThrownBy(() -> Role.parse("admin")).hasMessageContaining("roles: app, producer");
  }
}
