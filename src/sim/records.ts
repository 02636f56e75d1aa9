import { recordBytes } from "./harness.js";

/**
 * Bus records: one event's tensor packed as the emitter lays it on a bus (element i in bits
 * [i*width, (i+1)*width), two's complement when signed), stored little-endian in
 * ceil(elements*width/8) bytes. The harness streams these in and out of the simulation.
 */
export interface BusLayout {
  readonly elements: number;
  readonly width: number;
  readonly signed: boolean;
}

export function layoutBytes(l: BusLayout): number {
  return recordBytes(l.elements * l.width);
}

/**
 * Packs `count` events of mantissas (elements per event, back to back) into records.
 * Numbers take fast paths: 32-bit integer operations up to 24 bits per element, exact
 * double arithmetic up to 52 bits (including the two's-complement offset); BigInt handles
 * any width.
 */
export function packRecords(
  values: ArrayLike<number> | ArrayLike<bigint>,
  count: number,
  l: BusLayout,
): Uint8Array {
  const bytes = layoutBytes(l);
  const out = new Uint8Array(count * bytes);
  const n = count * l.elements;
  if (n > 0 && typeof values[0] === "number" && l.width <= 24) {
    // Bits collect in a 32-bit accumulator (at most 7 pending + 24 new) and leave a byte at a time.
    const v = values as ArrayLike<number>;
    const span = 2 ** l.width;
    for (let e = 0; e < count; e++) {
      let p = e * bytes;
      let acc = 0;
      let pending = 0;
      for (let i = e * l.elements, end = i + l.elements; i < end; i++) {
        const x = v[i];
        acc |= (x < 0 ? x + span : x) << pending;
        pending += l.width;
        while (pending >= 8) {
          out[p++] = acc & 0xff;
          acc >>>= 8;
          pending -= 8;
        }
      }
      if (pending > 0) out[p] = acc & 0xff;
    }
    return out;
  }
  if (n > 0 && typeof values[0] === "number" && l.width <= 52) {
    const v = values as ArrayLike<number>;
    const span = 2 ** l.width;
    for (let e = 0; e < count; e++) {
      const base = e * bytes;
      for (let i = 0; i < l.elements; i++) {
        let x = v[e * l.elements + i];
        if (x < 0) x += span;
        let bit = i * l.width;
        let rem = l.width;
        while (rem > 0) {
          const shift = bit & 7;
          const take = Math.min(8 - shift, rem);
          const chunk = x % 2 ** take;
          out[base + (bit >> 3)] |= chunk << shift;
          x = (x - chunk) / 2 ** take;
          bit += take;
          rem -= take;
        }
      }
    }
    return out;
  }
  const w = BigInt(l.width);
  const mask = (1n << w) - 1n;
  for (let e = 0; e < count; e++) {
    let acc = 0n;
    for (let i = l.elements - 1; i >= 0; i--) acc = (acc << w) | (BigInt(values[e * l.elements + i]) & mask);
    const base = e * bytes;
    for (let b = 0; b < bytes; b++) {
      out[base + b] = Number(acc & 0xffn);
      acc >>= 8n;
    }
  }
  return out;
}

/** The mantissas of one record starting at `offset` (sign-extended when the layout is signed). */
export function unpackRecord(bytes: Uint8Array, offset: number, l: BusLayout): bigint[] {
  let acc = 0n;
  for (let b = layoutBytes(l) - 1; b >= 0; b--) acc = (acc << 8n) | BigInt(bytes[offset + b]);
  const w = BigInt(l.width);
  const mask = (1n << w) - 1n;
  const out: bigint[] = [];
  for (let i = 0; i < l.elements; i++) {
    const raw = acc & mask;
    out.push(l.signed && raw >> (w - 1n) ? raw - (1n << w) : raw);
    acc >>= w;
  }
  return out;
}
