package dev.llmstreams.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaId;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.llmstreams.events.Samples.Sample;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The topic catalog, the event records, their serdes and their JSON Schemas agree with each other.
 */
class EventsContractTest {
  private static final Path TOPICS = Path.of("topics");
  private static final String PACKAGE = "dev.llmstreams.events.";
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
  private static final SchemaValidatorsConfig CONFIG =
      SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

  /** Reads test inputs with no limits, so the schemas see exactly what the serde refuses. */
  private static final ObjectMapper PLAIN = new ObjectMapper();

  /** The catalog file format, read strictly: an unknown field in a topic file is a mistake. */
  record TopicFile(
      String name,
      String role,
      String tool,
      Integer partitions,
      Integer replicationFactor,
      Map<String, String> configs,
      String key,
      String keyField,
      String valueSchema,
      String valueType,
      String description) {}

  private static final Set<String> TOPIC_FIELDS =
      Set.of(
          "name",
          "role",
          "partitions",
          "replicationFactor",
          "configs",
          "key",
          "keyField",
          "valueSchema",
          "valueType",
          "description");

  // ---- topic catalog
  // ------------------------------------------------------------------------------------------

  static Stream<Path> topicFiles() throws IOException {
    try (Stream<Path> files = Files.list(TOPICS)) {
      List<Path> list = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
      assertThat(list).as("topic files in %s", TOPICS.toAbsolutePath()).isNotEmpty();
      return list.stream();
    }
  }

  static List<TopicFile> catalog() throws IOException {
    return topicFiles().map(EventsContractTest::readTopic).toList();
  }

