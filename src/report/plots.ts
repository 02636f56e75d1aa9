import { N_ETA, N_PHI, N_REGIONS } from "../data/geometry.js";
import { linearScale, logScale, type Scale, tickLabel } from "./scale.js";
import { color, el, esc, fmt, pathData, svgDocument } from "./svg.js";

export const PLOT_WIDTH = 640;
export const PLOT_HEIGHT = 420;
const MARGIN = { left: 72, right: 20, top: 34, bottom: 52 };

export interface AxisOptions {
  readonly label: string;
  readonly log?: boolean;
  /** Fixed [min, max]; from the data when absent. */
  readonly range?: readonly [number, number];
}

export interface LegendEntry {
  readonly name: string;
  readonly color: string;
  readonly dash?: string;
  /** Drawn as a dot rather than a line. */
  readonly marker?: boolean;
}

function dataRange(values: Iterable<number>, log: boolean): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return log ? [1, 10] : [0, 1];
  return [lo, hi];
}

function makeScale(axis: AxisOptions, values: Iterable<number>, r0: number, r1: number): Scale {
  const [lo, hi] = axis.range ?? dataRange(values, axis.log ?? false);
  return axis.log ? logScale(lo, hi, r0, r1) : linearScale(lo, hi, r0, r1, axis.range === undefined);
}

/** Axes box, grid, ticks, labels, title and legend around the plot's content. */
function frame(
  title: string,
  x: Scale,
  y: Scale,
  xLabel: string,
  yLabel: string,
  content: string[],
  legend: readonly LegendEntry[],
  width = PLOT_WIDTH,
  height = PLOT_HEIGHT,
): string {
  const [x0, x1] = x.range;
  const [y0, y1] = y.range;
  const parts: string[] = [];
  for (const t of x.ticks) {
    const px = x.map(t.value);
    parts.push(el("line", { class: "grid", x1: px, x2: px, y1: y0, y2: y1, stroke: "#e4e4e4" }));
    parts.push(el("line", { x1: px, x2: px, y1: y0, y2: y0 + 5, stroke: "black" }));
    parts.push(el("text", { x: px, y: y0 + 18, "text-anchor": "middle" }, esc(t.label)));
  }
  for (const t of y.ticks) {
    const py = y.map(t.value);
    parts.push(el("line", { class: "grid", x1: x0, x2: x1, y1: py, y2: py, stroke: "#e4e4e4" }));
    parts.push(el("line", { x1: x0 - 5, x2: x0, y1: py, y2: py, stroke: "black" }));
    parts.push(el("text", { x: x0 - 8, y: py + 4, "text-anchor": "end" }, esc(t.label)));
  }
  const clipId = `clip${Math.round(x0)}${Math.round(y1)}`;
  const legendItems = legend.map((l, i) => {
    const ly = y1 + 14 + 16 * i;
    const lx = x1 - 170;
    const mark = l.marker
      ? el("circle", { cx: lx + 10, cy: ly - 4, r: 3.5, fill: l.color })
      : el("line", {
          x1: lx,
          x2: lx + 20,
          y1: ly - 4,
          y2: ly - 4,
          stroke: l.color,
          "stroke-width": 2,
          "stroke-dasharray": l.dash,
        });
    return el("g", { class: "legend-entry" }, mark, el("text", { x: lx + 26, y: ly }, esc(l.name)));
  });
  const legendBox = legend.length
    ? el(
        "g",
        { class: "legend" },
        el("rect", {
          x: x1 - 176,
          y: y1 + 2,
          width: 172,
          height: 16 * legend.length + 6,
          fill: "white",
          "fill-opacity": 0.85,
          stroke: "#bbbbbb",
        }),
        ...legendItems,
      )
    : "";
  return svgDocument(
    width,
    height,
    el(
      "defs",
      {},
      el("clipPath", { id: clipId }, el("rect", { x: x0, y: y1, width: x1 - x0, height: y0 - y1 })),
    ),
    ...parts,
    el("g", { "clip-path": `url(#${clipId})` }, ...content),
    el("rect", {
      class: "axes",
      x: x0,
      y: y1,
      width: x1 - x0,
      height: y0 - y1,
      fill: "none",
      stroke: "black",
    }),
    el("text", { x: (x0 + x1) / 2, y: height - 12, "text-anchor": "middle" }, esc(xLabel)),
    el(
      "text",
      { x: 16, y: (y0 + y1) / 2, "text-anchor": "middle", transform: `rotate(-90 16 ${fmt((y0 + y1) / 2)})` },
      esc(yLabel),
    ),
    el(
      "text",
      {
        class: "title",
        x: (x0 + x1) / 2,
        y: 22,
        "text-anchor": "middle",
        "font-size": 14,
        "font-weight": "bold",
      },
      esc(title),
    ),
    legendBox,
  );
}

