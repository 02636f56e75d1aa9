import type { Dataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { ET_MAX, N_REGIONS } from "../geometry.js";

export type Format = "h5" | "npy" | "png" | "links";

export interface ReadOptions {
  /** Clip values above 1023 to 1023 (and count them) instead of rejecting the file. */
  readonly saturate?: boolean;
  /** HDF5 only: the dataset holding the events (default `CaloRegions`). */
  readonly dataset?: string;
  readonly format?: Format;
}

export interface WriteOptions {
  readonly format?: Format;
  /** HDF5 only: gzip level 0-9 (0 = none); default 4. */
  readonly compression?: number;
}

/** A file of events read chunk by chunk: only one chunk is in memory at a time. */
export interface EventSource {
  readonly file: string;
  readonly format: Format;
  readonly count: number;
  /** What the file holds, e.g. `HDF5 dataset "CaloRegions" (1000, 18, 14) <H, chunks (1024, 18, 14), deflate`. */
  readonly description: string;
  /** Successive chunks of at most `size` events, in file order. */
  chunks(size?: number): AsyncGenerator<Dataset>;
  /** Values above 1023 clipped so far (only with `saturate`). */
  readonly clipped: number;
  close(): void;
}

/**
 * A file being written: chunks are appended to a temporary sibling, and only `close` gives the
 * file its name, so an interrupted write never leaves a file that looks complete.
 */
export interface EventSink {
  write(chunk: Dataset): Promise<void>;
  close(): Promise<void>;
  /** Drops the temporary file. */
  abort(): void;
}

export const DEFAULT_CHUNK = 8192;

export const tempName = (file: string) => `${file}.tmp-${process.pid}`;

/** Where values being checked sit: the file, dataset or line, and the first event's index. */
export interface CountContext {
  readonly file: string;
  readonly dataset?: string;
  readonly line?: number;
  readonly firstEvent: number;
}

/**
 * Copies raw values (any numeric typed array, or plain numbers) into 10-bit ET counts,
 * rejecting NaN, infinities, negative and non-integer values, and values above 1023 unless
 * `saturate`, in which case they become 1023. Returns how many were clipped.
 */
export function toCounts(
  src: ArrayLike<number> | ArrayLike<bigint>,
  out: Uint16Array,
  ctx: CountContext,
  saturate: boolean,
): number {
  let clipped = 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const raw = src[i];
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (v >= 0 && v <= ET_MAX && Number.isInteger(v)) {
      out[i] = v;
      continue;
    }
    const where = {
      file: ctx.file,
      dataset: ctx.dataset,
      line: ctx.line,
      event: ctx.firstEvent + Math.floor(i / N_REGIONS),
      region: i % N_REGIONS,
    };
    const shown = typeof raw === "bigint" ? raw.toString() : String(v);
    if (Number.isNaN(v)) throw new DataError(where, "NaN", "an ET count 0..1023");
    if (v < 0) throw new DataError(where, shown, "a non-negative ET count 0..1023");
    if (!Number.isInteger(v) && Number.isFinite(v)) {
      throw new DataError(where, shown, "an integer ET count (units of 0.5 GeV) 0..1023");
    }
    if (!saturate) throw new DataError(where, shown, "0..1023 (use --saturate to clip)");
    out[i] = ET_MAX;
    clipped++;
  }
  return clipped;
}
