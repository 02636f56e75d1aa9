/** Agreement between two scores of the same events (teacher and student). */

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`score arrays differ in length (${a.length}, ${b.length})`);
}

/** Pearson's correlation coefficient; NaN when either score is constant or there are < 2 events. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

/** Ranks 1..n, tied values sharing the mean of their ranks. */
export function ranks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => v[x] - v[y]);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = mean;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson on tie-averaged ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  return pearson(ranks(a), ranks(b));
}

export interface TriggerOverlap {
  /** Events the first score triggers (score > its threshold). */
  readonly firstTriggered: number;
  readonly secondTriggered: number;
  readonly both: number;
  /** both / firstTriggered: how many of the teacher's triggers the student keeps; NaN when none. */
  readonly fraction: number;
}

/** Overlap of the events two scores trigger, each against its own threshold. */
export function triggerOverlap(
  a: ArrayLike<number>,
  thresholdA: number,
  b: ArrayLike<number>,
  thresholdB: number,
): TriggerOverlap {
  checkPair(a, b);
  let fa = 0;
  let fb = 0;
  let both = 0;
  for (let i = 0; i < a.length; i++) {
    const ta = a[i] > thresholdA;
    const tb = b[i] > thresholdB;
    if (ta) fa++;
    if (tb) fb++;
    if (ta && tb) both++;
  }
  return { firstTriggered: fa, secondTriggered: fb, both, fraction: fa ? both / fa : Number.NaN };
}

/**
 * The least-squares slope of `student` on `teacher` over the `k` events the teacher scores
 * highest (ties at the k-th score broken by event order): how steeply the student still rises
 * across the teacher's tail. On zero-bias events, every conv-v1 start that kept the teacher's
 * signal efficiency at 3 kHz had a slope of 1.7 or more over the top 1,000 of 500,000, but only
 * half of those steep starts kept it (7 of 14; none of 34 flatter ones did; README, conv-v1).
 * NaN when the teacher's k scores are all equal.
 */
export function tailSlope(teacher: ArrayLike<number>, student: ArrayLike<number>, k: number): number {
  checkPair(teacher, student);
  const top = topEvents(teacher, k);
  let mt = 0;
  let ms = 0;
  for (const i of top) {
    mt += teacher[i];
    ms += student[i];
  }
  mt /= k;
  ms /= k;
  let sts = 0;
  let stt = 0;
  for (const i of top) {
    const dt = teacher[i] - mt;
    sts += dt * (student[i] - ms);
    stt += dt * dt;
  }
  return stt > 0 ? sts / stt : Number.NaN;
}

/**
 * The indices of the `k` highest scores, highest first, ties in event order: the tail
 * `tailSlope` fits over.
 */
export function topEvents(scores: ArrayLike<number>, k: number): number[] {
  if (!Number.isInteger(k) || k < 2 || k > scores.length) {
    throw new RangeError(`tail of ${k} events: expected an integer from 2 to ${scores.length}`);
  }
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (x, y) => scores[y] - scores[x] || x - y,
  );
  return order.slice(0, k);
}
