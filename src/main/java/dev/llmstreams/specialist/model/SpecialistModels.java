package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.runtime.text.SentenceEncoder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Specialist models to and from {@link SpecialistModel} records (topic {@code specialist-models})
 * and model directories. The artifact is explicit binary (gzip of a {@code DataOutputStream}):
 * records arrive from a topic, so they are never Java-deserialized, and the reader checks every
 * count before it allocates.
 */
public final class SpecialistModels {
  /** The file of a model directory. */
  public static final String MODEL_FILE = "model.json";

  /**
   * Records above this are refused: the topic takes 8 MiB, and the rest of the record needs room.
   */
  public static final int MAX_RECORD_BYTES = 7 * 1024 * 1024;

  private static final int MAGIC = 0x4c4c5350; // "LLSP"
  private static final int LAYOUT = 1;
  private static final long MAX_DECODED_BYTES = 64L * 1024 * 1024;
  private static final int MAX_LABELS = 10_000;
  private static final int MAX_MEMBERS = 4;
  private static final int MAX_EXAMPLES = 100_000;
  private static final DateTimeFormatter VERSION_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH-mm-ss'Z'").withZone(ZoneOffset.UTC);

  /**
   * Texts whose exact vectors each shared encoder keeps: a served text is embedded once to be
   * classified and, when it is escalated, again to find its nearest examples, a few events later at
   * most. Kept small on purpose: a benchmark that streams a test set round and round (or a replay)
   * would otherwise be answered from the cache and measure it, not the model.
   */
  static final int SHARED_CACHE_SIZE = 64;

  // The encoders of every model loaded without one, one per encoder model, each loading on first
  // use: an ONNX session per hot swap would pile up (a model has no close).
  private static final Map<EncoderModel, SentenceEncoder> SHARED_ENCODERS =
      new ConcurrentHashMap<>();

  private SpecialistModels() {}

  /**
   * The record of a model, with its {@link ModelDigest digest} (not signed: see {@link
   * ModelTrust#seal}). Its version is the creation time and the artifact's hash, so it is unique
   * per name and the same weights encoded at another time get another version.
   *
   * @throws IllegalArgumentException when the record would not fit on {@code specialist-models}
   */
  public static SpecialistModel encode(
      SpecialistClassifier model,
      Instant createdAt,
      String trainingDataDigest,
      JsonNode metrics,
      JsonNode config) {
    byte[] artifact = artifact(model);
    String sha = sha256Hex(artifact);
    Instant created = createdAt.truncatedTo(ChronoUnit.SECONDS);
    String version = VERSION_TIME.format(created) + "-" + sha.substring(0, 7);
    SpecialistModel record =
        new SpecialistModel(
            model.name(),
            version,
            created,
            model.labels(),
            trainingDataDigest,
            metrics,
            config,
            model.kind().format(),
            Base64.getEncoder().encodeToString(artifact),
            sha);
    record = ModelDigest.digested(record);
    int bytes = recordBytes(record);
    if (bytes > MAX_RECORD_BYTES) {
      throw new IllegalArgumentException(
          "model "
              + model.name()
              + ": its record would be "
              + bytes
              + " bytes, over the "
              + MAX_RECORD_BYTES
              + " that leave room under the topic's 8 MiB");
    }
    return record;
  }

  /**
   * The same record with other metrics (e.g. a test evaluation added after training), and its
   * digest recomputed (unsigned: sign it with {@link ModelTrust#seal} after the last change).
   */
  public static SpecialistModel withMetrics(SpecialistModel r, JsonNode metrics) {
    return ModelDigest.digested(
        new SpecialistModel(
            r.name(),
            r.version(),
            r.createdAt(),
            r.labels(),
            r.trainingDataDigest(),
            metrics,
            r.config(),
            r.format(),
            r.artifact(),
            r.artifactSha256()));
  }

  /**
   * The process-wide sentence encoder of this encoder model, for models loaded without one (created
   * on the first call, loads on first use, lives as long as the process; it caches the vectors of
   * the last {@value #SHARED_CACHE_SIZE} texts it embedded one at a time).
   */
  public static SentenceEncoder sharedEncoder(EncoderModel model) {
    return SHARED_ENCODERS.computeIfAbsent(model, m -> new SentenceEncoder(m, SHARED_CACHE_SIZE));
  }

  /**
   * A model from its record; an embedding model embeds with the process-wide encoder of the encoder
   * its artifact names ({@link #sharedEncoder}).
   *
   * @throws IllegalArgumentException naming the reason when the format is unknown, the artifact's
   *     hash does not match, or the artifact is malformed
   */
  public static SpecialistClassifier load(SpecialistModel record) {
    return load(record, SpecialistModels::sharedEncoder);
  }

  /**
   * A model from its record, embedding with the given encoder.
   *
   * @throws IllegalArgumentException naming the reason when the format is unknown, the artifact's
   *     hash does not match, the artifact is malformed, or it was trained with another encoder
   */
  public static SpecialistClassifier load(SpecialistModel record, SentenceEncoder encoder) {
    return load(record, given(encoder));
  }