  private static TopicFile readTopic(Path file) {
    try {
      return Json.readerFor(TopicFile.class)
          .with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .readValue(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("topicFiles")
  void shouldDeclareTopicInTheCatalogFormat(Path file) throws IOException {
    JsonNode raw = Json.reader().readTree(Files.readAllBytes(file));
    TopicFile topic = readTopic(file);

    Set<String> fields = new TreeSet<>();
    raw.fieldNames().forEachRemaining(fields::add);
    Set<String> expected = new TreeSet<>(TOPIC_FIELDS);
    if ("TOOL_CALLS".equals(topic.role())) {
      expected.add("tool");
    }
    assertThat(fields).as("fields of %s (null ones written out)", file).isEqualTo(expected);

    assertThat(file.getFileName().toString()).isEqualTo(topic.name() + ".json");
    assertThat(topic.name()).matches("[a-z0-9._-]+").hasSizeLessThan(250);
    assertThat(topic.role()).matches("[A-Z]+(_[A-Z]+)*");
    assertThat(topic.partitions()).isPositive();
    assertThat(topic.replicationFactor()).as("null = the broker's default").isNull();
    assertThat(topic.configs()).containsKey("cleanup.policy").doesNotContainValue(null);
    assertThat(topic.key()).isNotBlank();
    assertThat(topic.description()).isNotBlank().endsWith(".");
    if ("TOOL_CALLS".equals(topic.role())) {
      assertThat(topic.name()).isEqualTo("tool-calls." + topic.tool());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("topicFiles")
  void shouldNameAnExistingValueTypeAndValidSchema(Path file) throws Exception {
    TopicFile topic = readTopic(file);
    if ("DEAD_LETTERS".equals(topic.role())) {
      assertThat(topic.valueType()).as("dead letters keep the original bytes").isNull();
      assertThat(topic.valueSchema()).isNull();
      return;
    }
    Class<?> type = Class.forName(topic.valueType());
    assertThat(type.isRecord()).as("%s is a record", type).isTrue();
    assertThat(type.getPackageName()).isEqualTo("dev.llmstreams.events");

    Path schema = TOPICS.resolve(topic.valueSchema());
    assertThat(schema).exists();
    JsonNode schemaNode = PLAIN.readTree(schema.toFile());
    assertThat(schemaNode.path("title").asText()).isEqualTo(type.getSimpleName());
  }

  @Test
  void shouldKeepRolesUniqueExceptToolCalls() throws IOException {
    Map<String, List<String>> namesByRole =
        catalog().stream()
            .collect(
                Collectors.groupingBy(
                    TopicFile::role, Collectors.mapping(TopicFile::name, Collectors.toList())));
    namesByRole.forEach(
        (role, names) -> {
          if (!role.equals("TOOL_CALLS")) {
            assertThat(names).as("topics with role %s", role).hasSize(1);
          }
        });
    assertThat(namesByRole.get("TOOL_CALLS")).hasSizeGreaterThanOrEqualTo(1);
  }

  @Test
  void shouldGiveJoinedTopicsTheSamePartitionCount() throws IOException {
    Map<String, Integer> partitions =
        catalog().stream()
            .filter(t -> !t.role().equals("TOOL_CALLS"))
            .collect(Collectors.toMap(TopicFile::role, TopicFile::partitions));
    List<List<String>> joined =
        List.of(
            List.of(
                "GOALS",
                "TOOL_RESULTS",
                "CONTROLLER_LLM_REPLIES",
                "APPROVALS",
                "GOAL_CANCELLATIONS",
                "HUMAN_ANSWERS"),
            List.of("DOCUMENTS", "SUMMARIZER_LLM_REPLIES"),
            List.of("CLASSIFICATION_REQUESTS", "SPECIALIST_LLM_REPLIES"));
    for (List<String> roles : joined) {
      assertThat(roles.stream().map(partitions::get).distinct().toList())
          .as("partitions of %s", roles)
          .hasSize(1);
    }
  }

  @Test
  void shouldHaveSamplesForEveryValueTypeInTheCatalog() throws IOException {
    Set<String> catalogTypes =
        catalog().stream()
            .map(TopicFile::valueType)
            .filter(t -> t != null)
            .collect(Collectors.toSet());
    Set<String> fullTypes = Samples.full().map(s -> s.type().getName()).collect(Collectors.toSet());
    Set<String> minimalTypes =
        Samples.minimal().map(s -> s.type().getName()).collect(Collectors.toSet());
    assertThat(fullTypes).isEqualTo(catalogTypes);
    assertThat(minimalTypes).isEqualTo(catalogTypes);
  }

  // ---- schemas
  // --------------------------------------------------------------------------------------------------

  static Stream<Path> schemaFiles() throws IOException {
    try (Stream<Path> files = Files.list(TOPICS.resolve("schemas"))) {
      return files.filter(p -> p.toString().endsWith(".schema.json")).sorted().toList().stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("schemaFiles")
  void shouldBeAValidDraft202012Schema(Path file) throws IOException {
    JsonNode schema = PLAIN.readTree(file.toFile());
    assertThat(schema.path("$schema").asText()).isEqualTo(SchemaId.V202012);
    JsonSchema metaSchema = FACTORY.getSchema(SchemaLocation.of(SchemaId.V202012), CONFIG);
    assertThat(metaSchema.validate(schema)).isEmpty();
    assertThat(FACTORY.getSchema(schema, CONFIG)).isNotNull();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("schemaFiles")
  void shouldDescribeExactlyTheRecordComponents(Path file) throws Exception {
    JsonNode schema = PLAIN.readTree(file.toFile());
    List<JsonNode> objects = new ArrayList<>(List.of(schema));
    schema.path("$defs").forEach(objects::add);
    for (JsonNode object : objects) {
      Class<?> type = Class.forName(PACKAGE + object.path("title").asText());
      Set<String> components =
          Arrays.stream(type.getRecordComponents())
              .map(RecordComponent::getName)
              .collect(Collectors.toSet());
      Set<String> properties = new HashSet<>();
      object.path("properties").fieldNames().forEachRemaining(properties::add);
      assertThat(properties)
          .as("properties of %s in %s", type.getSimpleName(), file)
          .isEqualTo(components);
      assertThat(
              object.path("additionalProperties").isBoolean()
                  && !object.path("additionalProperties").asBoolean())
          .as("%s in %s has additionalProperties false", type.getSimpleName(), file)
          .isTrue();
      object.path("required").forEach(r -> assertThat(components).contains(r.asText()));
    }
  }

  // ---- samples
  // --------------------------------------------------------------------------------------------------

  static Stream<Sample> samples() {
    return Samples.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("samples")
  void shouldRoundTripThroughItsSerde(Sample sample) {
    JsonSerde<Object> serde = serdeOf(sample.type());
    byte[] bytes = serde.serializer().serialize("any", sample.value());
    Object back = serde.deserializer().deserialize("any", bytes);
    assertThat(back).isEqualTo(sample.value());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("samples")
  void shouldWriteJsonThatItsSchemaAccepts(Sample sample) throws IOException {
    byte[] bytes = serdeOf(sample.type()).serializer().serialize("any", sample.value());
    Set<ValidationMessage> problems = schemaOf(sample.type()).validate(PLAIN.readTree(bytes));
    assertThat(problems).as(new String(bytes, StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void shouldWriteEnumsInLowerCaseAndTimesAsIso8601() {
    Sample result =
        Samples.minimal().filter(s -> s.type() == GoalResult.class).findFirst().orElseThrow();
    String json =
        new String(
            serdeOf(GoalResult.class).serializer().serialize("any", result.value()),
            StandardCharsets.UTF_8);
    assertThat(json).contains("\"status\":\"timed_out\"").doesNotContain("\"answer\"");

    GoalEvent event =
        new GoalEvent(
            "g-1", 0, GoalEventType.GOAL_RECEIVED, "goal received", null, null, Samples.T1);
    assertThat(
            new String(
                JsonSerde.of(GoalEvent.class).serializer().serialize("any", event),
                StandardCharsets.UTF_8))
        .contains("\"type\":\"goal_received\"", "\"at\":\"2025-11-28T03:39:02.125Z\"");
  }

  @Test
  void shouldTreatNullAsATombstone() {
    JsonSerde<SpecialistModel> serde = JsonSerde.of(SpecialistModel.class);
    assertThat(serde.serializer().serialize("any", null)).isNull();
    assertThat(serde.deserializer().deserialize("any", null)).isNull();
  }

  @Test
  void shouldIgnoreFieldsItDoesNotKnow() {
    String json =
        "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"priority\":\"high\",\"x\":{\"y\":[1]}}";
    assertThat(read(Goal.class, json)).isEqualTo(Goal.of("g-1", "Say hello"));
  }

  @Test
  void shouldDefaultAbsentCollectionsToEmpty() {
    Goal goal = read(Goal.class, "{\"goalId\":\"g-1\",\"goal\":\"Say hello\"}");
    assertThat(goal.metadata()).isEmpty();
  }

  @Test
  void shouldTellAGoalWithoutAToolListFromOneWithAnEmptyList() {
    // Absent: the operator's default set; empty: no tools at all.
    assertThat(read(Goal.class, "{\"goalId\":\"g-1\",\"goal\":\"Say hello\"}").tools()).isNull();
    assertThat(
            read(Goal.class, "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"tools\":null}").tools())
        .isNull();
    assertThat(read(Goal.class, "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"tools\":[]}").tools())
        .isEmpty();
  }

  @Test
  void shouldReadAbsentFlagsAsFalse() {
    LlmReply reply =
        read(
            LlmReply.class,
            "{\"requestId\":\"r-1\",\"correlationId\":\"g-1\",\"purpose\":\"controller.plan\","
                + "\"usage\":{\"inputTokens\":1,\"outputTokens\":0},\"costUsd\":0,\"latencyMs\":5,"
                + "\"error\":{\"code\":\"timeout\",\"message\":\"no answer in 30s\",\"attempts\":3}}");
    assertThat(reply.cached()).isFalse();
    assertThat(reply.error().retryable()).isFalse();
    assertThat(reply.error().code()).isEqualTo(LlmError.Code.TIMEOUT);
  }

  @Test
  void shouldReadOutputsWrittenBeforePromptsWereRecorded() {
    Classification c =
        read(
            Classification.class,
            "{\"eventId\":\"e-1\",\"label\":\"billing\",\"confidence\":0.9,\"modelVersion\":\"openai/gpt-4o\","
                + "\"source\":\"llm\",\"latencyMicros\":5,\"escalationReason\":\"confidence 0.41 < 0.70\"}");
    assertThat(c.prompt()).isNull();
    assertThat(c.llmModel()).isNull();
    Synthesis s =
        read(
            Synthesis.class,
            "{\"key\":\"acme\",\"text\":\"\",\"level\":0,\"documents\":0,\"chunks\":0,\"sourceDigest\":\""
                + Synthesis.sourceDigest(List.of())
                + "\",\"llmInputTokens\":0,\"updatedAt\":\"2025-11-28T03:39:00Z\"}");
    assertThat(s.prompts()).isEmpty();
    assertThat(s.models()).isEmpty();
    assertThat(read(GoalResult.class, GOAL_RESULT).provenance().prompts()).isEmpty();
    assertThat(
            read(
                    LlmReply.class,
                    "{\"requestId\":\"r-1\",\"correlationId\":\"g-1\",\"purpose\":\"controller.plan\","
                        + "\"content\":\"hi\",\"usage\":{\"inputTokens\":1,\"outputTokens\":1},\"costUsd\":0,"
                        + "\"latencyMs\":5}")
                .prompt())
        .isNull();
  }

  @Test
  void shouldDigestSourceDocumentIdsIndependentlyOfOrder() {
    assertThat(Synthesis.sourceDigest(List.of("b", "a")))
        .isEqualTo(Synthesis.sourceDigest(List.of("a", "b")))
        .matches("[0-9a-f]{64}")
        .isEqualTo(
            "7e18f737311b2dc3b2f269dd78396b0351f14fb66efa879f768cb23181883c78"); // sha-256 of
    // "a\nb"
  }

  // ---- what is refused
  // ------------------------------------------------------------------------------------------

  record Bad(String name, Class<?> type, String json, String message, String schemaField) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final String GOAL_RESULT =
      "{\"goalId\":\"g-1\",\"status\":\"failed\",\"steps\":3,"
          + "\"usage\":{\"inputTokens\":10,\"outputTokens\":2},\"costUsd\":0.1,\"durationMs\":40,\"reason\":\"tool failed\","
          + "\"provenance\":{\"causationId\":\"g-1/2/0\"}}";

  static Stream<Bad> badValues() {
    return Stream.of(
        new Bad(
            "malformed JSON",
            Document.class,
            "{\"docId\": \"d-1\", \"text\": ",
            "cannot read Document: malformed JSON at line 1 column",
            null),
        new Bad(
            "not JSON at all",
            Document.class,
            "docId=d-1",
            "cannot read Document: malformed JSON at line 1 column",
            null),
        new Bad(
            "a number as a string",
            GoalResult.class,
            GOAL_RESULT.replace("\"steps\":3", "\"steps\":\"3\""),
            "cannot read GoalResult: field \"steps\" must be an integer, not a string (\"3\")",
            "steps"),
        new Bad(
            "a fraction as an integer",
            GoalResult.class,
            GOAL_RESULT.replace("\"steps\":3", "\"steps\":3.5"),
            "cannot read GoalResult: field \"steps\" must be an integer, not a fraction (3.5)",
            "steps"),
        new Bad(
            "null for a number",
            GoalResult.class,
            GOAL_RESULT.replace("\"steps\":3", "\"steps\":null"),
            "cannot read GoalResult: field \"steps\" must be an integer, not null",
            "steps"),
        new Bad(
            "a number as text",
            Document.class,
            "{\"docId\":\"d-1\",\"text\":5,\"timestamp\":\"2025-11-28T03:39:00Z\"}",
            "cannot read Document: field \"text\" must be a string, not a number (5)",
            "text"),
        new Bad(
            "a string as a boolean",
            ToolResult.class,
            "{\"callId\":\"g-1/0/0\",\"goalId\":\"g-1\",\"tool\":\"calculator\",\"ok\":\"true\",\"durationMs\":1,"
                + "\"worker\":\"w-1\"}",
            "cannot read ToolResult: field \"ok\" must be true or false, not a string (\"true\")",
            "ok"),
        new Bad(
            "an unknown enum value",
            GoalResult.class,
            GOAL_RESULT.replace("\"failed\"", "\"done\""),
            "cannot read GoalResult: field \"status\" must be one of cancelled, timed_out, failed, rejected,"
                + " budget_exhausted, succeeded, not \"done\"",
            "status"),
        new Bad(
            "an upper-case enum value",
            GoalResult.class,
            GOAL_RESULT.replace("\"failed\"", "\"FAILED\""),
            "cannot read GoalResult: field \"status\" must be one of",
            "status"),
        new Bad(
            "NaN in a payload (Python's json.dumps writes it)",
            ClassificationRequest.class,
            "{\"eventId\":\"e1\",\"text\":\"x\",\"payload\":{\"n\":NaN}}",
            "cannot read ClassificationRequest: malformed JSON at line 1 column 46: Non-standard token"
                + " 'NaN' (JSON has no NaN or Infinity",
            null),
        new Bad(
            "a comment",
            Goal.class,
            "{\"goalId\":\"g-1\", // mine\n\"goal\":\"Say hello\"}",
            "cannot read Goal: malformed JSON at line 1 column 18: Unexpected character ('/' (code 47)):"
                + " a comment? JSON has none",
            null),
        new Bad(
            "an array instead of an object",
            Goal.class,
            "[{\"goalId\":\"g-1\",\"goal\":\"Say hello\"}]",
            "cannot read Goal: the value must be a JSON object, not a list",
            null),
        new Bad(
            "a string instead of a list",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"tools\":\"calculator\"}",
            "cannot read Goal: field \"tools\" must be a list, not a string (\"calculator\")",
            "tools"),
        new Bad(
            "a number in a list of strings",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"tools\":[\"calculator\",7]}",
            "cannot read Goal: item 1 of field \"tools\" must be a string, not a number (7) (at $.tools[1])",
            "tools"),
        new Bad(
            "a number instead of an object",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"budget\":5}",
            "cannot read Goal: field \"budget\" must be an object, not a number (5)",
            "budget"),
        new Bad(
            "a missing required text",
            Goal.class,
            "{\"goalId\":\"g-1\"}",
            "cannot read Goal: field \"goal\" is required",
            "goal"),
        new Bad(
            "a blank id",
            Goal.class,
            "{\"goalId\":\" \",\"goal\":\"Say hello\"}",
            "cannot read Goal: field \"goalId\" must not be blank",
            "goalId"),
        new Bad(
            "a missing required number",
            GoalEvent.class,
            "{\"goalId\":\"g-1\",\"type\":\"finished\",\"summary\":\"done\",\"at\":\"2025-11-28T03:39:00Z\"}",
            "cannot read GoalEvent: field \"step\" is required",
            "step"),
        new Bad(
            "a missing nested field",
            GoalResult.class,
            GOAL_RESULT.replace("\"inputTokens\":10,", ""),
            "cannot read GoalResult: field \"inputTokens\" is required",
            "inputTokens"),
        new Bad(
            "a failure without reason",
            GoalResult.class,
            GOAL_RESULT.replace(",\"reason\":\"tool failed\"", ""),
            "cannot read GoalResult: field \"reason\" is required",
            "reason"),
        new Bad(
            "a reply with neither content nor error",
            LlmReply.class,
            "{\"requestId\":\"r-1\",\"correlationId\":\"g-1\",\"purpose\":\"controller.plan\","
                + "\"usage\":{\"inputTokens\":1,\"outputTokens\":0},\"costUsd\":0,\"latencyMs\":5}",
            "cannot read LlmReply: field \"content\", \"toolCalls\" or \"error\" is required",
            "content"),
        new Bad(
            "a prompt version that is not a sha-256 prefix",
            GoalResult.class,
            GOAL_RESULT.replace(
                "\"causationId\":\"g-1/2/0\"",
                "\"causationId\":\"g-1/2/0\",\"prompts\":[{\"id\":\"controller.system\",\"version\":\"v2\"}]"),
            "cannot read GoalResult: field \"version\" must be sha256: and 12 lower-case hex digits",
            "version"),
        new Bad(
            "a date that is not a date",
            Document.class,
            "{\"docId\":\"d-1\",\"text\":\"x\",\"timestamp\":\"yesterday\"}",
            "cannot read Document:",
            "timestamp"),
        new Bad(
            "a time as epoch seconds",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"Say hello\",\"submittedAt\":1764301140}",
            "cannot read Goal: field \"submittedAt\" must be an ISO-8601 time with its offset, such as"
                + " 2026-01-31T09:00:00Z or 2026-01-31T10:00:00+01:00, or epoch milliseconds, not"
                + " 1764301140: epoch seconds? In epoch milliseconds that is 1764301140000",
            "submittedAt"),
        new Bad(
            "a time as fractional epoch seconds",
            Document.class,
            "{\"docId\":\"d-1\",\"text\":\"x\",\"timestamp\":1764301140.5}",
            "cannot read Document: field \"timestamp\" must be an ISO-8601 time with its offset, such"
                + " as 2026-01-31T09:00:00Z or 2026-01-31T10:00:00+01:00, or epoch milliseconds, not"
                + " 1764301140.5: epoch milliseconds are a whole number",
            "timestamp"),
        new Bad(
            "a time as epoch microseconds",
            LabelEvent.class,
            "{\"eventId\":\"e-1\",\"text\":\"x\",\"label\":\"a\",\"at\":1764301140000000}",
            "cannot read LabelEvent: field \"at\" must be an ISO-8601 time with its offset, such as"
                + " 2026-01-31T09:00:00Z or 2026-01-31T10:00:00+01:00, or epoch milliseconds, not"
                + " 1764301140000000: larger than epoch milliseconds can be (up to the year 9999): micro-"
                + " or nanoseconds?",
            "at"),
        new Bad(
            "a time without its offset (Python's datetime.utcnow().isoformat())",
            Document.class,
            "{\"docId\":\"d-1\",\"text\":\"x\",\"timestamp\":\"2026-12-07T07:00:00\"}",
            "cannot read Document: field \"timestamp\" must be an ISO-8601 time with its offset, such as"
                + " 2026-01-31T09:00:00Z or 2026-01-31T10:00:00+01:00, or epoch milliseconds, not a"
                + " string (\"2026-12-07T07:00:00\")",
            null),
        new Bad(
            "a tool call id that is not goalId/step/index",
            ToolCall.class,
            "{\"callId\":\"c-1\",\"goalId\":\"g-1\",\"step\":0,\"index\":0,\"tool\":\"calculator\",\"arguments\":{},"
                + "\"attempt\":1,\"timeoutMs\":100}",
            "cannot read ToolCall: field \"callId\" must be goalId/step/index (g-1/0/0) but was c-1",
            "callId"),
        new Bad(
            "a shadow reply that agrees although its candidate failed",
            ShadowReply.class,
            "{\"requestId\":\"r-1\",\"correlationId\":\"k\",\"purpose\":\"summarizer.chunk\",\"provider\":\"openai\","
                + "\"usage\":{\"inputTokens\":0,\"outputTokens\":0},\"costUsd\":0,\"latencyMs\":1,"
                + "\"error\":{\"code\":\"timeout\",\"message\":\"no answer\",\"attempts\":1},"
                + "\"agreement\":\"agree\",\"primaryUsage\":{\"inputTokens\":1,\"outputTokens\":1},"
                + "\"primaryCostUsd\":0,\"primaryLatencyMs\":1}",
            "cannot read ShadowReply: field \"agreement\" agree does not match the errors of the two answers",
            "agreement"),
        new Bad(
            "a duplicate field",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"a\",\"goal\":\"b\"}",
            "cannot read Goal: malformed JSON at line 1 column",
            null),
        new Bad(
            "trailing content",
            Goal.class,
            "{\"goalId\":\"g-1\",\"goal\":\"a\"} {}",
            "cannot read Goal: Trailing token",
            null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValues")
  void shouldRefuseWithAMessageNamingTheProblem(Bad bad) {
    byte[] bytes = bad.json().getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> serdeOf(bad.type()).deserializer().deserialize("any", bytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageStartingWith(bad.message())
        .hasMessageContaining(bad.schemaField() == null ? "" : bad.schemaField());
  }

  static Stream<Bad> badValuesAsJson() {
    return badValues().filter(bad -> bad.schemaField() != null);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValuesAsJson")
  void shouldBeRefusedByTheSchemaToo(Bad bad) throws IOException {
    Set<ValidationMessage> problems = schemaOf(bad.type()).validate(PLAIN.readTree(bad.json()));
    assertThat(problems).as(bad.json()).isNotEmpty();
    assertThat(
            problems.stream().map(ValidationMessage::getMessage).collect(Collectors.joining("\n")))
        .contains(bad.schemaField());
  }

  /** A value as Confluent's serializers frame it: magic byte 0, the schema id, the payload. */
  private static byte[] framed(int schemaId, byte[] payload) {
    return java.nio.ByteBuffer.allocate(5 + payload.length)
        .put((byte) 0)
        .putInt(schemaId)
        .put(payload)
        .array();
  }

  @Test
  void shouldReadJsonAfterAConfluentSchemaRegistryHeader() {
    byte[] json = "{\"goalId\":\"g-1\",\"goal\":\"Say hello\"}".getBytes(StandardCharsets.UTF_8);
    assertThat(serdeOf(Goal.class).deserializer().deserialize("goals", framed(7, json)))
        .isEqualTo(Goal.of("g-1", "Say hello"));
    // The contract still holds after the header: the registry's schema is not ours.
    assertThatThrownBy(
            () ->
                serdeOf(Goal.class)
                    .deserializer()
                    .deserialize(
                        "goals",
                        framed(7, "{\"goalId\":\"g-1\"}".getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(SerializationException.class)
        .hasMessage("cannot read Goal: field \"goal\" is required");
  }

  @Test
  void shouldReadATimeInEpochMillisecondsAsThatInstant() throws IOException {
    String json = "{\"docId\":\"d-1\",\"text\":\"x\",\"timestamp\":1793610000000}";
    Document doc =
        JsonSerde.of(Document.class)
            .deserializer()
            .deserialize("documents", json.getBytes(StandardCharsets.UTF_8));
    assertThat(doc.timestamp()).isEqualTo(java.time.Instant.parse("2026-11-02T09:00:00Z"));
    assertThat(schemaOf(Document.class).validate(PLAIN.readTree(json))).isEmpty();
    // The smallest and largest numbers read as milliseconds: 1973 and the end of the year 9999.
    for (long ms : new long[] {100_000_000_000L, 253_402_300_799_999L}) {
      String edge = "{\"docId\":\"d-1\",\"text\":\"x\",\"timestamp\":" + ms + "}";
      assertThat(
              JsonSerde.of(Document.class)
                  .deserializer()
                  .deserialize("documents", edge.getBytes(StandardCharsets.UTF_8))
                  .timestamp())
          .isEqualTo(java.time.Instant.ofEpochMilli(ms));
      assertThat(schemaOf(Document.class).validate(PLAIN.readTree(edge))).isEmpty();
    }
    // Written back, a time is ISO-8601, as every output's times are.
    assertThat(new String(JsonSerde.of(Document.class).serializer().serialize("documents", doc)))
        .contains("\"timestamp\":\"2026-11-02T09:00:00Z\"");
  }

  @Test
  void shouldSayWhatAFramedValueThatIsNotJsonIs() {
    // Avro's binary encoding of a record of two strings: lengths as zig-zag varints, then bytes.
    byte[] avro = {0x06, 'g', '-', '1', 0x0a, 'h', 'e', 'l', 'l', 'o'};
    assertThatThrownBy(
            () -> serdeOf(Goal.class).deserializer().deserialize("goals", framed(100_001, avro)))
        .isInstanceOf(SerializationException.class)
        .hasMessage(
            "cannot read Goal: the value has a Confluent Schema Registry header (magic byte 0,"
                + " schema id 100001) and what follows it is not JSON (Avro or Protobuf?):"
                + " llm-streams reads JSON values, plain or from a JSON Schema serializer");
  }

  @Test
  void shouldSayWhereAValueStopsBeingUtf8() {
    // "Café" as Latin-1 / Windows-1252 writes it: é is the single byte 0xE9.
    byte[] latin1 =
        "{\"goalId\":\"g-1\",\"goal\":\"Caf\u00e9 bill\"}"
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThatThrownBy(() -> serdeOf(Goal.class).deserializer().deserialize("goals", latin1))
        .isInstanceOf(SerializationException.class)
        .hasMessage(
            "cannot read Goal: the value is not valid UTF-8: byte 0xE9 at byte 27 (after"
                + " \"...d\":\"g-1\",\"goal\":\"Caf\") (text encoded as Latin-1 or Windows-1252?"
                + " JSON must be sent as UTF-8)");
    // The same text as UTF-8 is read.
    assertThat(
            JsonSerde.of(Goal.class)
                .deserializer()
                .deserialize(
                    "goals",
                    new String(latin1, StandardCharsets.ISO_8859_1)
                        .getBytes(StandardCharsets.UTF_8))
                .goal())
        .isEqualTo("Caf\u00e9 bill");
  }

  @Test
  void shouldCountTheByteOffsetFromTheJsonAfterAHeader() {
    byte[] bad = "{\"goalId\":\"g\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
    assertThatThrownBy(
            () -> serdeOf(Goal.class).deserializer().deserialize("goals", framed(1, bad)))
        .isInstanceOf(SerializationException.class)
        .hasMessageStartingWith(
            "cannot read Goal: the value is not valid UTF-8: byte 0xE9 at byte 12 (after"
                + " \"{\"goalId\":\"g\")");
  }

  @Test
  void shouldRefuseAStringLongerThanTheLimit() {
    String text = "a".repeat(Json.MAX_STRING_LENGTH + 1);
    byte[] bytes =
        ("{\"docId\":\"d-1\",\"text\":\"" + text + "\",\"timestamp\":\"2025-11-28T03:39:00Z\"}")
            .getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> JsonSerde.of(Document.class).deserializer().deserialize("any", bytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageStartingWith("cannot read Document: input exceeds a limit: String value length")
        .hasMessageContaining("16000000")
        .hasMessageNotContaining("aaaa");
  }

  @Test
  void shouldReadTheLargestDocumentAllowed() {
    String text = "a".repeat(10_000_000);
    byte[] bytes =
        ("{\"docId\":\"d-1\",\"text\":\"" + text + "\",\"timestamp\":\"2025-11-28T03:39:00Z\"}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(JsonSerde.of(Document.class).deserializer().deserialize("any", bytes).text())
        .hasSize(10_000_000);
  }

  @Test
  void shouldRefuseJsonNestedTooDeeply() {
    int depth = 10_000;
    String json =
        "{\"goalId\":\"g-1\",\"step\":0,\"type\":\"decision\",\"summary\":\"s\",\"at\":\"2025-11-28T03:39:00Z\","
            + "\"data\":"
            + "[".repeat(depth)
            + "]".repeat(depth)
            + "}";
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> JsonSerde.of(GoalEvent.class).deserializer().deserialize("any", bytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageStartingWith(
            "cannot read GoalEvent: input exceeds a limit: Document nesting depth")
        .hasMessageContaining("200");
  }

  // ---- helpers
  // --------------------------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static JsonSerde<Object> serdeOf(Class<?> type) {
    return (JsonSerde<Object>) JsonSerde.of(type);
  }

  private static <T> T read(Class<T> type, String json) {
    return JsonSerde.of(type)
        .deserializer()
        .deserialize("any", json.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonSchema schemaOf(Class<?> type) throws IOException {
    TopicFile topic =
        catalog().stream()
            .filter(t -> type.getName().equals(t.valueType()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no topic carries " + type.getName()));
    return FACTORY.getSchema(PLAIN.readTree(TOPICS.resolve(topic.valueSchema()).toFile()), CONFIG);
  }
}
