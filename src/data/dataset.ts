import { rng } from "../util/rng.js";
import { N_REGIONS } from "./geometry.js";

/** Per-event numbers beside the image: pileup vertices, generator truth (GeV), and so on. */
export type EventMeta = Readonly<Record<string, Float32Array>>;

export interface DatasetParts {
  /** N x 252 region ET counts, row-major (phi, eta), 0..1023. */
  readonly et: Uint16Array;
  /** One label per event: an index into `labelNames`. */
  readonly labels?: Int32Array;
  readonly labelNames?: readonly string[];
  readonly meta?: EventMeta;
  /** N x 252 per-region veto bits (0 or 1), when the source has them (Layer-1 links do). */
  readonly egVeto?: Uint8Array;
  readonly tauVeto?: Uint8Array;
  /** Where the events came from: a file, or a generator sample and seed. */
  readonly source: string;
}

/**
 * N events and what travels with them. Slicing returns views (no copy); shuffling and
 * seeded splitting copy each event exactly once.
 */
export class Dataset implements DatasetParts {
  readonly et: Uint16Array;
  readonly labels?: Int32Array;
  readonly labelNames?: readonly string[];
  readonly meta: EventMeta;
  readonly egVeto?: Uint8Array;
  readonly tauVeto?: Uint8Array;
  readonly source: string;
  readonly count: number;

  constructor(parts: DatasetParts) {
    if (parts.et.length % N_REGIONS !== 0) {
      throw new RangeError(`event buffer of ${parts.et.length} values is not a multiple of ${N_REGIONS}`);
    }
    this.count = parts.et.length / N_REGIONS;
    const check = (what: string, n: number | undefined, expected: number) => {
      if (n !== undefined && n !== expected) {
        throw new RangeError(`${what} has ${n} entries, expected ${expected} for ${this.count} events`);
      }
    };
    check("labels", parts.labels?.length, this.count);
    check("egVeto", parts.egVeto?.length, parts.et.length);
    check("tauVeto", parts.tauVeto?.length, parts.et.length);
    for (const [k, v] of Object.entries(parts.meta ?? {})) check(`meta.${k}`, v.length, this.count);
    this.et = parts.et;
    this.labels = parts.labels;
    this.labelNames = parts.labelNames;
    this.meta = parts.meta ?? {};
    this.egVeto = parts.egVeto;
    this.tauVeto = parts.tauVeto;
    this.source = parts.source;
  }

  /** Event i as a 252-value view into the dataset's buffer. */
  event(i: number): Uint16Array {
    return this.et.subarray(i * N_REGIONS, (i + 1) * N_REGIONS);
  }

  /** Events start..end-1 as views sharing this dataset's buffers. */
  slice(start: number, end = this.count): Dataset {
    const s = Math.max(0, Math.min(start, this.count));
    const e = Math.max(s, Math.min(end, this.count));
    const regions = <T extends Uint8Array | Uint16Array>(a: T | undefined) =>
      a?.subarray(s * N_REGIONS, e * N_REGIONS) as T | undefined;
    return new Dataset({
      et: regions(this.et)!,
      labels: this.labels?.subarray(s, e),
      labelNames: this.labelNames,
      meta: mapMeta(this.meta, (v) => v.subarray(s, e)),
      egVeto: regions(this.egVeto),
      tauVeto: regions(this.tauVeto),
      source: this.source,
    });
  }

