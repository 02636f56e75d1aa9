import { type NetlistBuilder, nodeWidth } from "./netlist.js";

/** A signal scaled by a signed power of two: (neg ? -1 : 1) * (sig << shift). */
export interface Term {
  readonly sig: number;
  readonly shift: number;
  readonly neg: boolean;
}

/*
 * Common subexpressions across a whole constant matrix (greedy pair extraction).
 *
 * Each output row is a sum of terms. A pattern is a pair of terms up to a common shift and
 * sign: (a, b, d, s) stands for a + (-1)^s (b << d). If a pattern occurs k times over the
 * matrix, building it once and using it k times saves k - 1 adders. We repeatedly extract
 * the most frequent pattern until none occurs twice. The new signal becomes a term like any
 * other, so patterns of patterns (shared sums of four, eight... digits) emerge by themselves.
 *
 * Counts are kept incrementally: a pattern's count is the number of term pairs that match
 * it, updated as terms leave and enter rows, so each extraction only touches the rows that
 * hold both of its signals.
 */

const SIG_BITS = 2 ** 21;
const MAX_DELTA = 63;

function keyOf(t: Term, u: Term): number {
  let a = t;
  let b = u;
  if (b.sig < a.sig || (b.sig === a.sig && b.shift < a.shift)) {
    a = u;
    b = t;
  }
  const delta = b.shift - a.shift;
  if (delta > MAX_DELTA || delta < -MAX_DELTA) return -1;
  const sub = a.neg !== b.neg ? 1 : 0;
  return ((a.sig * SIG_BITS + b.sig) * 128 + (delta + 64)) * 2 + sub;
}

function decode(key: number): { a: number; b: number; delta: number; sub: boolean } {
  const sub = key % 2 === 1;
  let k = Math.floor(key / 2);
  const delta = (k % 128) - 64;
  k = Math.floor(k / 128);
  return { a: Math.floor(k / SIG_BITS), b: k % SIG_BITS, delta, sub };
}

/**
 * Pattern counts with the best pattern on top of a lazy max-heap. A pattern's score is its
 * count times the bits its adder really computes (where the two operands overlap), so wide
 * shared sums, which save the most logic, are extracted first. Stale heap entries (whose
 * count has changed since they were pushed) are skipped when they surface.
 */
class PatternCounts {
  private readonly count = new Map<number, number>();
  private readonly heapScore: number[] = [];
  private readonly heapKey: number[] = [];
  private readonly heapCount: number[] = [];

  constructor(private readonly bits: (key: number) => number) {}

  change(key: number, by: number): void {
    if (key < 0) return;
    const now = (this.count.get(key) ?? 0) + by;
    if (now === 0) this.count.delete(key);
    else this.count.set(key, now);
    if (by > 0 && now >= 2) this.push(now * this.bits(key), key, now);
  }

  /** The best pattern occurring at least twice. */
  best(): number | undefined {
    while (this.heapKey.length > 0) {
      const key = this.heapKey[0];
      const c = this.heapCount[0];
      this.pop();
      const now = this.count.get(key) ?? 0;
      if (now < 2) continue;
      // A count that fell since the push: re-file the pattern under its current score.
      if (now !== c) {
        this.push(now * this.bits(key), key, now);
        continue;
      }
      return key;
    }
    return undefined;
  }

  /** Ordered by score, then by key for determinism. */
  private above(i: number, j: number): boolean {
    const a = this.heapScore[i];
    const b = this.heapScore[j];
    return a > b || (a === b && this.heapKey[i] < this.heapKey[j]);
  }

  private swap(i: number, j: number): void {
    const s = this.heapScore;
    const k = this.heapKey;
    const c = this.heapCount;
    [s[i], s[j]] = [s[j], s[i]];
    [k[i], k[j]] = [k[j], k[i]];
    [c[i], c[j]] = [c[j], c[i]];
  }

