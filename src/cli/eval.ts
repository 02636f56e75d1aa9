import type { CommandModule } from "yargs";
import { type EvalMetrics, evaluateScoresFile, metricsToJson, workingPointNotes } from "../eval/index.js";
import { writeReport } from "../report/index.js";
import { readDesignReport } from "../rtl/report.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UserError } from "../util/errors.js";
import { table } from "./table.js";

interface EvalArgs {
  scores: string;
  data?: string;
  dataset?: string;
  "rate-mhz": number;
  rates: number[];
  score?: string[];
  output?: string;
  report?: string;
  design?: string;
}

const num = (v: number | null, digits = 4) =>
  v === null || !Number.isFinite(v) ? "-" : v.toPrecision(digits);
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : "-");

/** The tables `distill eval` prints: thresholds, per-signal figures, agreement, fault regions. */
export function formatMetrics(m: EvalMetrics): string {
  const models = Object.keys(m.models);
  const out: string[] = [
    `${m.events} events, ${m.background_events} background${m.labelled ? "" : " (no labels: every event counts as background)"}; ` +
      `rate = false-positive rate x ${m.rate_mhz} MHz (one background event = ${m.rate_step_khz.toPrecision(3)} kHz); ` +
      "an event triggers when score > threshold",
    "",
    table(
      ["model", "rate kHz", "threshold", "background passed", "achieved kHz"],
      models.flatMap((n) =>
        m.models[n].thresholds.map((t) => [
          n,
          String(t.rate_khz),
          t.threshold === null ? "-inf" : String(t.threshold),
          String(t.background_passed),
          t.achieved_rate_khz.toFixed(3),
        ]),
      ),
    ),
  ];
  for (const n of models) {
    const t = m.models[n].fixed_type;
    if (t) out.push(`${n} scores and thresholds are integer mantissas of ${t}`);
  }
  for (const note of workingPointNotes(m)) out.push(`note: ${note}`);
  const signals = Object.entries(m.signals);
  if (signals.length) {
    out.push(
      "",
      table(
        [
          "signal",
          "events",
          ...models.flatMap((n) => [`${n} AUC`, ...m.rates_khz.map((r) => `${n} @${r}kHz`)]),
        ],
        signals.map(([name, s]) => [
          `${name}${s.fault ? " (fault)" : ""}`,
          String(s.events),
          ...models.flatMap((n) => [num(s.models[n].auc), ...s.models[n].efficiency.map(pct)]),
        ]),
      ),
    );
  }
  if (m.agreement) {
    const a = m.agreement;
    out.push(
      "",
      `${a.teacher} vs ${a.student}: Pearson ${num(a.pearson)}, Spearman ${num(a.spearman)}`,
      table(
        ["rate kHz", `${a.teacher} fired`, `${a.student} fired`, "both", `share of ${a.teacher}'s kept`],
        a.overlap.map((o) => [
          String(o.rate_khz),
          String(o.teacher_triggered),
          String(o.student_triggered),
          String(o.both),
          pct(o.fraction),
        ]),
      ),
    );
  }
  if (m.regions && Object.keys(m.regions).length) {
    out.push(
      "",
      table(
        ["sample", "top regions by error above background: (iphi, ieta) share"],
        Object.entries(m.regions).map(([label, top]) => [
          label,
          top.map((r) => `(${r.iphi}, ${r.ieta}) ${pct(r.share)}`).join("  "),
        ]),
      ),
    );
  }
  return out.join("\n");
}

function parseScoreOptions(specs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!specs?.length) return undefined;
  const columns: Record<string, string> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    if (!m)
      throw new UserError(`--score: found "${spec}", expected MODEL=COLUMN, e.g. teacher=teacher_score`);
    columns[m[1]] = m[2];
  }
  return columns;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: "eval",
  describe: "Evaluate a scores file: ROC/AUC, thresholds and efficiencies at trigger rates, agreement",
  builder: (y) =>
    y
      .option("scores", { type: "string", demandOption: true, describe: "a scores file (HDF5)" })
      .option("data", {
        type: "string",
        describe: "the scored dataset file, for its labels (its fingerprint must match the scores)",
      })
      .option("dataset", { type: "string", describe: "HDF5 dataset name in --data (default CaloRegions)" })
      .option("rate-mhz", {
        type: "number",
        default: 28.61,
        describe: "crossing rate: trigger rate = false-positive rate x this",
      })
      .option("rates", {
        type: "number",
        array: true,
        default: [1, 3, 10],
        describe: "working points, kHz",
      })
      .option("score", {
        type: "string",
        array: true,
        describe: "MODEL=COLUMN to evaluate (default teacher=teacher_score student=student_score)",
      })
      .option("output", { alias: "o", type: "string", describe: "write the figures as JSON here" })
      .option("report", {
        type: "string",
        describe: "also write DIR/reports/report.html, its plots (PNG) and metrics.json",
      })
      .option("design", {
        type: "string",
        describe: "an emitted design directory whose latency the report shows (its report.json)",
      }),
  handler: async (args) => {
    const columns = parseScoreOptions(args.score);
    const r = await evaluateScoresFile(args.scores, {
      data: args.data,
      dataset: args.dataset,
      rateMhz: args["rate-mhz"],
      ratesKhz: args.rates,
      ...(columns ? { columns } : {}),
    });
    console.log(formatMetrics(r.metrics));
    if (args.output) {
      writeFileAtomic(args.output, metricsToJson(r.metrics));
      console.log(`\nwrote ${args.output}`);
    }
    if (args.report) {
      const design = args.design ? readDesignReport(args.design) : undefined;
      const files = await writeReport(args.report, {
        title: `distill evaluation of ${args.scores}`,
        subtitle: `${new Date().toISOString()}: distill eval --scores ${args.scores}${args.data ? ` --data ${args.data}` : ""}`,
        evaluation: { events: r.events, metrics: r.metrics },
        ...(design ? { design } : {}),
      });
      console.log(`wrote ${files.length} report files under ${args.report}/reports`);
    }
  },
};
