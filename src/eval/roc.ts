/**
 * ROC curves and AUC of an anomaly score: an event triggers when its score is strictly above
 * the threshold. Scores are plain numbers (floats, or integer mantissas of a fixed-point type;
 * the threshold is then in the same units).
 */

/** Sorted ascending copy as float64 (NaN is refused: it has no place on a threshold scale). */
export function sortedScores(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) throw new RangeError(`score ${i} is NaN`);
  }
  return out.sort();
}

/** How many of the sorted values are strictly greater than t (binary search). */
export function countAbove(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] > t) hi = mid;
    else lo = mid + 1;
  }
  return sorted.length - lo;
}

/** How many of the sorted values are greater than or equal to t (binary search). */
export function countAtLeast(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] >= t) hi = mid;
    else lo = mid + 1;
  }
  return sorted.length - lo;
}

export interface RocCurve {
  /**
   * Thresholds in decreasing order: +Infinity first (nothing triggers), then every distinct
   * score of either sample, so point k is "score > thresholds[k]".
   */
  readonly thresholds: Float64Array;
  /** False-positive rate: the fraction of background events above the threshold. */
  readonly fpr: Float64Array;
  /** True-positive rate (signal efficiency): the fraction of signal events above it. */
  readonly tpr: Float64Array;
}

/**
 * The ROC curve with one point per distinct score: events tied at a score change sides
 * together, so ties make a diagonal step, not a staircase that depends on event order.
 * The last point (threshold below every score) is (1, 1).
 */
export function rocCurve(background: ArrayLike<number>, signal: ArrayLike<number>): RocCurve {
  const b = sortedScores(background);
  const s = sortedScores(signal);
  if (b.length === 0 || s.length === 0)
    throw new RangeError("a ROC curve needs background and signal events");
  const thresholds = [Number.POSITIVE_INFINITY];
  const fpr = [0];
  const tpr = [0];
  let i = b.length - 1;
  let j = s.length - 1;
  while (i >= 0 || j >= 0) {
    const v = Math.max(i >= 0 ? b[i] : Number.NEGATIVE_INFINITY, j >= 0 ? s[j] : Number.NEGATIVE_INFINITY);
    while (i >= 0 && b[i] === v) i--;
    while (j >= 0 && s[j] === v) j--;
    // Everything at v now counts as triggered: the threshold is just below v, i.e. the next
    // smaller distinct score (or -Infinity past the smallest).
    const next = Math.max(i >= 0 ? b[i] : Number.NEGATIVE_INFINITY, j >= 0 ? s[j] : Number.NEGATIVE_INFINITY);
    thresholds.push(next);
    fpr.push((b.length - 1 - i) / b.length);
    tpr.push((s.length - 1 - j) / s.length);
  }
  return {
    thresholds: Float64Array.from(thresholds),
    fpr: Float64Array.from(fpr),
    tpr: Float64Array.from(tpr),
  };
}

/**
 * Area under the ROC curve, exactly: the Mann-Whitney probability that a random signal event
 * scores above a random background event, ties counting one half. Equals the trapezoid area
 * under `rocCurve` (whose tie steps are diagonal).
 */
export function auc(background: ArrayLike<number>, signal: ArrayLike<number>): number {
  const b = sortedScores(background);
  const s = sortedScores(signal);
  if (b.length === 0 || s.length === 0) throw new RangeError("AUC needs background and signal events");
  // For each signal score: background strictly below counts 1, equal counts 1/2. Both sorted,
  // so two pointers walk the background once.
  let below = 0;
  let belowOrEqual = 0;
  let sum = 0;
  for (let k = 0; k < s.length; k++) {
    const v = s[k];
    while (below < b.length && b[below] < v) below++;
    if (belowOrEqual < below) belowOrEqual = below;
    while (belowOrEqual < b.length && b[belowOrEqual] <= v) belowOrEqual++;
    sum += below + (belowOrEqual - below) / 2;
  }
  return sum / (b.length * s.length);
}