  private push(score: number, key: number, count: number): void {
    this.heapScore.push(score);
    this.heapKey.push(key);
    this.heapCount.push(count);
    let i = this.heapKey.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): void {
    const last = this.heapKey.length - 1;
    this.swap(0, last);
    this.heapScore.pop();
    this.heapKey.pop();
    this.heapCount.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.above(l, m)) m = l;
      if (r < last && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}

export interface CseStats {
  readonly extracted: number;
}

/**
 * Rewrites `rows` in place, replacing shared term pairs with new adder nodes.
 * Terms are assumed to be non-constant signals.
 */
export function extractCommonTerms(b: NetlistBuilder, rows: Term[][], name: string): CseStats {
  if (b.nodes.length >= SIG_BITS)
    throw new Error(`netlist too large for pattern keys (${b.nodes.length} nodes)`);
  const width = (sig: number) => nodeWidth(b.node(sig));
  const counts = new PatternCounts((key) => {
    const p = decode(key);
    const sa = Math.max(0, -p.delta);
    const sb = Math.max(0, p.delta);
    const overlap = Math.min(sa + width(p.a), sb + width(p.b)) - Math.max(sa, sb);
    return 1 + Math.max(0, overlap);
  });
  /** rowsOf[sig]: rows holding sig, with how many terms of sig each holds. */
  const rowsOf = new Map<number, Map<number, number>>();
  const track = (sig: number, row: number, by: number) => {
    let m = rowsOf.get(sig);
    if (!m) {
      m = new Map();
      rowsOf.set(sig, m);
    }
    const c = (m.get(row) ?? 0) + by;
    if (c === 0) m.delete(row);
    else m.set(row, c);
  };
  const normalised = rows.map((r) => normalise(r));
  for (let r = 0; r < rows.length; r++) {
    rows[r] = normalised[r];
    const terms = rows[r];
    for (let i = 0; i < terms.length; i++) {
      track(terms[i].sig, r, 1);
      for (let j = i + 1; j < terms.length; j++) counts.change(keyOf(terms[i], terms[j]), 1);
    }
  }
  const remove = (r: number, i: number) => {
    const terms = rows[r];
    const t = terms[i];
    for (let j = 0; j < terms.length; j++) if (j !== i) counts.change(keyOf(t, terms[j]), -1);
    track(t.sig, r, -1);
    terms[i] = terms[terms.length - 1];
    terms.pop();
  };
  const insert = (r: number, t0: Term) => {
    let t = t0;
    // Two terms of one signal at one shift merge (x + x = x << 1) or cancel (x - x = 0).
    for (;;) {
      const terms = rows[r];
      const same = terms.findIndex((u) => u.sig === t.sig && u.shift === t.shift);
      if (same < 0) break;
      const u = terms[same];
      remove(r, same);
      if (u.neg !== t.neg) return;
      t = { sig: t.sig, shift: t.shift + 1, neg: t.neg };
    }
    const terms = rows[r];
    for (const u of terms) counts.change(keyOf(t, u), 1);
    terms.push(t);
    track(t.sig, r, 1);
  };

  let extracted = 0;
  for (let key = counts.best(); key !== undefined; key = counts.best()) {
    const p = decode(key);
    const sig =
      p.delta >= 0 ? b.add(name, p.a, 0, p.b, p.delta, p.sub) : b.add(name, p.a, -p.delta, p.b, 0, p.sub);
    extracted++;
    const inA = rowsOf.get(p.a);
    const inB = rowsOf.get(p.b);
    const candidates = [...(inA ?? [])].map(([r]) => r).filter((r) => inB?.has(r));
    let replaced = 0;
    for (const r of candidates) {
      // Greedy non-overlapping matches within the row.
      for (;;) {
        const terms = rows[r];
        let found: [number, number] | undefined;
        for (let i = 0; i < terms.length && !found; i++) {
          const t = terms[i];
          if (t.sig !== p.a) continue;
          for (let j = 0; j < terms.length; j++) {
            const u = terms[j];
            if (
              j !== i &&
              u.sig === p.b &&
              u.shift - t.shift === p.delta &&
              (t.neg !== u.neg) === p.sub &&
              keyOf(t, u) === key
            ) {
              found = [i, j];
              break;
            }
          }
        }
        if (!found) break;
        const [i, j] = found;
        const t = terms[i];
        const u = terms[j];
        // Remove the higher index first so the lower one stays valid.
        remove(r, Math.max(i, j));
        remove(r, Math.min(i, j));
        insert(r, { sig, shift: Math.min(t.shift, u.shift), neg: t.neg });
        replaced++;
      }
    }
    if (replaced === 0) throw new Error(`internal: pattern ${key} counted but not found`);
  }
  return { extracted };
}

/** Merges equal terms of a row (x + x -> x << 1, x - x -> nothing). */
function normalise(terms: readonly Term[]): Term[] {
  const out = new Map<string, Term>();
  const pending = [...terms];
  while (pending.length > 0) {
    const t = pending.pop()!;
    const k = `${t.sig}:${t.shift}`;
    const u = out.get(k);
    if (!u) {
      out.set(k, t);
      continue;
    }
    out.delete(k);
    if (u.neg === t.neg) pending.push({ sig: t.sig, shift: t.shift + 1, neg: t.neg });
  }
  return [...out.values()];
}

/**
 * Adds terms and a constant with a tree of two-input adders, always joining the two terms
 * that are ready earliest (fewest adder levels, then narrowest), so that terms produced by
 * shared subexpressions do not lengthen the critical path more than necessary.
 * Returns the node holding the exact sum.
 */
export function sumTerms(
  b: NetlistBuilder,
  terms: readonly Term[],
  constant: bigint,
  name: string,
  level: (sig: number) => number,
): number {
  const queue: Term[] = normalise(terms);
  if (constant !== 0n) queue.push({ sig: b.constant(constant), shift: 0, neg: false });
  if (queue.length === 0) return b.constant(0n);
  const rank = (t: Term) => level(t.sig) * 4096 + width(b, t);
  queue.sort((x, y) => rank(x) - rank(y));
  while (queue.length > 1) {
    const x = queue.shift()!;
    const y = queue.shift()!;
    const m = Math.min(x.shift, y.shift);
    let sig: number;
    let neg = false;
    if (x.neg === y.neg) {
      sig = b.add(name, x.sig, x.shift - m, y.sig, y.shift - m, false);
      neg = x.neg;
    } else {
      const [p, q] = x.neg ? [y, x] : [x, y];
      sig = b.add(name, p.sig, p.shift - m, q.sig, q.shift - m, true);
    }
    const t = { sig, shift: m, neg };
    const r = rank(t);
    let at = queue.findIndex((u) => rank(u) > r);
    if (at < 0) at = queue.length;
    queue.splice(at, 0, t);
  }
  const last = queue[0];
  const shifted = b.shift(name, last.sig, -last.shift, "TRN");
  return last.neg ? b.neg(name, shifted) : shifted;
}

function width(b: NetlistBuilder, t: Term): number {
  const n = b.node(t.sig);
  const hi = n.hi < 0n ? -n.hi : n.hi;
  const lo = n.lo < 0n ? -n.lo : n.lo;
  return (hi > lo ? hi : lo).toString(2).length + t.shift;
}
