import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type EvalMetrics,
  metricsToJson,
  rateKhz,
  rocCurve,
  type ScoredEvents,
  splitByLabel,
} from "../eval/index.js";
import type { DesignReport } from "../rtl/report.js";
import type { ResourceCounts } from "../synth/counts.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type PartResources, partResources } from "./parts.js";
import type { PipelineStage } from "./pipeline.js";
import { heatmapPlot, histogramPlot, linePlot, scatterPlot } from "./plots.js";
import { svgToPng } from "./raster.js";
import { color, esc } from "./svg.js";

/** Everything a report can show; every section is optional and left out when absent. */
export interface ReportInput {
  readonly title?: string;
  /** A line under the title: when and how the run was made. */
  readonly subtitle?: string;
  /** Scored events and their figures (e.g. from evaluateScoresFile). */
  readonly evaluation?: {
    readonly events: ScoredEvents & { readonly inputMaps?: Readonly<Record<string, ArrayLike<number>>> };
    readonly metrics: EvalMetrics;
  };
  /** The emitted design's timing (its report.json). */
  readonly design?: Pick<
    DesignReport,
    | "top"
    | "target"
    | "clock_mhz"
    | "latency_cycles"
    | "latency_ns"
    | "latency_bx"
    | "latency_budget_bx"
    | "stats"
  >;
  /** Synthesis counts; `available` defaults to the known resources of the design's part. */
  readonly resources?: ResourceCounts & { readonly tool: string; readonly available?: PartResources };
  readonly pipeline?: readonly PipelineStage[];
  readonly cosim?: {
    readonly events: number;
    readonly mismatches: number;
    readonly ok: boolean;
    readonly detail?: string;
  };
}

export interface ReportImage {
  /** File name under reports/, e.g. roc-monojet.png. */
  readonly file: string;
  readonly caption: string;
  readonly svg: string;
  readonly png: Buffer;
}

