import { UserError } from "../util/errors.js";
import { pearson, spearman, triggerOverlap } from "./agreement.js";
import { allowedEvents, DEFAULT_RATES_KHZ, efficiency, thresholdAtRate, ZERO_BIAS_RATE_MHZ } from "./rate.js";
import { FAULT_SAMPLES, type RegionContribution, topRegions } from "./regions.js";
import { auc, countAtLeast, sortedScores } from "./roc.js";

/** The label of the events that set thresholds and rates. */
export const BACKGROUND_LABEL = "background";

/** Scores of one set of events, with their labels when known. */
export interface ScoredEvents {
  /** Model name (e.g. teacher, student) to one score per event; insertion order is display order. */
  readonly scores: Readonly<Record<string, ArrayLike<number>>>;
  /** Label index per event; without labels every event is background (zero-bias data). */
  readonly labels?: ArrayLike<number>;
  readonly labelNames?: readonly string[];
  /** Label name to its mean per-region reconstruction error (252 values, row-major (phi, eta)). */
  readonly errorMaps?: Readonly<Record<string, ArrayLike<number>>>;
}

export interface EvalOptions {
  /** Crossing rate that turns a false-positive rate into a trigger rate, MHz (28.61). */
  readonly rateMhz?: number;
  /** Working points, kHz (1, 3, 10). */
  readonly ratesKhz?: readonly number[];
  readonly backgroundLabel?: string;
  /** Regions listed per error map (5). */
  readonly topRegions?: number;
}

/** A threshold as JSON: -Infinity (every event triggers) is written as null. */
export interface ThresholdJson {
  readonly rate_khz: number;
  readonly threshold: number | null;
  readonly background_passed: number;
  readonly achieved_rate_khz: number;
  /** Background events whose score equals the threshold (they do not trigger). */
  readonly background_tied: number;
}

export interface ScoreSummary {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly median: number;
}

export interface ModelMetrics {
  /** When the scores are integer mantissas of this type, thresholds are mantissas too. */
  readonly fixed_type?: string;
  readonly thresholds: readonly ThresholdJson[];
  readonly background: ScoreSummary;
  readonly all: ScoreSummary;
}

export interface SignalMetrics {
  readonly events: number;
  /** A detector-fault sample of the generator rather than a physics signal. */
  readonly fault: boolean;
  /** Model name to AUC and efficiency at each working point (same order as rates_khz). */
  readonly models: Readonly<Record<string, { readonly auc: number; readonly efficiency: readonly number[] }>>;
}

export interface AgreementMetrics {
  readonly teacher: string;
  readonly student: string;
  readonly pearson: number;
  readonly spearman: number;
  /** Over all events, each model at its own threshold for the rate. */
  readonly overlap: readonly {
    readonly rate_khz: number;
    readonly teacher_triggered: number;
    readonly student_triggered: number;
    readonly both: number;
    /** both / teacher_triggered. */
    readonly fraction: number;
  }[];
}

export interface EvalMetrics {
  readonly rate_mhz: number;
  readonly rates_khz: readonly number[];
  readonly events: number;
  /** The label whose events set the thresholds (every event when unlabelled). */
  readonly background_label: string;
  readonly background_events: number;
  /** The rate of one background event: no working point below it can pass any event. */
  readonly rate_step_khz: number;
  readonly labelled: boolean;
  readonly models: Readonly<Record<string, ModelMetrics>>;
  readonly signals: Readonly<Record<string, SignalMetrics>>;
  readonly agreement?: AgreementMetrics;
  /** Label to the regions contributing most to its error, beyond the background's. */
  readonly regions?: Readonly<Record<string, readonly RegionContribution[]>>;
}

/** The scored events cannot be evaluated as given (no background, mismatched lengths). */
export class EvaluationError extends UserError {
  override readonly name = "EvaluationError";
}

/**
 * Sentences for the working points a model cannot reach: where background events tie at the
 * threshold so that fewer than half of the events the rate allows pass (the achieved rate is
 * then well below the target and every efficiency there is understated). A tie at the model's
 * largest score means its output saturates on part of the background.
 */
export function workingPointNotes(m: EvalMetrics, label: (model: string) => string = (n) => n): string[] {
  const notes: string[] = [];
  for (const [name, mm] of Object.entries(m.models)) {
    for (const t of mm.thresholds) {
      const allowed = allowedEvents(t.rate_khz, m.background_events, m.rate_mhz);
      if (t.threshold === null || allowed < 2 || 2 * t.background_passed >= allowed) continue;
      const top =
        t.threshold === mm.background.max ? ", its largest score on background (a saturated output)" : "";
      notes.push(
        `${label(name)} at ${t.rate_khz} kHz: ${t.background_tied} background events tie at its threshold ${t.threshold}${top}, so it passes ${t.background_passed} of the ${allowed} allowed (${t.achieved_rate_khz.toFixed(2)} kHz) and its efficiencies there are understated`,
      );
    }
  }
  return notes;
}

