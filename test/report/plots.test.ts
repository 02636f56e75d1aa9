import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  HEATMAP_CELL,
  heatmapPlot,
  histogram,
  histogramPlot,
  linearScale,
  linePlot,
  logScale,
  niceTicks,
  PLOT_HEIGHT,
  PLOT_WIDTH,
  rampColor,
  scatterPlot,
  svgToPng,
  tickLabel,
} from "../../src/report/index.js";
import { findAll, parseXml, textOf } from "../support/xml.js";

describe("scales", () => {
  it("linear ticks at 1, 2 or 5 times a power of ten, domain widened to whole steps", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3, 27)).toEqual([0, 5, 10, 15, 20, 25]);
    const s = linearScale(0.3, 9.2, 100, 200);
    expect(s.domain).toEqual([0, 10]);
    expect(s.map(5)).toBe(150);
  });

  it("log scales span whole decades with a tick per decade", () => {
    const s = logScale(3, 2000, 0, 400);
    expect(s.domain).toEqual([1, 10000]);
    expect(s.ticks.map((t) => t.label)).toEqual(["1", "10", "100", "1000", "10000"]);
    expect(s.map(100)).toBe(200);
    expect(s.map(0)).toBeNaN();
    expect(() => logScale(0, 10, 0, 1)).toThrow(/positive lower bound/);
    expect(tickLabel(1e5)).toBe("1e5");
    expect(tickLabel(0.0001)).toBe("1e-4");
  });
});

describe("SVG plots", () => {
  it("line plot: valid XML with axes, a path per series, legend, guides, escaped text", () => {
    const svg = linePlot({
      title: "ROC <test> & more",
      x: { label: "trigger rate [kHz]", log: true, range: [0.5, 28610] },
      y: { label: "signal efficiency", range: [0, 1] },
      series: [
        { name: "teacher", x: [1, 10, 100, 28610], y: [0.1, 0.5, 0.9, 1] },
        { name: 'student "q"', x: [1, 10, 100, 28610], y: [0.05, 0.4, 0.8, 1], dash: "6 3" },
      ],
      verticals: [1, 3, 10].map((r) => ({ x: r, label: `${r} kHz` })),
    });
    const doc = parseXml(svg);
    expect(doc.tag).toBe("svg");
    expect(doc.attrs.width).toBe(String(PLOT_WIDTH));
    const paths = findAll(doc, "path").filter((p) => p.attrs.class === "series");
    expect(paths).toHaveLength(2);
    expect(paths[0].attrs.d).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){3}$/);
    expect(paths[1].attrs["stroke-dasharray"]).toBe("6 3");
    const texts = findAll(doc, "text").map(textOf);
    expect(texts).toContain("ROC &lt;test&gt; &amp; more");
    expect(texts).toContain("student &quot;q&quot;");
    expect(texts).toEqual(expect.arrayContaining(["0.1", "1", "10", "100", "1000", "10000", "1e5", "3 kHz"]));
    expect(findAll(doc, "g").filter((g) => g.attrs.class === "legend-entry")).toHaveLength(2);
  });

  it("histograms: fractions of each sample sum to one, out-of-range values in the end bins", () => {
    const h = histogram([0, 0.5, 1, 5, -3], 0, 1, 2);
    expect([...h.edges]).toEqual([0, 0.5, 1]);
    expect([...h.fractions]).toEqual([2 / 5, 3 / 5]);
    const svg = histogramPlot({
      title: "scores",
      xLabel: "score",
      series: [
        { name: "background", values: [1, 2, 2, 3] },
        { name: "signal", values: [3, 4, 4, 9] },
      ],
      bins: 8,
    });
    const paths = findAll(parseXml(svg), "path").filter((p) => p.attrs.class === "series");
    expect(paths).toHaveLength(2);
    // Two points per bin.
    expect(paths[0].attrs.d.split(/[ML]/).filter(Boolean)).toHaveLength(16);
  });

  it("scatter plots draw at most maxPoints per series", () => {
    const x = Array.from({ length: 1000 }, (_, i) => i);
    const svg = scatterPlot({
      title: "s",
      x: { label: "t" },
      y: { label: "s" },
      series: [{ name: "all", x, y: x }],
      maxPoints: 100,
    });
    expect(findAll(parseXml(svg), "circle").filter((c) => c.attrs.r === "1.8")).toHaveLength(100);
  });

  it("heatmaps: one cell per region on the colour ramp, (iphi, ieta) laid out as rows and columns", () => {
    const map = Float32Array.from({ length: 252 }, (_, i) => (i === 5 * 14 + 9 ? 10 : 0));
    map[0] = Number.NaN;
    const doc = parseXml(heatmapPlot("error", map, "MSE"));
    const cells = findAll(doc, "rect").filter((r) => r.attrs.class === "cell");
    expect(cells).toHaveLength(252);
    const hot = cells[5 * 14 + 9];
    expect(hot.attrs.fill).toBe(rampColor(1));
    expect(Number(hot.attrs.x) - Number(cells[0].attrs.x)).toBe(9 * HEATMAP_CELL);
    expect(Number(hot.attrs.y) - Number(cells[0].attrs.y)).toBe(5 * HEATMAP_CELL);
    expect(cells[1].attrs.fill).toBe(rampColor(0));
    expect(cells[0].attrs.fill).toBe("#bbbbbb");
    expect(rampColor(0)).toBe("#440154");
    expect(rampColor(1)).toBe("#fde725");
  });
});

describe("rasterising", () => {
  it("sharp decodes the PNG of a plot at the SVG's size, and 2x at scale 2", async () => {
    const svg = linePlot({
      title: "t",
      x: { label: "x" },
      y: { label: "y" },
      series: [{ name: "a", x: [0, 1], y: [0, 1] }],
    });
    const png = await svgToPng(svg);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", PLOT_WIDTH, PLOT_HEIGHT]);
    const big = await sharp(await svgToPng(svg, 2)).metadata();
    expect([big.width, big.height]).toEqual([2 * PLOT_WIDTH, 2 * PLOT_HEIGHT]);
    // Not blank: the series and axes put dark pixels on the white background.
    const stats = await sharp(png).stats();
    expect(stats.channels[0].min).toBeLessThan(50);
  });
});
