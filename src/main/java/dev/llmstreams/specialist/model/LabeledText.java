package dev.llmstreams.specialist.model;

/** One training or test example: a text and its true label. */
public record LabeledText(String text, String label) {}
