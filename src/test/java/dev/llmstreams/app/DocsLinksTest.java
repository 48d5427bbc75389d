package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README is the landing page and the rest of the documentation lives in {@code docs/}: every
 * relative link of those pages must lead somewhere, and an {@code #anchor} to a heading of its page
 * (GitHub's slugs).
 */
class DocsLinksTest {
  private static final Path README = Path.of("README.md");
  private static final Path DOCS = Path.of("docs");
  private static final int README_MAX_LINES = 200;

  /**
   * {@code [text](target)} and {@code ![alt](target)}; the target ends at whitespace (a title may
   * follow).
   */
  private static final Pattern LINK =
      Pattern.compile("\\[(?:[^\\[\\]]|\\[[^\\]]*\\])*\\]\\(\\s*<?([^)\\s>]*)>?[^)]*\\)");

  private static final Pattern HEADING = Pattern.compile("^ {0,3}#{1,6}\\s+(.*?)(?:\\s+#+)?\\s*$");
  private static final Pattern FENCE = Pattern.compile("^ {0,3}(```|~~~)");
  private static final Pattern INLINE_CODE = Pattern.compile("(`+)(?:(?!\\1).)+?\\1");

  @Test
  void readmeIsShort() throws IOException {
    assertThat(Files.readAllLines(README))
        .as("README.md is the landing page: at most 200 lines; move reference material to docs/")
        .hasSizeLessThanOrEqualTo(README_MAX_LINES);
  }

  @Test
  void everyRelativeLinkLeadsToAFileAndEveryAnchorToAHeading() throws IOException {
    List<Path> pages = pages();
    assertThat(pages).contains(README).hasSizeGreaterThan(1);
    Map<Path, Set<String>> anchors = new HashMap<>();
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (Path page : pages) {
      for (String target : links(Files.readString(page))) {
        if (target.isEmpty()
            || target.matches("(?i)(https?|mailto|ftp):.*")
            || target.startsWith("//")) {
          continue;
        }
        checked++;
        int hash = target.indexOf('#');
        String path =
            URLDecoder.decode(
                hash < 0 ? target : target.substring(0, hash), StandardCharsets.UTF_8);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path file = path.isEmpty() ? page : resolve(page, path);
        if (!Files.exists(file)) {
          broken.add(page + ": [" + target + "]: no file " + file);
          continue;
        }
        if (anchor == null) {
          continue;
        }
        if (Files.isDirectory(file) || !file.toString().endsWith(".md")) {
          broken.add(
              page
                  + ": ["
                  + target
                  + "]: an anchor into "
                  + file
                  + ", which is not a Markdown page");
          continue;
        }
        Set<String> headings =
            anchors.computeIfAbsent(file.normalize(), DocsLinksTest::headingSlugs);
        String wanted = URLDecoder.decode(anchor, StandardCharsets.UTF_8);
        if (!headings.contains(wanted)) {
          broken.add(
              page
                  + ": ["
                  + target
                  + "]: no heading #"
                  + anchor
                  + " in "
                  + file
                  + " (headings: "
                  + headings
                  + ")");
        }
      }
    }
    assertThat(checked).as("relative links checked").isPositive();
    assertThat(broken).as("broken links in README.md and docs/*.md").isEmpty();
  }

  @Test
  void slugsFollowGitHub() {
    assertThat(slug("Controller: goals become guarded tool-calling loops"))
        .isEqualTo("controller-goals-become-guarded-tool-calling-loops");
    assertThat(slug("Measured: inputs from librdkafka clients"))
        .isEqualTo("measured-inputs-from-librdkafka-clients");
    assertThat(slug("The `tool_calls` of [a link](x.md) & more"))
        .isEqualTo("the-tool_calls-of-a-link--more");
    assertThat(headingSlugs("# A\n```\n# not a heading\n```\n## A\n## B!"))
        .containsExactly("a", "a-1", "b");
  }

  @Test
  void linksInCodeAreNotLinks() {
    assertThat(
            links(
                "see [x](a.md) and `[y](b.md)`\n```\n[z](c.md)\n```\n![img](perf/d.svg \"title\")"))
        .containsExactly("a.md", "perf/d.svg");
  }

  private static List<Path> pages() throws IOException {
    List<Path> pages = new ArrayList<>();
    pages.add(README);
    try (Stream<Path> docs = Files.list(DOCS)) {
      docs.filter(p -> p.toString().endsWith(".md") && Files.isRegularFile(p))
          .sorted()
          .forEach(pages::add);
    }
    return pages;
  }

  private static Path resolve(Path page, String path) {
    Path dir = page.toAbsolutePath().getParent();
    return path.startsWith("/")
        ? Path.of("").toAbsolutePath().resolve(path.substring(1)).normalize()
        : dir.resolve(path).normalize();
  }

  /** The link targets of a page, outside fenced code blocks and inline code. */
  static List<String> links(String markdown) {
    List<String> targets = new ArrayList<>();
    for (String line : prose(markdown)) {
      Matcher m = LINK.matcher(INLINE_CODE.matcher(line).replaceAll(""));
      while (m.find()) {
        targets.add(m.group(1));
      }
    }
    return targets;
  }

  private static Set<String> headingSlugs(Path file) {
    try {
      return headingSlugs(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The anchors GitHub gives a page's headings: a repeated slug gets -1, -2, ... */
  static Set<String> headingSlugs(String markdown) {
    Set<String> slugs = new LinkedHashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    for (String line : prose(markdown)) {
      Matcher m = HEADING.matcher(line);
      if (m.matches()) {
        String s = slug(m.group(1));
        int n = seen.merge(s, 1, Integer::sum) - 1;
        slugs.add(n == 0 ? s : s + "-" + n);
      }
    }
    return slugs;
  }

  /**
   * GitHub's slug of a heading: its text in lower case, punctuation but '-' and '_' dropped, spaces
   * to '-'.
   */
  static String slug(String heading) {
    String text = heading.replaceAll("!?\\[([^\\]]*)\\]\\([^)]*\\)", "$1");
    return text.toLowerCase(Locale.ROOT)
        .replaceAll("[^\\p{L}\\p{N}\\p{M} _-]", "")
        .replace(' ', '-');
  }

  /** The lines of a page outside fenced code blocks. */
  private static List<String> prose(String markdown) {
    List<String> lines = new ArrayList<>();
    boolean inFence = false;
    for (String line : markdown.split("\n", -1)) {
      if (FENCE.matcher(line).find()) {
        inFence = !inFence;
        continue;
      }
      if (!inFence) {
        lines.add(line);
      }
    }
    return lines;
  }
}
