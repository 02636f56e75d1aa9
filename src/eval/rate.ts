import { countAbove, sortedScores } from "./roc.js";

/** CMS's effective zero-bias crossing rate, MHz: a false-positive rate of 1 is this trigger rate. */
export const ZERO_BIAS_RATE_MHZ = 28.61;

/** The working points reported by default, kHz. */
export const DEFAULT_RATES_KHZ: readonly number[] = [1, 3, 10];

/** Trigger rate in kHz of a false-positive rate. */
export const rateKhz = (fpr: number, rateMhz = ZERO_BIAS_RATE_MHZ): number => fpr * rateMhz * 1000;

export interface WorkingPoint {
  /** The rate asked for, kHz. */
  readonly targetKhz: number;
  /** Events trigger when score > threshold; -Infinity when every event may trigger. */
  readonly threshold: number;
  /** Background events above the threshold, and the rate that gives. */
  readonly passed: number;
  readonly rateKhz: number;
}

/** k: how many of `n` background events a trigger at `targetKhz` may pass. */
export function allowedEvents(targetKhz: number, n: number, rateMhz = ZERO_BIAS_RATE_MHZ): number {
  // A little slack so that e.g. 3 kHz at exactly k events is not lost to rounding.
  return Math.floor((targetKhz / (rateMhz * 1000)) * n * (1 + 1e-12));
}

/**
 * The smallest threshold whose background rate is at most the target: with N background
 * events the trigger may pass at most k = floor(target / (rate x 1000) x N) of them, so the
 * threshold is the (k+1)-th largest background score. Events equal to the threshold do not
 * trigger, so when several background events tie there the rate reached is below the target
 * (a tie is never split). Any smaller threshold would pass more than k events. When k >= N
 * the threshold is -Infinity (the target allows every event).
 */
export function thresholdAtRate(
  background: ArrayLike<number> | Float64Array,
  targetKhz: number,
  rateMhz = ZERO_BIAS_RATE_MHZ,
  sorted = false,
): WorkingPoint {
  if (!(targetKhz >= 0)) throw new RangeError(`target rate ${targetKhz} kHz must be >= 0`);
  if (!(rateMhz > 0)) throw new RangeError(`crossing rate ${rateMhz} MHz must be > 0`);
  const b = sorted ? (background as Float64Array) : sortedScores(background);
  const n = b.length;
  if (n === 0) throw new RangeError("a threshold needs background events");
  const k = allowedEvents(targetKhz, n, rateMhz);
  const threshold = k >= n ? Number.NEGATIVE_INFINITY : b[n - 1 - k];
  const passed = countAbove(b, threshold);
  return { targetKhz, threshold, passed, rateKhz: rateKhz(passed / n, rateMhz) };
}

/** Fraction of the events whose score is strictly above the threshold. */
export function efficiency(scores: ArrayLike<number>, threshold: number): number {
  if (scores.length === 0) return Number.NaN;
  let k = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold) k++;
  return k / scores.length;
}
