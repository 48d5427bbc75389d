package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.events.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ToolRegistryTest {
  /** The built-in tools, in name order. */
  private static final List<String> BUILT_IN =
      List.of(
          "ask_human", "calculator", "classify", "delegate", "http_get", "publish", "synthesis");

  private static final String WEATHER =
      """
      {"name": "weather", "description": "Current weather of a city.",
       "parameters": {"type": "object", "required": ["city"], "additionalProperties": false,
                      "properties": {"city": {"type": "string", "minLength": 1}}},
       "timeoutMs": 5000, "requiresApproval": false}
      """;

  private final ToolRegistry registry = ToolRegistry.load("");

  @Test
  void shouldLoadTheSevenBuiltInTools() {
    assertThat(registry.names()).containsExactlyElementsOf(BUILT_IN);
    assertThat(registry.get("publish").requiresApproval()).isTrue();
    assertThat(registry.get("calculator").requiresApproval()).isFalse();
    assertThat(registry.get("calculator").spec().name()).isEqualTo("calculator");
  }

  @Test
  void shouldAcceptGoodArguments() {
    assertThat(registry.validate("calculator", Json.tree("{\"expression\":\"1 + 2\"}"))).isEmpty();
    assertThat(registry.validate("http_get", Json.tree("{\"url\":\"https://example.com/x\"}")))
        .isEmpty();
    assertThat(
            registry.validate(
                "publish", Json.tree("{\"topic\":\"alerts\",\"key\":\"k\",\"record\":{\"a\":1}}")))
        .isEmpty();
    assertThat(registry.validate("synthesis", Json.tree("{\"key\":\"ES2004a\"}"))).isEmpty();
  }

  @Test
  void shouldNameEveryProblemOfBadArguments() {
    assertThat(registry.validate("calculator", Json.tree("{}")))
        .singleElement()
        .asString()
        .contains("expression");
    assertThat(registry.validate("calculator", Json.tree("{\"expression\":5,\"extra\":true}")))
        .hasSize(2);
    assertThat(registry.validate("http_get", Json.tree("{\"url\":\"ftp://example.com/file\"}")))
        .singleElement()
        .asString()
        .contains("url");
    assertThat(registry.validate("publish", Json.tree("{\"topic\":\"a b\",\"record\":\"text\"}")))
        .hasSize(2);
    assertThat(registry.validate("calculator", Json.tree("[1]")))
        .containsExactly("$: the arguments must be a JSON object");
    assertThat(registry.validate("calculator", null))
        .containsExactly("$: the arguments must be a JSON object");
    assertThat(registry.validate("nope", Json.tree("{}"))).containsExactly("unknown tool 'nope'");
  }

  @Test
  void shouldReadExtraToolsFromToolsDir(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("weather.json"), WEATHER);
    Files.writeString(dir.resolve("notes.txt"), "not a tool");
    ToolRegistry withWeather = ToolRegistry.load(dir.toString());
    List<String> expected = new java.util.ArrayList<>(BUILT_IN);
    expected.add("weather");
    assertThat(withWeather.names()).containsExactlyElementsOf(expected);
    assertThat(withWeather.get("weather").timeoutMs()).isEqualTo(5000);
    assertThat(withWeather.validate("weather", Json.tree("{\"city\":\"Lyon\"}"))).isEmpty();
    assertThat(withWeather.validate("weather", Json.tree("{\"city\":\"\"}"))).hasSize(1);
  }

  @Test
  void shouldRejectBadDefinitions(@TempDir Path dir) throws Exception {
    Path noDescription = Files.createDirectory(dir.resolve("a"));
    Files.writeString(
        noDescription.resolve("weather.json"), WEATHER.replace("Current weather of a city.", " "));
    assertThatThrownBy(() -> ToolRegistry.load(noDescription.toString()))
        .hasMessageContaining("weather.json")
        .hasMessageContaining("description is required");

    Path misnamed = Files.createDirectory(dir.resolve("b"));
    Files.writeString(misnamed.resolve("forecast.json"), WEATHER);
    assertThatThrownBy(() -> ToolRegistry.load(misnamed.toString()))
        .hasMessageContaining("forecast.json defines tool weather");

    Path unknownField = Files.createDirectory(dir.resolve("c"));
    Files.writeString(
        unknownField.resolve("weather.json"),
        WEATHER.replace("\"timeoutMs\"", "\"colour\": 1, \"timeoutMs\""));
    assertThatThrownBy(() -> ToolRegistry.load(unknownField.toString()))
        .hasMessageContaining("colour");

    Path notObject = Files.createDirectory(dir.resolve("d"));
    Files.writeString(
        notObject.resolve("weather.json"),
        WEATHER.replace("\"type\": \"object\", \"required\"", "\"type\": \"array\", \"required\""));
    assertThatThrownBy(() -> ToolRegistry.load(notObject.toString()))
        .hasMessageContaining("JSON Schema of type object");

    Path twice = Files.createDirectory(dir.resolve("e"));
    Files.writeString(
        twice.resolve("calculator.json"), WEATHER.replace("\"weather\"", "\"calculator\""));
    assertThatThrownBy(() -> ToolRegistry.load(twice.toString()))
        .hasMessageContaining("calculator is defined twice");

    assertThatThrownBy(() -> ToolRegistry.load(dir.resolve("missing").toString()))
        .hasMessageContaining("is not a folder");
  }

  @Test
  void shouldRefuseAToolNameThatCannotBeATopicName() {
    assertThatThrownBy(
            () -> new ToolDefinition("bad name", "d", Json.tree("{\"type\":\"object\"}"), 1, false))
        .hasMessageContaining("must match");
    assertThat(ToolRegistry.builtIn()).extracting(ToolDefinition::name).isEqualTo(BUILT_IN);
  }
}
