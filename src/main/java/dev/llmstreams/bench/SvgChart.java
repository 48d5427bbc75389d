package dev.llmstreams.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart as a standalone SVG document: series of points on a linear or logarithmic axis each,
 * with ticks, axis labels, a title, a legend and optional horizontal reference lines. No scripts,
 * no external fonts, so GitHub renders it inside a README.
 */
public final class SvgChart {
  /**
   * LINEAR starts at zero (or below); LINEAR_FROM_DATA at the data's least value, to show small
   * differences.
   */
  public enum Scale {
    LINEAR,
    LINEAR_FROM_DATA,
    LOG
  }

  /** An axis: its label (with the unit) and scale. */
  public record Axis(String label, Scale scale) {}

  /** One point; {@code label} (optional) is written beside it. */
  public record Point(double x, double y, String label) {
    public Point(double x, double y) {
      this(x, y, null);
    }
  }

  /**
   * A named series drawn as a line through its points, dashed or solid, with or without point
   * markers.
   */
  public record Series(String name, List<Point> points, boolean dashed, boolean markers) {}

  /** A horizontal line at {@code y} across the plot, named in the legend. */
  public record Reference(String name, double y) {}

  static final int WIDTH = 720;
  static final int HEIGHT = 420;
  static final int LEFT = 78;
  static final int RIGHT = WIDTH - 24;
  static final int TOP = 44;
  static final int BOTTOM = HEIGHT - 58;
  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  private static final String REFERENCE_COLOR = "#7f7f7f";

  private final String title;
  private final Axis x;
  private final Axis y;
  private final List<Series> series = new ArrayList<>();
  private final List<Reference> references = new ArrayList<>();

  public SvgChart(String title, Axis x, Axis y) {
    this.title = title;
    this.x = x;
    this.y = y;
  }

  public SvgChart add(Series s) {
    series.add(s);
    return this;
  }

  public SvgChart add(Reference r) {
    references.add(r);
    return this;
  }

  public void write(Path file) throws IOException {
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    Files.writeString(file, toSvg());
  }