function summary(sorted: Float64Array): ScoreSummary {
  const n = sorted.length;
  if (n === 0) return { min: Number.NaN, max: Number.NaN, mean: Number.NaN, median: Number.NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += sorted[i];
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { min: sorted[0], max: sorted[n - 1], mean: s / n, median };
}

/** The events of each label: label name to event indices (all events are background without labels). */
export function splitByLabel(
  events: number,
  labels: ArrayLike<number> | undefined,
  labelNames: readonly string[] | undefined,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!labels) {
    out.set(
      BACKGROUND_LABEL,
      Array.from({ length: events }, (_, i) => i),
    );
    return out;
  }
  for (let i = 0; i < events; i++) {
    const name = labelNames?.[labels[i]] ?? `label${labels[i]}`;
    let list = out.get(name);
    if (!list) {
      list = [];
      out.set(name, list);
    }
    list.push(i);
  }
  return out;
}

const pick = (v: ArrayLike<number>, idx: readonly number[]) => Float64Array.from(idx, (i) => v[i]);

/**
 * Every figure of merit of the scores: per model the thresholds of the working points
 * (computed on background) and score summaries; per signal the AUC and the efficiency at each
 * working point; teacher-student agreement (the first two models); and, for labels with an
 * error map, the regions that contribute most to the error.
 */
export function evaluateScores(data: ScoredEvents, o: EvalOptions = {}): EvalMetrics {
  const rateMhz = o.rateMhz ?? ZERO_BIAS_RATE_MHZ;
  const rates = o.ratesKhz ?? DEFAULT_RATES_KHZ;
  const bgLabel = o.backgroundLabel ?? BACKGROUND_LABEL;
  const names = Object.keys(data.scores);
  if (names.length === 0) throw new EvaluationError("no scores to evaluate");
  const events = data.scores[names[0]].length;
  for (const n of names) {
    if (data.scores[n].length !== events) {
      throw new EvaluationError(`score "${n}" has ${data.scores[n].length} values, expected ${events}`);
    }
  }
  if (data.labels && data.labels.length !== events) {
    throw new EvaluationError(`${data.labels.length} labels for ${events} scored events`);
  }
  const byLabel = splitByLabel(events, data.labels, data.labelNames);
  const labelled = data.labels !== undefined;
  const bgIdx = labelled ? byLabel.get(bgLabel) : byLabel.get(BACKGROUND_LABEL);
  if (!bgIdx?.length) {
    throw new EvaluationError(
      `no "${bgLabel}" events among the labels (${[...byLabel.keys()].join(", ")}); thresholds are set on background`,
    );
  }
  const bgSorted = new Map(names.map((n) => [n, sortedScores(pick(data.scores[n], bgIdx))]));
  const points = new Map(
    names.map((n) => [n, rates.map((r) => thresholdAtRate(bgSorted.get(n)!, r, rateMhz, true))]),
  );
  const models = Object.fromEntries(
    names.map((n) => [
      n,
      {
        thresholds: points.get(n)!.map((p) => ({
          rate_khz: p.targetKhz,
          threshold: Number.isFinite(p.threshold) ? p.threshold : null,
          background_passed: p.passed,
          achieved_rate_khz: p.rateKhz,
          background_tied: countAtLeast(bgSorted.get(n)!, p.threshold) - p.passed,
        })),
        background: summary(bgSorted.get(n)!),
        all: summary(sortedScores(data.scores[n])),
      },
    ]),
  );
  const signals: Record<string, SignalMetrics> = {};
  for (const [label, idx] of byLabel) {
    if (!labelled || label === bgLabel) continue;
    signals[label] = {
      events: idx.length,
      fault: FAULT_SAMPLES.includes(label),
      models: Object.fromEntries(
        names.map((n) => {
          const s = pick(data.scores[n], idx);
          return [
            n,
            {
              auc: auc(bgSorted.get(n)!, s),
              efficiency: points.get(n)!.map((p) => efficiency(s, p.threshold)),
            },
          ];
        }),
      ),
    };
  }
  let agreement: AgreementMetrics | undefined;
  if (names.length >= 2) {
    const [t, s] = names;
    const a = data.scores[t];
    const b = data.scores[s];
    agreement = {
      teacher: t,
      student: s,
      pearson: pearson(a, b),
      spearman: spearman(a, b),
      overlap: rates.map((r, k) => {
        const ov = triggerOverlap(a, points.get(t)![k].threshold, b, points.get(s)![k].threshold);
        return {
          rate_khz: r,
          teacher_triggered: ov.firstTriggered,
          student_triggered: ov.secondTriggered,
          both: ov.both,
          fraction: ov.fraction,
        };
      }),
    };
  }
  let regions: Record<string, RegionContribution[]> | undefined;
  if (data.errorMaps && Object.keys(data.errorMaps).length) {
    const bgMap = data.errorMaps[bgLabel];
    regions = Object.fromEntries(
      Object.entries(data.errorMaps)
        .filter(([label]) => label !== bgLabel)
        .map(([label, map]) => [label, topRegions(map, bgMap, o.topRegions ?? 5)]),
    );
  }
  return {
    rate_mhz: rateMhz,
    rates_khz: [...rates],
    events,
    background_label: labelled ? bgLabel : BACKGROUND_LABEL,
    background_events: bgIdx.length,
    rate_step_khz: (rateMhz * 1000) / bgIdx.length,
    labelled,
    models,
    signals,
    ...(agreement ? { agreement } : {}),
    ...(regions ? { regions } : {}),
  };
}

/** metrics.json text: NaN (undefined figures, e.g. a correlation of a constant score) becomes null. */
export function metricsToJson(m: unknown): string {
  return `${JSON.stringify(m, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`;
}