  /** The events at the given indices, in that order (a copy). */
  take(indices: ArrayLike<number>): Dataset {
    const n = indices.length;
    const et = new Uint16Array(n * N_REGIONS);
    const eg = this.egVeto && new Uint8Array(n * N_REGIONS);
    const tau = this.tauVeto && new Uint8Array(n * N_REGIONS);
    for (let k = 0; k < n; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.count)) throw new RangeError(`event index ${i} outside 0..${this.count - 1}`);
      et.set(this.event(i), k * N_REGIONS);
      eg?.set(this.egVeto!.subarray(i * N_REGIONS, (i + 1) * N_REGIONS), k * N_REGIONS);
      tau?.set(this.tauVeto!.subarray(i * N_REGIONS, (i + 1) * N_REGIONS), k * N_REGIONS);
    }
    const gather = <T extends Int32Array | Float32Array>(a: T): T => {
      const out = new (a.constructor as new (n: number) => T)(n);
      for (let k = 0; k < n; k++) out[k] = a[indices[k]];
      return out;
    };
    return new Dataset({
      et,
      labels: this.labels && gather(this.labels),
      labelNames: this.labelNames,
      meta: mapMeta(this.meta, gather),
      egVeto: eg,
      tauVeto: tau,
      source: this.source,
    });
  }

  /** All events in a seeded random order (Fisher-Yates on mulberry32). */
  shuffle(seed: number): Dataset {
    return this.take(permutation(this.count, seed));
  }

  /**
   * Train / validation / test parts in the given proportions (normalised to sum 1; the test
   * part takes the rounding remainder). Without a seed the parts are contiguous views; with a
   * seed the events are shuffled first and each part is one copy.
   */
  split(fractions: { train: number; validation: number; test: number }, seed?: number) {
    const total = fractions.train + fractions.validation + fractions.test;
    if (!(total > 0) || Object.values(fractions).some((f) => !(f >= 0))) {
      throw new RangeError(`split fractions must be non-negative with a positive sum`);
    }
    const nTrain = Math.floor((this.count * fractions.train) / total);
    const nVal = Math.floor((this.count * fractions.validation) / total);
    if (seed === undefined) {
      return {
        train: this.slice(0, nTrain),
        validation: this.slice(nTrain, nTrain + nVal),
        test: this.slice(nTrain + nVal),
      };
    }
    const p = permutation(this.count, seed);
    return {
      train: this.take(p.subarray(0, nTrain)),
      validation: this.take(p.subarray(nTrain, nTrain + nVal)),
      test: this.take(p.subarray(nTrain + nVal)),
    };
  }

  /**
   * Datasets back to back. Labels survive when every part has them under the same names;
   * metadata keeps the fields every part has; vetoes survive when every part has them.
   */
  static concat(parts: readonly Dataset[], source = parts.map((p) => p.source).join(" + ")): Dataset {
    const n = parts.reduce((s, p) => s + p.count, 0);
    const et = new Uint16Array(n * N_REGIONS);
    let at = 0;
    for (const p of parts) {
      et.set(p.et, at * N_REGIONS);
      at += p.count;
    }
    const names = parts[0]?.labelNames;
    const sameNames = parts.every(
      (p) =>
        p.labels && p.labelNames?.length === names?.length && p.labelNames?.every((x, i) => x === names?.[i]),
    );
    const join = <T extends Int32Array | Float32Array | Uint8Array>(arrays: T[]): T => {
      const out = new (arrays[0].constructor as new (n: number) => T)(
        arrays.reduce((s, a) => s + a.length, 0),
      );
      let o = 0;
      for (const a of arrays) {
        out.set(a, o);
        o += a.length;
      }
      return out;
    };
    const metaKeys = Object.keys(parts[0]?.meta ?? {}).filter((k) => parts.every((p) => k in p.meta));
    const vetoes = (get: (p: Dataset) => Uint8Array | undefined) =>
      parts.length && parts.every((p) => get(p)) ? join(parts.map((p) => get(p)!)) : undefined;
    return new Dataset({
      et,
      labels: parts.length && sameNames ? join(parts.map((p) => p.labels!)) : undefined,
      labelNames: parts.length && sameNames ? names : undefined,
      meta: Object.fromEntries(metaKeys.map((k) => [k, join(parts.map((p) => p.meta[k]))])),
      egVeto: vetoes((p) => p.egVeto),
      tauVeto: vetoes((p) => p.tauVeto),
      source,
    });
  }
}

function mapMeta(meta: EventMeta, f: (v: Float32Array) => Float32Array): EventMeta {
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, f(v)]));
}

/** A seeded random permutation of 0..n-1. */
export function permutation(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
