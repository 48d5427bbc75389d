package dev.llmstreams.topics;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Validates topic values against the JSON Schemas of the catalog (draft 2020-12, formats asserted).
 */
public final class Schemas {
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
  private static final SchemaValidatorsConfig CONFIG =
      SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

  private final TopicCatalog catalog;
  private final Map<String, JsonSchema> compiled = new ConcurrentHashMap<>();

  public Schemas(TopicCatalog catalog) {
    this.catalog = catalog;
  }

  /**
   * The problems of a value for a topic, one line each ({@code $.text: integer found, string
   * expected}); empty when valid.
   */
  public List<String> validate(String topic, JsonNode value) {
    JsonSchema schema =
        compiled.computeIfAbsent(
            topic,
            t ->
                FACTORY.getSchema(
                    catalog
                        .valueSchema(t)
                        .orElseThrow(
                            () ->
                                new IllegalArgumentException(
                                    "topic " + t + " has no value schema")),
                    CONFIG));
    return schema.validate(value).stream()
        .sorted(Comparator.comparing(ValidationMessage::getMessage))
        .map(ValidationMessage::getMessage)
        .toList();
  }
}
