package dev.llmstreams.topics;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Map;

/**
 * A folder shipped on the classpath ({@code topics/}, {@code topics/tools/}), as a Path whether in
 * a jar or not.
 */
public final class ClasspathFolder {
  private ClasspathFolder() {}

  /** The folder {@code name} (e.g. {@code topics/tools}); {@code what} names it in errors. */
  public static Path open(String name, String what) {
    URL url = ClasspathFolder.class.getClassLoader().getResource(name);
    if (url == null) {
      throw new IllegalStateException(what + ": no " + name + "/ folder on the classpath");
    }
    try {
      URI uri = url.toURI();
      if ("jar".equals(uri.getScheme())) {
        FileSystem fs;
        try {
          fs = FileSystems.newFileSystem(uri, Map.of());
        } catch (FileSystemAlreadyExistsException e) {
          fs = FileSystems.getFileSystem(uri);
        }
        return fs.getPath("/" + name);
      }
      return Path.of(uri);
    } catch (URISyntaxException | IOException e) {
      throw new IllegalStateException(what + ": cannot open " + url + ": " + e.getMessage(), e);
    }
  }
}