export interface LineSeries {
  readonly name: string;
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  readonly color?: string;
  readonly dash?: string;
}

export interface LinePlot {
  readonly title: string;
  readonly x: AxisOptions;
  readonly y: AxisOptions;
  readonly series: readonly LineSeries[];
  /** Labelled vertical guide lines, e.g. working points. */
  readonly verticals?: readonly { readonly x: number; readonly label: string }[];
}

const allOf = function* (arrays: readonly ArrayLike<number>[]) {
  for (const a of arrays) for (let i = 0; i < a.length; i++) yield a[i];
};

/** Lines through (x, y) points; points a log axis cannot show are skipped. */
export function linePlot(p: LinePlot): string {
  const x = makeScale(p.x, allOf(p.series.map((s) => s.x)), MARGIN.left, PLOT_WIDTH - MARGIN.right);
  const y = makeScale(p.y, allOf(p.series.map((s) => s.y)), PLOT_HEIGHT - MARGIN.bottom, MARGIN.top);
  const content: string[] = [];
  for (const v of p.verticals ?? []) {
    const px = x.map(v.x);
    if (!Number.isFinite(px)) continue;
    content.push(
      el("line", {
        x1: px,
        x2: px,
        y1: y.range[0],
        y2: y.range[1],
        stroke: "#888888",
        "stroke-dasharray": "3 3",
      }),
    );
    content.push(
      el("text", { x: px + 3, y: y.range[1] + 12, fill: "#555555", "font-size": 10 }, esc(v.label)),
    );
  }
  const legend: LegendEntry[] = [];
  p.series.forEach((s, i) => {
    const c = s.color ?? color(i);
    const pts = Array.from({ length: s.x.length }, (_, k) => [x.map(s.x[k]), y.map(s.y[k])] as const);
    content.push(
      el("path", {
        class: "series",
        d: pathData(pts),
        fill: "none",
        stroke: c,
        "stroke-width": 1.8,
        "stroke-dasharray": s.dash,
      }),
    );
    legend.push({ name: s.name, color: c, dash: s.dash });
  });
  return frame(p.title, x, y, p.x.label, p.y.label, content, legend);
}

export interface Histogram {
  readonly edges: Float64Array;
  /** Fraction of the series' events in each bin. */
  readonly fractions: Float64Array;
}

/** Equal-width bins over [lo, hi]; values outside go to the end bins, so fractions sum to 1. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): Histogram {
  const edges = Float64Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const counts = new Float64Array(bins);
  const w = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const k = w > 0 ? Math.floor((values[i] - lo) / w) : 0;
    counts[Math.min(bins - 1, Math.max(0, k))]++;
  }
  const n = values.length || 1;
  return { edges, fractions: counts.map((c) => c / n) };
}

export interface HistogramPlot {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly {
    readonly name: string;
    readonly values: ArrayLike<number>;
    readonly color?: string;
    readonly dash?: string;
  }[];
  readonly bins?: number;
  readonly logY?: boolean;
}

/** Step histograms of several samples on shared bins, each normalised to its own event count. */
export function histogramPlot(p: HistogramPlot): string {
  const [lo, hi0] = dataRange(allOf(p.series.map((s) => s.values)), false);
  const hi = hi0 > lo ? hi0 : lo + 1;
  const bins = p.bins ?? 50;
  const hists = p.series.map((s) => histogram(s.values, lo, hi, bins));
  const logY = p.logY ?? true;
  let minPositive = 1;
  for (const h of hists) for (const f of h.fractions) if (f > 0 && f < minPositive) minPositive = f;
  const floor = minPositive / 2;
  const series: LineSeries[] = p.series.map((s, i) => {
    const h = hists[i];
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < bins; k++) {
      const f = logY ? Math.max(h.fractions[k], floor) : h.fractions[k];
      xs.push(h.edges[k], h.edges[k + 1]);
      ys.push(f, f);
    }
    return { name: s.name, x: xs, y: ys, color: s.color, dash: s.dash };
  });
  return linePlot({
    title: p.title,
    x: { label: p.xLabel, range: [lo, hi] },
    y: { label: "fraction of events per bin", log: logY, ...(logY ? { range: [floor, 1] as const } : {}) },
    series,
  });
}

export interface ScatterPlot {
  readonly title: string;
  readonly x: AxisOptions;
  readonly y: AxisOptions;
  readonly series: readonly {
    readonly name: string;
    readonly x: ArrayLike<number>;
    readonly y: ArrayLike<number>;
    readonly color?: string;
  }[];
  /** At most this many points per series are drawn (evenly strided). */
  readonly maxPoints?: number;
}

