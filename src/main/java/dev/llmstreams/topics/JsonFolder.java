package dev.llmstreams.topics;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A folder of declarations, one {@code <name>.json} each: the topic catalog, tool definitions, MCP
 * servers. Read strictly (an unknown field is an error), in file-name order, each file named like
 * what it declares.
 */
public final class JsonFolder {
  /** Refuses unknown fields: a misspelt setting must not be silently ignored. */
  public static final ObjectMapper STRICT =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private JsonFolder() {}

  /**
   * Every {@code *.json} file of {@code dir} as a {@code type}.
   *
   * @param name the name a declaration gives itself, which its file must be named after
   * @param what names the reader in errors ({@code topic catalog})
   * @param declares what a misnamed file does, in errors ({@code declares topic})
   */
  public static <T> List<T> read(
      Path dir, Class<T> type, Function<T, String> name, String what, String declares) {
    List<T> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file :
          files
              .filter(p -> p.getFileName().toString().endsWith(".json"))
              .sorted(Comparator.comparing(Path::toString))
              .toList()) {
        T value;
        try {
          value = STRICT.readValue(Files.readAllBytes(file), type);
        } catch (IOException | IllegalArgumentException e) {
          throw new IllegalStateException(
              what + ": cannot read " + file.getFileName() + ": " + e.getMessage(), e);
        }
        if (!file.getFileName().toString().equals(name.apply(value) + ".json")) {
          throw new IllegalStateException(
              what + ": " + file.getFileName() + " " + declares + " " + name.apply(value));
        }
        out.add(value);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(what + ": cannot list " + dir, e);
    }
    return out;
  }
}