/** The figures of the summary, for scripts (reports/metrics.json). */
export interface ReportSummary {
  /** Signal -> model -> efficiency at each working point (rates_khz order). */
  readonly efficiency?: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
  readonly rates_khz?: readonly number[];
  readonly latency?: {
    readonly cycles: number;
    readonly ns: number;
    readonly bx: number;
    readonly budget_bx: number;
    readonly pass: boolean;
  };
  readonly resources?: Readonly<
    Record<
      string,
      { readonly used: number; readonly available: number | null; readonly percent: number | null }
    >
  >;
  readonly resources_tool?: string;
  readonly cosim?: ReportInput["cosim"];
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_");
const pick = (v: ArrayLike<number>, idx: readonly number[]) => Float64Array.from(idx, (i) => v[i]);
const MAX_CURVE_POINTS = 1500;

function thin(x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  if (x.length <= MAX_CURVE_POINTS) return [x, y];
  const stride = Math.ceil(x.length / MAX_CURVE_POINTS);
  const keep: number[] = [];
  for (let i = 0; i < x.length; i += stride) keep.push(i);
  if (keep[keep.length - 1] !== x.length - 1) keep.push(x.length - 1);
  return [Float64Array.from(keep, (i) => x[i]), Float64Array.from(keep, (i) => y[i])];
}

/** The SVG plots of the report, before rasterising. */
export function reportPlots(input: ReportInput): { file: string; caption: string; svg: string }[] {
  const out: { file: string; caption: string; svg: string }[] = [];
  const ev = input.evaluation;
  if (!ev) return out;
  const m = ev.metrics;
  const models = Object.keys(ev.events.scores);
  const byLabel = splitByLabel(m.events, ev.events.labels, ev.events.labelNames);
  const bgLabel = m.background_label;
  const bg = byLabel.get(bgLabel) ?? [];
  const signals = Object.keys(m.signals);
  const full = m.rate_mhz * 1000;
  for (const sig of signals) {
    const idx = byLabel.get(sig) ?? [];
    const series = models.map((model, k) => {
      const r = rocCurve(pick(ev.events.scores[model], bg), pick(ev.events.scores[model], idx));
      const [x, y] = thin(
        r.fpr.map((f) => rateKhz(f, m.rate_mhz)),
        r.tpr,
      );
      return { name: model, x, y, color: color(k), dash: k ? "6 3" : undefined };
    });
    out.push({
      file: `roc-${safeName(sig)}.png`,
      caption: `ROC of ${sig}: signal efficiency against the background trigger rate (${m.rate_mhz} MHz crossings)`,
      svg: linePlot({
        title: `ROC: ${sig}`,
        x: { label: "trigger rate [kHz]", log: true, range: [full / Math.max(1, bg.length), full] },
        y: { label: "signal efficiency", range: [0, 1] },
        series,
        verticals: m.rates_khz.map((r) => ({ x: r, label: `${r} kHz` })),
      }),
    });
  }
  const labels = [...byLabel.keys()];
  for (const model of models) {
    out.push({
      file: `scores-${safeName(model)}.png`,
      caption: `${model} score distributions, each sample normalised to its event count`,
      svg: histogramPlot({
        title: `${model} score`,
        xLabel: `${model} score`,
        series: labels.map((l, i) => ({
          name: l,
          values: pick(ev.events.scores[model], byLabel.get(l)!),
          color: l === bgLabel ? "#000000" : color(i),
          dash: l === bgLabel ? undefined : "5 2",
        })),
      }),
    });
  }
  if (models.length >= 2) {
    const [t, s] = models;
    out.push({
      file: "scatter.png",
      caption: `${s} against ${t} score per event`,
      svg: scatterPlot({
        title: `${s} vs ${t}`,
        x: { label: `${t} score` },
        y: { label: `${s} score` },
        series: labels.map((l, i) => ({
          name: l,
          x: pick(ev.events.scores[t], byLabel.get(l)!),
          y: pick(ev.events.scores[s], byLabel.get(l)!),
          color: l === bgLabel ? "#444444" : color(i),
        })),
      }),
    });
  }
  for (const [label, map] of Object.entries(ev.events.inputMaps ?? {})) {
    out.push({
      file: `input-${safeName(label)}.png`,
      caption: `mean input ET per region, ${label}`,
      svg: heatmapPlot(`mean input: ${label}`, map, "ET counts"),
    });
  }
  for (const [label, map] of Object.entries(ev.events.errorMaps ?? {})) {
    out.push({
      file: `error-${safeName(label)}.png`,
      caption: `mean squared reconstruction error per region, ${label}`,
      svg: heatmapPlot(`reconstruction error: ${label}`, map, "MSE"),
    });
  }
  return out;
}

/** The summary figures (metrics.json's `summary`). */
export function reportSummary(input: ReportInput): ReportSummary {
  const m = input.evaluation?.metrics;
  const d = input.design;
  const r = input.resources;
  const available = r?.available ?? (d ? partResources(d.target.part) : undefined);
  return {
    ...(m
      ? {
          rates_khz: m.rates_khz,
          efficiency: Object.fromEntries(
            Object.entries(m.signals).map(([s, v]) => [
              s,
              Object.fromEntries(Object.entries(v.models).map(([model, x]) => [model, x.efficiency])),
            ]),
          ),
        }
      : {}),
    ...(d
      ? {
          latency: {
            cycles: d.latency_cycles,
            ns: d.latency_ns,
            bx: d.latency_bx,
            budget_bx: d.latency_budget_bx,
            pass: d.latency_bx <= d.latency_budget_bx,
          },
        }
      : {}),
    ...(r
      ? {
          resources_tool: r.tool,
          resources: Object.fromEntries(
            (["luts", "ffs", "carry", "dsps"] as const).map((k) => [
              k,
              {
                used: r[k],
                available: available ? available[k] : null,
                percent: available ? (100 * r[k]) / available[k] : null,
              },
            ]),
          ),
        }
      : {}),
    ...(input.cosim ? { cosim: input.cosim } : {}),
  };
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "-");
const td = (s: string | number, cls?: string) => `<td${cls ? ` class="${cls}"` : ""}>${esc(String(s))}</td>`;
const th = (s: string) => `<th>${esc(s)}</th>`;
const tableHtml = (head: readonly string[], rows: readonly string[][]) =>
  `<table><thead><tr>${head.map(th).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody></table>`;

function summaryHtml(input: ReportInput, s: ReportSummary): string {
  const parts: string[] = [];
  const m = input.evaluation?.metrics;
  if (m && s.efficiency && Object.keys(s.efficiency).length) {
    const models = Object.keys(m.models);
    parts.push(
      "<h3>Signal efficiency at the working points</h3>",
      tableHtml(
        [
          "signal",
          ...models.flatMap((model) => m.rates_khz.map((r) => `${model} @ ${r} kHz`)),
          ...models.map((x) => `${x} AUC`),
        ],
        Object.entries(m.signals).map(([sig, v]) => [
          td(`${sig}${v.fault ? " (fault)" : ""}`),
          ...models.flatMap((model) => v.models[model].efficiency.map((e) => td(pct(e), "num"))),
          ...models.map((model) => td(v.models[model].auc.toFixed(4), "num")),
        ]),
      ),
    );
  }
  if (m) {
    parts.push(
      `<h3>Thresholds (trigger when score &gt; threshold; set on ${m.background_events} background events, one event = ${m.rate_step_khz.toPrecision(3)} kHz)</h3>`,
      tableHtml(
        ["model", ...m.rates_khz.map((r) => `${r} kHz`)],
        Object.entries(m.models).map(([model, x]) => [
          td(model),
          ...x.thresholds.map((t) =>
            td(
              `${t.threshold === null ? "-inf" : t.threshold} (${t.achieved_rate_khz.toFixed(2)} kHz)`,
              "num",
            ),
          ),
        ]),
      ),
    );
    if (m.agreement) {
      const a = m.agreement;
      parts.push(
        `<p>Agreement ${esc(a.teacher)} / ${esc(a.student)}: Pearson ${Number.isFinite(a.pearson) ? a.pearson.toFixed(4) : "-"}, Spearman ${Number.isFinite(a.spearman) ? a.spearman.toFixed(4) : "-"}.</p>`,
        tableHtml(
          [
            "rate",
            `${a.teacher} fired`,
            `${a.student} fired`,
            "both",
            `share of ${a.teacher}'s triggers kept`,
          ],
          a.overlap.map((o) => [
            td(`${o.rate_khz} kHz`),
            td(o.teacher_triggered, "num"),
            td(o.student_triggered, "num"),
            td(o.both, "num"),
            td(pct(o.fraction), "num"),
          ]),
        ),
      );
    }
    if (m.regions && Object.keys(m.regions).length) {
      parts.push(
        "<h3>Regions with the largest reconstruction error above background</h3>",
        tableHtml(
          ["sample", "(iphi, ieta): share of excess error"],
          Object.entries(m.regions).map(([label, top]) => [
            td(label),
            td(top.map((r) => `(${r.iphi}, ${r.ieta}) ${pct(r.share)}`).join(", ")),
          ]),
        ),
      );
    }
  }
  const rows: string[][] = [];
  if (s.latency && input.design) {
    const l = s.latency;
    rows.push([
      td("latency"),
      td(
        `${l.cycles} cycles at ${input.design.clock_mhz} MHz = ${l.ns.toFixed(2)} ns = ${l.bx.toFixed(2)} BX`,
      ),
      td(`budget ${l.budget_bx} BX`),
      td(l.pass ? "PASS" : "FAIL", l.pass ? "pass" : "fail"),
    ]);
  }
  if (s.resources) {
    for (const [k, v] of Object.entries(s.resources)) {
      rows.push([
        td(k.toUpperCase()),
        td(`${v.used}`),
        td(v.available === null ? "part unknown" : `of ${v.available}`),
        td(v.percent === null ? "-" : `${v.percent.toFixed(3)}%`, "num"),
      ]);
    }
  }
  if (input.cosim) {
    const c = input.cosim;
    rows.push([
      td("co-simulation"),
      td(`${c.events} events, ${c.mismatches} mismatches`),
      td(c.detail ?? ""),
      td(c.ok ? "PASS" : "FAIL", c.ok ? "pass" : "fail"),
    ]);
  }
  if (rows.length) {
    const where = input.design
      ? ` (${input.design.target.part}${s.resources_tool ? `, ${s.resources_tool}` : ""})`
      : "";
    parts.push(`<h3>Hardware${esc(where)}</h3>`, tableHtml(["", "value", "against", "result"], rows));
  }
  return parts.join("\n");
}

function pipelineHtml(stages: readonly PipelineStage[]): string {
  return tableHtml(
    ["stage", "layers", "operations", "estimated delay"],
    stages.map((s) => [
      td(s.stage, "num"),
      td(s.layers.join(", ")),
      td(
        Object.entries(s.ops)
          .map(([op, n]) => `${n} ${op}`)
          .join(", "),
      ),
      td(`${s.delayNs.toFixed(2)} ns`, "num"),
    ]),
  );
}

const CSS = `body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;padding:0 1em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}td.pass{color:#070;font-weight:bold}
td.fail{color:#b00;font-weight:bold}.figures{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}
figcaption{font-size:12px;color:#555;max-width:640px}img{display:block;border:1px solid #ddd}`;

/** The HTML page, self-contained: styles inline and every image a data: URI. */
export function reportHtml(
  input: ReportInput,
  images: readonly ReportImage[],
  summary: ReportSummary,
): string {
  const fig = (im: ReportImage) =>
    `<figure><img src="data:image/png;base64,${im.png.toString("base64")}" alt="${esc(im.caption)}"><figcaption>${esc(im.caption)}</figcaption></figure>`;
  const group = (prefix: string, heading: string) => {
    const ims = images.filter((i) => i.file.startsWith(prefix));
    return ims.length ? `<h2>${esc(heading)}</h2><div class="figures">${ims.map(fig).join("")}</div>` : "";
  };
  const d = input.design;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title ?? "distill report")}</title><style>${CSS}</style></head>
