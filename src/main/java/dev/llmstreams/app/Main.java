package dev.llmstreams.app;

public final class Main {
  public static void main(String[] args) {}
}