export function scatterPlot(p: ScatterPlot): string {
  const x = makeScale(p.x, allOf(p.series.map((s) => s.x)), MARGIN.left, PLOT_WIDTH - MARGIN.right);
  const y = makeScale(p.y, allOf(p.series.map((s) => s.y)), PLOT_HEIGHT - MARGIN.bottom, MARGIN.top);
  const max = p.maxPoints ?? 3000;
  const content: string[] = [];
  const legend: LegendEntry[] = [];
  p.series.forEach((s, i) => {
    const c = s.color ?? color(i);
    const stride = Math.max(1, Math.ceil(s.x.length / max));
    const dots: string[] = [];
    for (let k = 0; k < s.x.length; k += stride) {
      const px = x.map(s.x[k]);
      const py = y.map(s.y[k]);
      if (Number.isFinite(px) && Number.isFinite(py)) dots.push(el("circle", { cx: px, cy: py, r: 1.8 }));
    }
    content.push(el("g", { class: "series", fill: c, "fill-opacity": 0.55 }, ...dots));
    legend.push({ name: s.name, color: c, marker: true });
  });
  return frame(p.title, x, y, p.x.label, p.y.label, content, legend);
}

/** Colour of t in [0, 1] on a perceptually ordered dark-blue to yellow ramp (viridis anchors). */
export function rampColor(t: number): string {
  const anchors = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (anchors.length - 1);
  const k = Math.min(anchors.length - 2, Math.floor(u));
  const f = u - k;
  const c = anchors[k].map((a, j) => Math.round(a + (anchors[k + 1][j] - a) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

export const HEATMAP_CELL = 22;

/** An 18 x 14 region map (rows iphi, columns ieta) with a colour bar. */
export function heatmapPlot(title: string, values: ArrayLike<number>, unit: string): string {
  if (values.length !== N_REGIONS)
    throw new RangeError(`a region map has ${N_REGIONS} values, not ${values.length}`);
  const left = 56;
  const top = 34;
  const w = N_ETA * HEATMAP_CELL;
  const h = N_PHI * HEATMAP_CELL;
  const width = left + w + 110;
  const height = top + h + 50;
  const [lo, hi] = dataRange(allOf([values]), false);
  const span = hi > lo ? hi - lo : 1;
  const cells: string[] = [];
  for (let phi = 0; phi < N_PHI; phi++) {
    for (let eta = 0; eta < N_ETA; eta++) {
      const v = values[phi * N_ETA + eta];
      cells.push(
        el("rect", {
          class: "cell",
          x: left + eta * HEATMAP_CELL,
          y: top + phi * HEATMAP_CELL,
          width: HEATMAP_CELL,
          height: HEATMAP_CELL,
          fill: Number.isFinite(v) ? rampColor((v - lo) / span) : "#bbbbbb",
        }),
      );
    }
  }
  const labels: string[] = [];
  for (let eta = 0; eta < N_ETA; eta += 1) {
    labels.push(
      el(
        "text",
        { x: left + (eta + 0.5) * HEATMAP_CELL, y: top + h + 14, "text-anchor": "middle", "font-size": 10 },
        String(eta),
      ),
    );
  }
  for (let phi = 0; phi < N_PHI; phi += 1) {
    labels.push(
      el(
        "text",
        { x: left - 6, y: top + (phi + 0.5) * HEATMAP_CELL + 4, "text-anchor": "end", "font-size": 10 },
        String(phi),
      ),
    );
  }
  const barX = left + w + 20;
  const steps = 40;
  const bar: string[] = [];
  for (let i = 0; i < steps; i++) {
    bar.push(
      el("rect", {
        x: barX,
        y: top + (h * i) / steps,
        width: 16,
        height: h / steps + 0.5,
        fill: rampColor(1 - (i + 0.5) / steps),
      }),
    );
  }
  bar.push(
    el("text", { x: barX + 20, y: top + 10, "font-size": 10 }, esc(tickLabel(Number(hi.toPrecision(3))))),
  );
  bar.push(
    el("text", { x: barX + 20, y: top + h, "font-size": 10 }, esc(tickLabel(Number(lo.toPrecision(3))))),
  );
  bar.push(el("text", { x: barX + 20, y: top + h / 2, "font-size": 10 }, esc(unit)));
  return svgDocument(
    width,
    height,
    el(
      "text",
      {
        class: "title",
        x: left + w / 2,
        y: 22,
        "text-anchor": "middle",
        "font-size": 14,
        "font-weight": "bold",
      },
      esc(title),
    ),
    ...cells,
    el("rect", { class: "axes", x: left, y: top, width: w, height: h, fill: "none", stroke: "black" }),
    ...labels,
    el("text", { x: left + w / 2, y: height - 12, "text-anchor": "middle" }, "ieta"),
    el(
      "text",
      { x: 16, y: top + h / 2, "text-anchor": "middle", transform: `rotate(-90 16 ${fmt(top + h / 2)})` },
      "iphi",
    ),
    ...bar,
  );
}
