package dev.llmstreams.runtime.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.events.ToolCall;
import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class McpServerSpecTest {
  @TempDir Path dir;

  @Test
  void readsEveryDeclarationOfTheFolderWithItsDefaults() throws Exception {
    Files.writeString(
        dir.resolve("files.json"),
        """
        {"name": "files", "command": "npx", "args": ["-y", "pkg@1.0.0", "/data"],
         "include": ["read_text_file"], "timeoutMs": 5000}
        """);
    Files.writeString(
        dir.resolve("crm.json"),
        """
        {"name": "crm", "transport": "http", "url": "https://mcp.example.com/mcp",
         "headers": {"Authorization": "Bearer ${file:%s}"}, "approval": "always"}
        """
            .formatted(dir.resolve("token")));
    Files.writeString(dir.resolve("token"), "s3cret\n");
    List<McpServerSpec> specs = McpServerSpec.load(dir.toString());
    assertThat(specs).extracting(McpServerSpec::name).containsExactly("crm", "files");
    McpServerSpec files = specs.get(1);
    assertThat(files.transport()).isEqualTo("stdio");
    assertThat(files.concurrency()).isEqualTo(McpServerSpec.DEFAULT_CONCURRENCY);
    assertThat(files.approval()).isEqualTo("annotations");
    assertThat(files.offers("read_text_file")).isTrue();
    assertThat(files.offers("write_file")).isFalse();
    assertThat(files.toolName("read_text_file")).isEqualTo("files__read_text_file");
    McpServerSpec crm = specs.get(0);
    assertThat(crm.resolvedHeaders()).containsEntry("Authorization", "Bearer s3cret");
    // What is logged names the server and its URL, never a header value.
    assertThat(crm.describe()).contains("https://mcp.example.com/mcp").doesNotContain("s3cret");
    assertThat(crm.requiresApproval(true, false)).isTrue();
  }

  @Test
  void approvalFollowsTheAnnotationsWithMcpDefaults() {
    McpServerSpec s = stdio("s", "annotations");
    assertThat(s.requiresApproval(true, null)).as("read-only").isFalse();
    assertThat(s.requiresApproval(true, true)).as("read-only but destructive").isTrue();
    assertThat(s.requiresApproval(null, null)).as("no annotations: not read-only").isTrue();
    assertThat(s.requiresApproval(false, false)).as("writes, not destructive").isTrue();
    assertThat(stdio("s", "never").requiresApproval(false, true)).isFalse();
  }

  @Test
  void refusesWhatCannotWorkWithAMessageNamingIt() throws Exception {
    assertThatThrownBy(() -> stdio("Bad_Name", "annotations"))
        .hasMessageContaining("MCP server name 'Bad_Name'");
    assertThatThrownBy(
            () ->
                new McpServerSpec(
                    "x", "sse", "c", null, null, null, null, null, null, null, null, null, null))
        .hasMessageContaining("transport must be stdio or http");
    assertThatThrownBy(
            () ->
                new McpServerSpec(
                    "x", "http", null, null, null, "ftp://h", null, null, null, null, null, null,
                    null))
        .hasMessageContaining("http needs a url");
    McpServerSpec env =
        new McpServerSpec(
            "x",
            "stdio",
            "c",
            null,
            Map.of("TOKEN", "${env:LLMSTREAMS_SURELY_UNSET_VAR}"),
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null);
    assertThatThrownBy(env::resolvedEnv)
        .hasMessageContaining("LLMSTREAMS_SURELY_UNSET_VAR, which is not set");
    Files.writeString(dir.resolve("other.json"), "{\"name\": \"files\", \"command\": \"c\"}");
    assertThatThrownBy(() -> McpServerSpec.load(dir.toString()))
        .hasMessageContaining("other.json declares server files");
    Files.writeString(
        dir.resolve("other.json"), "{\"name\": \"other\", \"command\": \"c\", \"x\": 1}");
    assertThatThrownBy(() -> McpServerSpec.load(dir.toString()))
        .hasMessageContaining("cannot read other.json");
  }

  @Test
  void aServersToolsShareOneCommandTopicInTheCatalog() {
    TopicCatalog catalog =
        TopicCatalog.load().withPrefix("p.").withMcpTopics(List.of("files"), "p.");
    assertThat(catalog.toolKey("files__read_text_file")).isEqualTo("mcp.files");
    assertThat(catalog.toolCalls("files__read_text_file", ToolCall.class).name())
        .isEqualTo("p.tool-calls.mcp.files");
    assertThat(catalog.toolCalls("files__write_file", ToolCall.class).name())
        .isEqualTo("p.tool-calls.mcp.files");
    assertThat(catalog.toolKey("calculator")).isEqualTo("calculator");
    assertThat(catalog.toolKey("other__tool")).as("an undeclared server").isNull();
    assertThat(McpServerSpec.serverOf("files__read__x")).isEqualTo("files");
    assertThat(McpServerSpec.toolOf("files__read__x")).isEqualTo("read__x");
  }

  private static McpServerSpec stdio(String name, String approval) {
    McpServerSpec s = McpServerSpec.stdio(name, List.of("cmd"), 1000);
    return new McpServerSpec(
        s.name(), "stdio", "cmd", null, null, null, null, null, null, approval, null, null, null);
  }
}
