import type { Dataset } from "../../data/dataset.js";
import { N_REGIONS } from "../../data/geometry.js";
import { collectChunks } from "../../data/io/index.js";
import { DEFAULT_CHUNK } from "../../data/io/source.js";
import { deriveSeed, rng } from "../../util/rng.js";

/**
 * Where training events come from: anything that can stream its events in file order, again
 * for every epoch (an open event file, or a dataset already in memory).
 */
export interface EventStream {
  readonly count: number;
  /** Successive chunks of at most `size` events, in order, from the first event. */
  chunks(size: number): AsyncIterable<Dataset>;
}

export function memoryStream(data: Dataset): EventStream {
  return {
    count: data.count,
    async *chunks(size: number) {
      for (let s = 0; s < data.count; s += size) yield data.slice(s, s + size);
    },
  };
}

/**
 * The stream's events read once into memory when they take at most `maxBytes` (so epochs do not
 * decode the file again), else the stream itself.
 */
export async function inMemory(stream: EventStream, maxBytes: number): Promise<EventStream> {
  if (stream.count * N_REGIONS * 2 > maxBytes) return stream;
  return memoryStream(await collectChunks(stream.chunks(DEFAULT_CHUNK)));
}

/**
 * `first`'s events, then `extra`'s: a training set with events appended (the students' outlier
 * exposure). Event i < first.count is first's event i, so per-event targets concatenate alike.
 */
export function appendStream(first: EventStream, extra: Dataset): EventStream {
  return {
    count: first.count + extra.count,
    async *chunks(size: number) {
      yield* first.chunks(size);
      for (let s = 0; s < extra.count; s += size) yield extra.slice(s, s + size);
    },
  };
}

/** Events back to back (252 counts each) with optional per-event targets: what a model consumes. */
export interface Shard {
  readonly count: number;
  readonly x: Uint16Array;
  readonly y?: Float32Array;
}

/** One mini-batch, with the indices of its events in the stream. */
export interface Batch extends Shard {
  readonly index: Int32Array;
}

export type Part = "train" | "validation";

/**
 * Event `i` belongs to the validation part when a seeded hash of `i` falls below `fraction`:
 * a fixed, order-free split that a stream can apply chunk by chunk without knowing the rest.
 */
export function isValidation(seed: number, i: number, fraction: number): boolean {
  return deriveSeed(seed ^ 0x5eed5, i) / 4294967296 < fraction;
}

export interface BatchOptions {
  readonly part: Part;
  readonly validationFraction: number;
  /** Seeds the split (fixed for a run) and, with the epoch, the shuffle. */
  readonly seed: number;
  readonly epoch: number;
  readonly batchSize: number;
  /** Shuffle through a buffer of this many events (a full shuffle when it holds the whole part). */
  readonly shuffleBuffer: number;
  readonly shuffle: boolean;
  /** Per-event regression targets, indexed like the stream (students). */
  readonly targets?: Float32Array;
}

/** Number of events of a part, counted from the split rule. */
export function partSize(count: number, seed: number, fraction: number, part: Part): number {
  let v = 0;
  for (let i = 0; i < count; i++) if (isValidation(seed, i, fraction)) v++;
  return part === "validation" ? v : count - v;
}

/**
 * Mini-batches of one part of the stream. With `shuffle`, events pass through a shuffle buffer
 * driven by a PRNG seeded from (seed, epoch): the same seed and epoch give the same batches.
 * The last batch may be short.
 */
export async function* batches(stream: EventStream, o: BatchOptions): AsyncGenerator<Batch> {
  // A buffer larger than the stream behaves as one of the stream's size: allocate no more.
  const capacity = Math.max(1, o.shuffle ? Math.min(o.shuffleBuffer, stream.count) : 1);
  const random = rng(deriveSeed(o.seed, 1000 + o.epoch));
  const bufX = new Uint16Array(capacity * N_REGIONS);
  const bufI = new Int32Array(capacity);
  let filled = 0;
  const outX = new Uint16Array(o.batchSize * N_REGIONS);
  const outI = new Int32Array(o.batchSize);
  let out = 0;
  const emit = (): Batch => {
    const x = outX.slice(0, out * N_REGIONS);
    const index = outI.slice(0, out);
    const batch = { count: out, x, index, ...(o.targets ? { y: gather(o.targets, index) } : {}) };
    out = 0;
    return batch;
  };
  const take = (slot: number) => {
    outX.set(bufX.subarray(slot * N_REGIONS, (slot + 1) * N_REGIONS), out * N_REGIONS);
    outI[out++] = bufI[slot];
  };
  const wantValidation = o.part === "validation";
  let base = 0;
  for await (const chunk of stream.chunks(DEFAULT_CHUNK)) {
    for (let k = 0; k < chunk.count; k++) {
      const i = base + k;
      if (isValidation(o.seed, i, o.validationFraction) !== wantValidation) continue;
      const event = chunk.et.subarray(k * N_REGIONS, (k + 1) * N_REGIONS);
      if (!o.shuffle) {
        bufX.set(event, 0);
        bufI[0] = i;
        take(0);
      } else if (filled < capacity) {
        bufX.set(event, filled * N_REGIONS);
        bufI[filled++] = i;
        continue;
      } else {
        // The buffer is full: a random resident leaves and the new event takes its slot.
        const slot = Math.floor(random.next() * capacity);
        take(slot);
        bufX.set(event, slot * N_REGIONS);
        bufI[slot] = i;
      }
      if (out === o.batchSize) yield emit();
    }
    base += chunk.count;
  }
  // Drain what remains in random order (a Fisher-Yates pass over the resident slots).
  for (let n = filled; n > 0 && o.shuffle; n--) {
    const slot = Math.floor(random.next() * n);
    take(slot);
    const last = n - 1;
    bufX.copyWithin(slot * N_REGIONS, last * N_REGIONS, n * N_REGIONS);
    bufI[slot] = bufI[last];
    if (out === o.batchSize) yield emit();
  }
  if (out > 0) yield emit();
}

function gather(values: Float32Array, index: Int32Array): Float32Array {
  const y = new Float32Array(index.length);
  for (let k = 0; k < index.length; k++) y[k] = values[index[k]];
  return y;
}
