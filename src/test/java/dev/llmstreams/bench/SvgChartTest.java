package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SvgChartTest {
  private static Document parse(String svg) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    return f.newDocumentBuilder()
        .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
  }

  private static List<Element> elements(Document doc, String name) {
    NodeList nodes = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", name);
    List<Element> out = new ArrayList<>();
    for (int i = 0; i < nodes.getLength(); i++) {
      out.add((Element) nodes.item(i));
    }
    return out;
  }

  private static List<String> texts(Document doc) {
    return elements(doc, "text").stream().map(Element::getTextContent).toList();
  }

  private static SvgChart throughput() {
    return new SvgChart(
            "Gateway throughput",
            new SvgChart.Axis("concurrency (calls in flight)", SvgChart.Scale.LINEAR),
            new SvgChart.Axis("throughput (calls/s)", SvgChart.Scale.LINEAR))
        .add(
            new SvgChart.Series(
                "measured",
                List.of(
                    new SvgChart.Point(8, 39.1, "0.98"),
                    new SvgChart.Point(16, 77),
                    new SvgChart.Point(32, 150),
                    new SvgChart.Point(64, 274)),
                false,
                true))
        .add(
            new SvgChart.Series(
                "ceiling C/L",
                List.of(new SvgChart.Point(8, 40), new SvgChart.Point(64, 320)),
                true,
                false));
  }

  @Test
  void isWellFormedSvgWithTitleAxisLabelsAndLegend() throws Exception {
    Document doc = parse(throughput().toSvg());

    assertThat(doc.getDocumentElement().getLocalName()).isEqualTo("svg");
    assertThat(texts(doc))
        .contains(
            "Gateway throughput",
            "concurrency (calls in flight)",
            "throughput (calls/s)",
            "measured",
            "ceiling C/L",
            "0.98");
    assertThat(elements(doc, "polyline")).hasSize(2);
    assertThat(elements(doc, "circle")).hasSize(4);
  }

  @Test
  void everyPointLandsInsideThePlotArea() throws Exception {
    Document doc = parse(throughput().toSvg());

    for (Element c : elements(doc, "circle")) {
      assertThat(Double.parseDouble(c.getAttribute("cx")))
          .isBetween((double) SvgChart.LEFT, (double) SvgChart.RIGHT);
      assertThat(Double.parseDouble(c.getAttribute("cy")))
          .isBetween((double) SvgChart.TOP, (double) SvgChart.BOTTOM);
    }
    for (Element line : elements(doc, "polyline")) {
      for (String xy : line.getAttribute("points").split(" ")) {
        String[] p = xy.split(",");
        assertThat(Double.parseDouble(p[0]))
            .isBetween((double) SvgChart.LEFT, (double) SvgChart.RIGHT);
        assertThat(Double.parseDouble(p[1]))
            .isBetween((double) SvgChart.TOP, (double) SvgChart.BOTTOM);
      }
    }
  }

  @Test
  void largerValuesAreHigherAndFurtherRight() throws Exception {
    List<Element> circles = elements(parse(throughput().toSvg()), "circle");

    for (int i = 1; i < circles.size(); i++) {
      assertThat(Double.parseDouble(circles.get(i).getAttribute("cx")))
          .isGreaterThan(Double.parseDouble(circles.get(i - 1).getAttribute("cx")));
      assertThat(Double.parseDouble(circles.get(i).getAttribute("cy")))
          .isLessThan(
              Double.parseDouble(circles.get(i - 1).getAttribute("cy"))); // SVG's y grows downwards
    }
  }

  @Test
  void escapesTextSoMarkupInNamesStaysText() throws Exception {
    String title = "tokens <per> \"ingested\" & 'sent'";
    SvgChart chart =
        new SvgChart(
                title,
                new SvgChart.Axis("x & y", SvgChart.Scale.LINEAR),
                new SvgChart.Axis("<y>", SvgChart.Scale.LINEAR))
            .add(
                new SvgChart.Series(
                    "a</text><script>", List.of(new SvgChart.Point(1, 1)), false, true));

    Document doc = parse(chart.toSvg());

    assertThat(texts(doc)).contains(title, "x & y", "<y>", "a</text><script>");
    assertThat(elements(doc, "script")).isEmpty();
  }

  @Test
  void logScaleSpacesDecadesEquallyAndSkipsValuesItCannotPlace() throws Exception {
    SvgChart chart =
        new SvgChart(
                "log",
                new SvgChart.Axis("documents", SvgChart.Scale.LINEAR),
                new SvgChart.Axis("tokens per token", SvgChart.Scale.LOG))
            .add(
                new SvgChart.Series(
                    "s",
                    List.of(
                        new SvgChart.Point(1, 1),
                        new SvgChart.Point(2, 10),
                        new SvgChart.Point(3, 100),
                        new SvgChart.Point(4, 0),
                        new SvgChart.Point(5, Double.NaN)),
                    false,
                    true))
            .add(new SvgChart.Reference("each token once", 1));

    Document doc = parse(chart.toSvg());

    List<Double> ys =
        elements(doc, "circle").stream()
            .map(c -> Double.parseDouble(c.getAttribute("cy")))
            .toList();
    assertThat(ys).hasSize(3);
    assertThat(ys.get(0) - ys.get(1)).isCloseTo(ys.get(1) - ys.get(2), within(0.2));
    assertThat(ys.get(0))
        .isLessThan(SvgChart.BOTTOM); // a value on the lowest decade stays off the frame
    assertThat(texts(doc))
        .contains("0.1", "1", "10", "100", "each token once", "tokens per token (log scale)");
  }

  @Test
  void theLegendGoesToACornerNoLineCrosses() throws Exception {
    SvgChart chart =
        new SvgChart(
                "t",
                new SvgChart.Axis("x", SvgChart.Scale.LINEAR),
                new SvgChart.Axis("y", SvgChart.Scale.LINEAR))
            .add(
                new SvgChart.Series(
                    "flat near the top",
                    List.of(new SvgChart.Point(0, 95), new SvgChart.Point(10, 95)),
                    false,
                    true));

    List<Element> rects = elements(parse(chart.toSvg()), "rect");
    Element legend = rects.get(rects.size() - 1);

    assertThat(Double.parseDouble(legend.getAttribute("y")))
        .isGreaterThan((SvgChart.TOP + SvgChart.BOTTOM) / 2.0);
  }

  @Test
  void linearTicksAreRoundNumbersCoveringTheData() {
    SvgChart.Range r = SvgChart.Range.of(List.of(8.0, 64.0, 320.0), SvgChart.Scale.LINEAR);

    assertThat(r.ticks()).containsExactly(0.0, 100.0, 200.0, 300.0, 400.0);
    assertThat(SvgChart.format(1234.0)).isEqualTo("1,234");
    assertThat(SvgChart.format(0.25)).isEqualTo("0.25");
  }

  @Test
  void aLinearAxisFromTheDataStartsNearItsLeastValueNotAtZero() {
    SvgChart.Range r = SvgChart.Range.of(List.of(0.91, 0.95, 1.0), SvgChart.Scale.LINEAR_FROM_DATA);

    assertThat(r.ticks().get(0)).isGreaterThan(0.85).isLessThanOrEqualTo(0.91);
    assertThat(r.ticks().get(r.ticks().size() - 1)).isGreaterThanOrEqualTo(1.0);
  }
}
