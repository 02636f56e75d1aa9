import { rng } from "../util/rng.js";
import { efficiency, thresholdAtRate, ZERO_BIAS_RATE_MHZ } from "./rate.js";

/**
 * How far a model's efficiency relative to a reference's at a trigger rate could move with
 * another test sample of the same size: a bootstrap that redraws the background events (and
 * with them both thresholds) and each signal's events with replacement, `resamples` times,
 * and reports percentiles of the ratio. Near the threshold a few background events decide the
 * threshold, so a signal whose events sit there (the teacher triggers few of them) carries a
 * wide interval even with thousands of events.
 */
export interface RatioInterval {
  /** The ratio on the sample itself. */
  readonly value: number;
  /** 16th-84th and 2.5th-97.5th percentiles over the resamples. */
  readonly lo68: number;
  readonly hi68: number;
  readonly lo95: number;
  readonly hi95: number;
}

export interface BootstrapInput {
  /** Scores of the background events, per model (same events, same order). */
  readonly background: Readonly<Record<string, Float64Array>>;
  /** Per signal, scores of its events per model. */
  readonly signals: Readonly<Record<string, Readonly<Record<string, Float64Array>>>>;
}

/**
 * Efficiency ratios of each model in `models` over `reference` at `targetKhz`, per signal and
 * their minimum over the signals (NaN ratios, where the reference triggers nothing, are left
 * out of the minimum), with bootstrap intervals. Deterministic for a seed.
 */
export function bootstrapEfficiencyRatios(
  input: BootstrapInput,
  reference: string,
  models: readonly string[],
  targetKhz: number,
  o: { resamples?: number; seed?: number; rateMhz?: number } = {},
): Record<string, Record<string, RatioInterval>> {
  const resamples = o.resamples ?? 200;
  const rateMhz = o.rateMhz ?? ZERO_BIAS_RATE_MHZ;
  const random = rng(o.seed ?? 1);
  const all = [reference, ...models];
  const nBg = input.background[reference].length;
  const signalNames = Object.keys(input.signals);
  // draws[k][name]: the ratio in resample k (k = 0 is the sample itself).
  const draws: Record<string, Record<string, number>>[] = [];
  const redraw = (n: number, k: number) =>
    k === 0 ? undefined : Int32Array.from({ length: n }, () => Math.floor(random.next() * n));
  const take = (v: Float64Array, pick: Int32Array | undefined) =>
    pick ? Float64Array.from(pick, (i) => v[i]) : v;
  for (let k = 0; k <= resamples; k++) {
    const bgPick = redraw(nBg, k);
    const threshold = Object.fromEntries(
      all.map((m) => [m, thresholdAtRate(take(input.background[m], bgPick), targetKhz, rateMhz).threshold]),
    );
    const out: Record<string, Record<string, number>> = Object.fromEntries(models.map((m) => [m, {}]));
    for (const s of signalNames) {
      const pick = redraw(input.signals[s][reference].length, k);
      const eff = (m: string) => efficiency(take(input.signals[s][m], pick), threshold[m]);
      const ref = eff(reference);
      for (const m of models) out[m][s] = eff(m) / ref;
    }
    for (const m of models) {
      const finite = Object.values(out[m]).filter((v) => Number.isFinite(v));
      out[m].min = finite.length ? Math.min(...finite) : Number.NaN;
    }
    draws.push(out);
  }
  const percentile = (sorted: number[], p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : Number.NaN;
  const result: Record<string, Record<string, RatioInterval>> = {};
  for (const m of models) {
    result[m] = {};
    for (const key of [...signalNames, "min"]) {
      const rest = draws
        .slice(1)
        .map((d) => d[m][key])
        .filter((v) => Number.isFinite(v))
        .sort((a, b) => a - b);
      result[m][key] = {
        value: draws[0][m][key],
        lo68: percentile(rest, 0.16),
        hi68: percentile(rest, 0.84),
        lo95: percentile(rest, 0.025),
        hi95: percentile(rest, 0.975),
      };
    }
  }
  return result;
}
