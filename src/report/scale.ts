/** Axis scales: data value to pixel, and the ticks to label. */

export interface Tick {
  readonly value: number;
  readonly label: string;
}

export interface Scale {
  readonly log: boolean;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  /** Pixel of a value; NaN for a value a log scale cannot show (<= 0). */
  map(v: number): number;
  readonly ticks: readonly Tick[];
}

/** A short label: plain decimals for ordinary magnitudes, exponent form otherwise. */
export function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(6)));
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them across the domain. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** A linear scale; the domain is widened to include whole tick steps when `nice`. */
export function linearScale(lo: number, hi: number, r0: number, r1: number, nice = true): Scale {
  let a = lo;
  let b = hi;
  if (!(b > a)) {
    const pad = Math.abs(a) > 0 ? Math.abs(a) * 0.5 : 1;
    a -= pad;
    b += pad;
  }
  if (nice) {
    const t = niceTicks(a, b);
    const step = t.length > 1 ? t[1] - t[0] : b - a;
    a = Math.floor(a / step + 1e-9) * step;
    b = Math.ceil(b / step - 1e-9) * step;
  }
  const map = (v: number) => r0 + ((v - a) / (b - a)) * (r1 - r0);
  return {
    log: false,
    domain: [a, b],
    range: [r0, r1],
    map,
    ticks: niceTicks(a, b).map((value) => ({ value, label: tickLabel(value) })),
  };
}

/** A log10 scale over whole decades around [lo, hi] (lo > 0); ticks at each decade. */
export function logScale(lo: number, hi: number, r0: number, r1: number): Scale {
  if (!(lo > 0)) throw new RangeError(`a log scale needs a positive lower bound, not ${lo}`);
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  let e1 = Math.ceil(Math.log10(Math.max(hi, lo)) - 1e-9);
  if (e1 <= e0) e1 = e0 + 1;
  const map = (v: number) => (v > 0 ? r0 + ((Math.log10(v) - e0) / (e1 - e0)) * (r1 - r0) : Number.NaN);
  const every = Math.max(1, Math.ceil((e1 - e0) / 8));
  const ticks: Tick[] = [];
  for (let e = e0; e <= e1; e += every)
    ticks.push({ value: 10 ** e, label: tickLabel(Number((10 ** e).toPrecision(6))) });
  return { log: true, domain: [10 ** e0, 10 ** e1], range: [r0, r1], map, ticks };
}
