import { createHash } from "node:crypto";
import { DEFAULT_CHUNK, type EventSource } from "./io/source.js";

/** What identifies a dataset's events: their count and the SHA-256 of their ET values. */
export interface DatasetFingerprint {
  readonly events: number;
  /** SHA-256 (hex) of every event's 252 counts as little-endian uint16, in file order. */
  readonly sha256: string;
}

/**
 * A fingerprint computed while the events stream past for another purpose (scoring, say):
 * feed every chunk in file order, then `digest` once.
 */
export interface Fingerprinter {
  update(et: Uint16Array, events: number): void;
  digest(): DatasetFingerprint;
}

export function fingerprinter(): Fingerprinter {
  const h = createHash("sha256");
  let total = 0;
  return {
    update(et, events) {
      h.update(littleEndianBytes(et));
      total += events;
    },
    digest: () => ({ events: total, sha256: h.digest("hex") }),
  };
}

/** Hashes an event source chunk by chunk (it is read once, start to end). */
export async function fingerprintEvents(src: EventSource): Promise<DatasetFingerprint> {
  const f = fingerprinter();
  for await (const c of src.chunks(DEFAULT_CHUNK)) f.update(c.et, c.count);
  return f.digest();
}

/** Fingerprint of events already in memory; equal to fingerprintEvents of the same events. */
export function fingerprintCounts(et: Uint16Array, events: number): DatasetFingerprint {
  return { events, sha256: createHash("sha256").update(littleEndianBytes(et)).digest("hex") };
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(et: Uint16Array): Uint8Array {
  if (littleEndian) return new Uint8Array(et.buffer, et.byteOffset, et.byteLength);
  const out = new Uint8Array(et.length * 2);
  for (let i = 0; i < et.length; i++) {
    out[2 * i] = et[i] & 0xff;
    out[2 * i + 1] = et[i] >> 8;
  }
  return out;
}
