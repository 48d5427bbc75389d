package dev.llmstreams.runtime.text;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Small pieces of the Markdown reports commands write. */
public final class MarkdownTables {
  private MarkdownTables() {}

  /** A two-column table, a row per field of {@code totals}. */
  public static String measures(ObjectNode totals) {
    StringBuilder md = new StringBuilder("| measure | value |\n|---|---|\n");
    totals
        .properties()
        .forEach(
            e ->
                md.append("| ")
                    .append(e.getKey())
                    .append(" | ")
                    .append(e.getValue())
                    .append(" |\n"));
    return md.toString();
  }

  /** {@code s} made safe for a table cell: pipes escaped, line breaks as spaces. */
  public static String cell(String s) {
    return s.replace("|", "\\|").replace('\n', ' ').replace('\r', ' ');
  }
}