  public String toSvg() {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (Series s : series) {
      for (Point p : s.points()) {
        if (drawable(p.x(), x) && drawable(p.y(), y)) {
          xs.add(p.x());
          ys.add(p.y());
        }
      }
    }
    references.stream().filter(r -> drawable(r.y(), y)).forEach(r -> ys.add(r.y()));
    Range rx = Range.of(xs, x.scale());
    Range ry = Range.of(ys, y.scale());
    StringBuilder svg = new StringBuilder();
    svg.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
            WIDTH,
            HEIGHT,
            WIDTH,
            HEIGHT));
    svg.append(
        String.format(
            Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
    text(svg, WIDTH / 2.0, 24, "middle", "font-size=\"15\" font-weight=\"bold\"", title);
    for (double t : rx.ticks()) {
      double px = rx.map(t, LEFT, RIGHT);
      line(svg, px, TOP, px, BOTTOM, "#e5e5e5", false);
      text(svg, px, BOTTOM + 16, "middle", "", format(t));
    }
    for (double t : ry.ticks()) {
      double py = ry.map(t, BOTTOM, TOP);
      line(svg, LEFT, py, RIGHT, py, "#e5e5e5", false);
      text(svg, LEFT - 6, py + 4, "end", "", format(t));
    }
    svg.append(
        String.format(
            Locale.ROOT,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\""
                + " stroke=\"#333\"/>%n",
            LEFT,
            TOP,
            RIGHT - LEFT,
            BOTTOM - TOP));
    text(
        svg,
        (LEFT + RIGHT) / 2.0,
        HEIGHT - 16,
        "middle",
        "",
        x.label() + (x.scale() == Scale.LOG ? " (log scale)" : ""));
    text(
        svg,
        0,
        0,
        "middle",
        String.format(
            Locale.ROOT, "transform=\"translate(18 %.1f) rotate(-90)\"", (TOP + BOTTOM) / 2.0),
        y.label() + (y.scale() == Scale.LOG ? " (log scale)" : ""));
    List<String[]> legend = new ArrayList<>();
    List<double[]> ink = new ArrayList<>();
    for (Reference r : references) {
      if (drawable(r.y(), y)) {
        double py = ry.map(r.y(), BOTTOM, TOP);
        line(svg, LEFT, py, RIGHT, py, REFERENCE_COLOR, true);
        sample(ink, LEFT, py, RIGHT, py);
        legend.add(new String[] {r.name(), REFERENCE_COLOR, "dashed"});
      }
    }
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      String color = COLORS[i % COLORS.length];
      StringBuilder points = new StringBuilder();
      StringBuilder marks = new StringBuilder();
      double[] previous = null;
      for (Point p : s.points()) {
        if (!drawable(p.x(), x) || !drawable(p.y(), y)) {
          continue; // nothing to place: NaN, or not positive on a log axis
        }
        double px = rx.map(p.x(), LEFT, RIGHT);
        double py = ry.map(p.y(), BOTTOM, TOP);
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
        sample(
            ink,
            previous == null ? px : previous[0],
            previous == null ? py - 14 : previous[1],
            px,
            py - 14);
        previous = new double[] {px, py};
        if (s.markers()) {
          marks.append(
              String.format(
                  Locale.ROOT,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>%n",
                  px,
                  py,
                  color));
        }
        if (p.label() != null) {
          // Near the right edge a centred label would be cut off; a white halo keeps it legible
          // over other lines.
          text(
              marks,
              px,
              py - 8,
              px > RIGHT - 60 ? "end" : "middle",
              "font-size=\"11\" fill=\""
                  + color
                  + "\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\"",
              p.label());
        }
      }
      svg.append(
          String.format(
              Locale.ROOT,
              "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s" + " points=\"%s\"/>%n",
              color,
              s.dashed() ? " stroke-dasharray=\"6 4\"" : "",
              points.toString().strip()));
      svg.append(marks);
      legend.add(new String[] {s.name(), color, s.dashed() ? "dashed" : "solid"});
    }
    double w = 52 + 6.8 * legend.stream().mapToInt(l -> l[0].length()).max().orElse(0);
    double h = 8 + 17 * legend.size();
    double[] box = legendCorner(ink, w, h);
    svg.append(
        String.format(
            Locale.ROOT,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\""
                + " fill-opacity=\"0.85\"/>%n",
            box[0],
            box[1],
            w,
            h));
    for (int i = 0; i < legend.size(); i++) {
      String[] l = legend.get(i);
      double ly = box[1] + 17 + 17 * i;
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\""
                  + " stroke-width=\"2\"%s/>%n",
              box[0] + 6,
              ly - 4,
              box[0] + 34,
              ly - 4,
              l[1],
              "dashed".equals(l[2]) ? " stroke-dasharray=\"6 4\"" : ""));
      text(svg, box[0] + 40, ly, "start", "", l[0]);
    }
    return svg.append("</svg>\n").toString();
  }

  /**
   * Points along a segment, so the legend can avoid where lines and their labels (14 px above) run.
   */
  private static void sample(List<double[]> ink, double x1, double y1, double x2, double y2) {
    for (int i = 0; i <= 40; i++) {
      ink.add(new double[] {x1 + (x2 - x1) * i / 40, y1 + (y2 - y1) * i / 40});
      ink.add(new double[] {x1 + (x2 - x1) * i / 40, y1 + 14 + (y2 - y1) * i / 40});
    }
  }

  /**
   * The plot corner, of top-left, top-right, bottom-right and bottom-left, whose w x h box covers
   * the least ink.
   */
  private static double[] legendCorner(List<double[]> ink, double w, double h) {
    double[][] corners = {
      {LEFT + 4, TOP + 4},
      {RIGHT - 4 - w, TOP + 4},
      {RIGHT - 4 - w, BOTTOM - 4 - h},
      {LEFT + 4, BOTTOM - 4 - h}
    };
    double[] best = corners[0];
    long least = Long.MAX_VALUE;
    for (double[] c : corners) {
      long covered =
          ink.stream()
              .filter(p -> p[0] >= c[0] && p[0] <= c[0] + w && p[1] >= c[1] && p[1] <= c[1] + h)
              .count();
      if (covered < least) {
        least = covered;
        best = c;
      }
    }
    return best;
  }

  private static boolean drawable(double v, Axis axis) {
    return Double.isFinite(v) && (axis.scale() == Scale.LINEAR || v > 0);
  }

  private static void line(
      StringBuilder svg, double x1, double y1, double x2, double y2, String color, boolean dashed) {
    svg.append(
        String.format(
            Locale.ROOT,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"%s/>%n",
            x1,
            y1,
            x2,
            y2,
            color,
            dashed ? " stroke-width=\"1.5\" stroke-dasharray=\"6 4\"" : ""));
  }

  private static void text(
      StringBuilder svg, double x, double y, String anchor, String attributes, String text) {
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>%s</text>%n",
            x,
            y,
            anchor,
            attributes,
            escape(text)));
  }

  static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;")
        .replace("'", "&apos;");
  }

  /** Tick labels: integers without decimals, others with as few as they need. */
  static String format(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return String.format(Locale.ROOT, "%,d", (long) v);
    }
    return java.math.BigDecimal.valueOf(v)
        .round(new java.math.MathContext(3))
        .stripTrailingZeros()
        .toPlainString();
  }

  /** An axis' span: linear from 0 (or below) to a round number, or whole decades on a log axis. */
  record Range(double min, double max, Scale scale, double step) {
    static Range of(List<Double> values, Scale scale) {
      double lo =
          values.stream().mapToDouble(Double::doubleValue).min().orElse(scale == Scale.LOG ? 1 : 0);
      double hi = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
      if (scale == Scale.LOG) {
        double min = Math.pow(10, Math.floor(Math.log10(lo) - 1e-9));
        // A value on the lowest decade would sit on the frame: one decade more below keeps it
        // visible.
        min = lo <= min * 1.0001 ? min / 10 : min;
        return new Range(
            min, Math.max(min * 10, Math.pow(10, Math.ceil(Math.log10(hi) - 1e-9))), scale, 10);
      }
      double min = scale == Scale.LINEAR_FROM_DATA ? lo : Math.min(0, lo);
      double step = niceStep((hi - min) / 5);
      return new Range(
          Math.floor(min / step) * step, Math.max(step, Math.ceil(hi / step) * step), scale, step);
    }

    static double niceStep(double rough) {
      if (!(rough > 0)) {
        return 1;
      }
      double decade = Math.pow(10, Math.floor(Math.log10(rough)));
      double f = rough / decade;
      return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * decade;
    }

    List<Double> ticks() {
      List<Double> ticks = new ArrayList<>();
      if (scale == Scale.LOG) {
        for (double t = min; t <= max * 1.0001; t *= 10) {
          ticks.add(t);
        }
      } else {
        for (long i = Math.round(min / step); i * step <= max + step * 1e-9; i++) {
          ticks.add(i * step);
        }
      }
      return ticks;
    }

    /**
     * Where {@code v} lands between the pixel coordinates {@code from} (at min) and {@code to} (at
     * max).
     */
    double map(double v, double from, double to) {
      double f =
          scale == Scale.LOG ? Math.log(v / min) / Math.log(max / min) : (v - min) / (max - min);
      return from + f * (to - from);
    }
  }
}