<body>
<h1>${esc(input.title ?? "distill report")}</h1>
${input.subtitle ? `<p>${esc(input.subtitle)}</p>` : ""}
<h2>Summary</h2>
${summaryHtml(input, summary)}
${group("roc-", "ROC curves")}
${group("scores-", "Score distributions")}
${group("scatter", "Teacher and student")}
${group("input-", "Mean input per sample")}
${group("error-", "Mean reconstruction error per sample")}
${input.pipeline?.length ? `<h2>RTL pipeline${d ? ` (${esc(d.top)}, ${input.pipeline.length} stages at ${d.clock_mhz} MHz, ${d.stats.adders} adders, ${d.stats.registers} registers)` : ""}</h2>${pipelineHtml(input.pipeline)}` : ""}
</body></html>
`;
}

/** Plots as SVG and PNG, the HTML page and the summary, in memory. */
export async function buildReport(
  input: ReportInput,
): Promise<{ html: string; images: ReportImage[]; summary: ReportSummary }> {
  const images: ReportImage[] = [];
  for (const p of reportPlots(input)) images.push({ ...p, png: await svgToPng(p.svg) });
  const summary = reportSummary(input);
  return { html: reportHtml(input, images, summary), images, summary };
}

/**
 * Writes DIR/reports/report.html (self-contained), one PNG per plot and metrics.json
 * ({ evaluation, summary }), each atomically. Returns the paths written.
 */
export async function writeReport(dir: string, input: ReportInput): Promise<string[]> {
  const out = join(dir, "reports");
  mkdirSync(out, { recursive: true });
  const { html, images, summary } = await buildReport(input);
  const written: string[] = [];
  for (const im of images) {
    writeFileAtomic(join(out, im.file), im.png);
    written.push(join(out, im.file));
  }
  writeFileAtomic(
    join(out, "metrics.json"),
    metricsToJson({ evaluation: input.evaluation?.metrics ?? null, summary }),
  );
  writeFileAtomic(join(out, "report.html"), html);
  written.push(join(out, "metrics.json"), join(out, "report.html"));
  return written;
}