  /** Hands out the one encoder, if the artifact asks for that one. */
  private static Function<EncoderModel, SentenceEncoder> given(SentenceEncoder encoder) {
    return wanted -> {
      if (wanted != encoder.spec()) {
        throw new IllegalArgumentException(
            "the model was trained on "
                + wanted.id()
                + " embeddings, but the encoder given is "
                + encoder.spec().id());
      }
      return encoder;
    };
  }

  /** A model from its record, embedding with the encoders {@code encoders} hands out. */
  static SpecialistClassifier load(
      SpecialistModel record, Function<EncoderModel, SentenceEncoder> encoders) {
    ModelKind kind = ModelKind.ofFormat(record.format());
    byte[] artifact;
    try {
      artifact = Base64.getDecoder().decode(record.artifact());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "model "
              + record.name()
              + " "
              + record.version()
              + ": artifact is not base64: "
              + e.getMessage(),
          e);
    }
    String sha = sha256Hex(artifact);
    if (!sha.equalsIgnoreCase(record.artifactSha256())) {
      throw new IllegalArgumentException(
          "model "
              + record.name()
              + " "
              + record.version()
              + ": artifact sha-256 "
              + sha
              + " does not match the record's "
              + record.artifactSha256()
              + " (corrupted or tampered)");
    }
    try {
      SpecialistClassifier model = decode(artifact, record.name(), record.version(), encoders);
      if (model.kind() != kind) {
        throw new IllegalArgumentException(
            "format "
                + record.format()
                + " but the artifact holds a "
                + model.kind().id()
                + " model");
      }
      if (!model.labels().equals(record.labels())) {
        throw new IllegalArgumentException("the record's labels differ from the artifact's");
      }
      return model;
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "model "
              + record.name()
              + " "
              + record.version()
              + ": malformed artifact: "
              + e.getMessage(),
          e);
    }
  }

  /** Writes the record as {@value #MODEL_FILE} in the directory (created if missing). */
  public static Path save(SpecialistModel record, Path dir) {
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(MODEL_FILE);
      Files.write(file, Json.writer().writeValueAsBytes(record));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the model to " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The record saved in a model directory (not loaded: see {@link #load(SpecialistModel)}). */
  public static SpecialistModel read(Path dir) {
    Path file = Files.isDirectory(dir) ? dir.resolve(MODEL_FILE) : dir;
    try {
      return Json.readerFor(SpecialistModel.class).readValue(Files.readAllBytes(file));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UncheckedIOException(
          file
              + (file.equals(dir)
                  ? ": no such model directory (train --out writes one)"
                  : ": no model here (train --out writes " + MODEL_FILE + ")"),
          e);
    } catch (IOException e) {
      throw new UncheckedIOException(
          file + ": not a specialist model record: " + e.getMessage(), e);
    }
  }

  /** The model saved in a directory. */
  public static SpecialistClassifier load(Path dir) {
    return load(read(dir));
  }

  /** Size of the record as JSON, what the topic's max.message.bytes is compared with. */
  public static int recordBytes(SpecialistModel record) {
    try {
      return Json.writer().writeValueAsBytes(record).length;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] artifact(SpecialistClassifier model) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
      out.writeInt(MAGIC);
      out.writeInt(LAYOUT);
      out.writeByte(model.kind().ordinal());
      out.writeInt(model.labels().size());
      for (String label : model.labels()) {
        writeText(out, label);
      }
      out.writeDouble(model.recommendedThreshold());
      if (model.kind() == ModelKind.CASCADE) {
        out.writeDouble(model.stageThreshold());
      }
      out.writeInt(model.members().size());
      for (SpecialistClassifier.Member m : model.members()) {
        out.writeByte(m.scorer().type());
        out.writeDouble(m.temperature());
        m.scorer().write(out);
      }
      List<LabeledText> examples = model.examples().examples();
      out.writeInt(examples.size());
      for (LabeledText e : examples) {
        out.writeInt(model.labels().indexOf(e.label()));
        writeText(out, e.text());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * A model from artifact bytes (hash already checked), with the record's name and version; {@code
   * encoders} gives the sentence encoder of the encoder model an embedding member names.
   */
  static SpecialistClassifier decode(
      byte[] artifact,
      String name,
      String version,
      Function<EncoderModel, SentenceEncoder> encoders)
      throws IOException {
    try (DataInputStream in =
        new DataInputStream(
            new Bounded(
                new GZIPInputStream(new ByteArrayInputStream(artifact)), MAX_DECODED_BYTES))) {
      if (in.readInt() != MAGIC) {
        throw new IllegalArgumentException("not a specialist artifact");
      }
      int layout = in.readInt();
      if (layout != LAYOUT) {
        throw new IllegalArgumentException(
            "artifact layout " + layout + "; this build reads " + LAYOUT);
      }
      int kindIndex = in.readUnsignedByte();
      if (kindIndex >= ModelKind.values().length) {
        throw new IllegalArgumentException("unknown model kind " + kindIndex);
      }
      ModelKind kind = ModelKind.values()[kindIndex];
      int labelCount = count(in.readInt(), MAX_LABELS, "labels");
      List<String> labels = new ArrayList<>(labelCount);
      for (int i = 0; i < labelCount; i++) {
        labels.add(readText(in));
      }
      double threshold = in.readDouble();
      if (!(threshold >= 0 && threshold <= 1)) {
        throw new IllegalArgumentException("threshold " + threshold + " is not in [0, 1]");
      }
      double stageThreshold = SpecialistClassifier.NEVER;
      if (kind == ModelKind.CASCADE) {
        stageThreshold = in.readDouble();
        if (!(stageThreshold >= 0 && stageThreshold <= SpecialistClassifier.NEVER)) {
          throw new IllegalArgumentException(
              "stage threshold "
                  + stageThreshold
                  + " is not in [0, "
                  + SpecialistClassifier.NEVER
                  + "]");
        }
      }
      int memberCount = count(in.readInt(), MAX_MEMBERS, "members");
      List<SpecialistClassifier.Member> members = new ArrayList<>();
      for (int i = 0; i < memberCount; i++) {
        byte type = in.readByte();
        double temperature = in.readDouble();
        if (!(temperature > 0 && Double.isFinite(temperature))) {
          throw new IllegalArgumentException("temperature " + temperature);
        }
        Scorer scorer =
            switch (type) {
              case HashedScorer.TYPE -> HashedScorer.read(in, labelCount);
              case EmbeddingScorer.TYPE ->
                  EmbeddingScorer.read(
                      in, labelCount, encoders.apply(EmbeddingScorer.readEncoder(in)));
              case EmbeddingScorer.MINILM_TYPE ->
                  EmbeddingScorer.read(in, labelCount, encoders.apply(EncoderModel.MINILM));
              default -> throw new IllegalArgumentException("unknown member type " + type);
            };
        members.add(new SpecialistClassifier.Member(scorer, temperature));
      }
      if (members.isEmpty()) {
        throw new IllegalArgumentException("no members");
      }
      int exampleCount = count(in.readInt(), MAX_EXAMPLES, "examples");
      List<LabeledText> examples = new ArrayList<>(exampleCount);
      for (int i = 0; i < exampleCount; i++) {
        int label = in.readInt();
        if (label < 0 || label >= labelCount) {
          throw new IllegalArgumentException("an example of label " + label + " of " + labelCount);
        }
        examples.add(new LabeledText(readText(in), labels.get(label)));
      }
      if (in.read() != -1) {
        throw new IllegalArgumentException("trailing bytes after the examples");
      }
      return new SpecialistClassifier(
          name,
          version,
          kind,
          labels,
          threshold,
          stageThreshold,
          members,
          examplesIn(kind, members, examples));
    } catch (EOFException e) {
      throw new IllegalArgumentException("artifact ends early", e);
    }
  }

  /**
   * The examples in the space of the most accurate member: the embedding member's sentence
   * encoder's, else the hashed features'.
   */
  static NearestExamples examplesIn(
      ModelKind kind, List<SpecialistClassifier.Member> members, List<LabeledText> examples) {
    Function<String, SparseVector> space;
    List<SparseVector> vectors;
    if (kind == ModelKind.HASHED) {
      HashedFeatures features = ((HashedScorer) members.get(0).scorer()).features();
      space = features::vector;
      vectors = examples.stream().map(e -> features.vector(e.text())).toList();
    } else {
      SentenceEncoder encoder =
          members.stream()
              .map(SpecialistClassifier.Member::scorer)
              .filter(EmbeddingScorer.class::isInstance)
              .map(m -> ((EmbeddingScorer) m).encoder())
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "a " + kind.id() + " model with no embedding member"));
      space = text -> SparseVector.dense(encoder.embed(text));
      vectors =
          List.of(encoder.embed(examples.stream().map(LabeledText::text).toList(), 1)).stream()
              .map(SparseVector::dense)
              .toList();
    }
    return new NearestExamples(examples, space, vectors);
  }

  private static int count(int n, int max, String what) {
    if (n < 0 || n > max) {
      throw new IllegalArgumentException(n + " " + what + " (at most " + max + ")");
    }
    return n;
  }

  private static void writeText(DataOutputStream out, String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static String readText(DataInputStream in) throws IOException {
    int n = count(in.readInt(), 1 << 20, "bytes of text");
    return new String(in.readNBytes(n), StandardCharsets.UTF_8);
  }

  static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(LabeledData.sha256().digest(bytes));
  }

  /** Stops a decompression bomb: at most {@code limit} bytes come out. */
  private static final class Bounded extends FilterInputStream {
    private long left;

    Bounded(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0 && --left < 0) {
        throw new IOException("artifact decompresses to more than " + MAX_DECODED_BYTES + " bytes");
      }
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      int n = super.read(buf, off, len);
      if (n > 0 && (left -= n) < 0) {
        throw new IOException("artifact decompresses to more than " + MAX_DECODED_BYTES + " bytes");
      }
      return n;
    }
  }
}
