import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { Dataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { N_ETA, N_PHI, N_REGIONS } from "../geometry.js";
import {
  DEFAULT_CHUNK,
  type EventSink,
  type EventSource,
  type ReadOptions,
  tempName,
  toCounts,
} from "./source.js";

/**
 * NumPy `.npy` (format versions 1-3): shape (N, 18, 14) or (N, 252), C order, any integer or
 * float dtype of either byte order. Events are read straight from the file, chunk by chunk.
 * Written files are `<u2` (N, 18, 14).
 */
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

type Ctor = { new (b: ArrayBuffer): ArrayLike<number> | ArrayLike<bigint>; BYTES_PER_ELEMENT: number };
const DTYPES: Record<string, Ctor> = {
  u1: Uint8Array,
  i1: Int8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  u8: BigUint64Array,
  i8: BigInt64Array,
  f4: Float32Array,
  f8: Float64Array,
};
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface NpyHeader {
  descr: string;
  ctor: Ctor;
  swap: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(file: string, fd: number): NpyHeader {
  const pre = Buffer.alloc(12);
  const got = readSync(fd, pre, 0, 12, 0);
  if (got < 10 || !pre.subarray(0, 6).equals(MAGIC)) {
    throw new DataError({ file }, "no NumPy magic string", "a .npy file");
  }
  const major = pre[6];
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = 8 + lenBytes;
  const text = Buffer.alloc(headerLen);
  if (readSync(fd, text, 0, headerLen, start) < headerLen) {
    throw new DataError({ file }, "a truncated header", `a header of ${headerLen} bytes`);
  }
  const header = text.toString("latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataError(
      { file },
      `header ${JSON.stringify(header.trim())}`,
      "a NumPy header with descr, fortran_order and shape",
    );
  }
  const m = /^([<>|=])([uif][1248])$/.exec(descr);
  const ctor = m ? DTYPES[m[2]] : undefined;
  if (!m || !ctor) {
    throw new DataError({ file }, `dtype '${descr}'`, "an integer or float dtype (u1..u8, i1..i8, f4, f8)");
  }
  if (fortran === "True") throw new DataError({ file }, "fortran_order True", "a C-ordered array");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  const ok =
    (shape.length === 3 && shape[1] === N_PHI && shape[2] === N_ETA) ||
    (shape.length === 2 && shape[1] === N_REGIONS);
  if (!ok) throw new DataError({ file }, `shape (${shape.join(", ")})`, "(N, 18, 14) or (N, 252)");
  const big = m[1] === ">";
  return {
    descr,
    ctor,
    swap: ctor.BYTES_PER_ELEMENT > 1 && big === LITTLE_ENDIAN,
    shape,
    dataOffset: start + headerLen,
  };
}

export function openNpy(file: string, opts: ReadOptions = {}): EventSource {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new DataError({ file }, (e as NodeJS.ErrnoException).code ?? String(e), "a readable .npy file");
  }
  let h: NpyHeader;
  try {
    h = parseHeader(file, fd);
    const bytes = h.shape[0] * N_REGIONS * h.ctor.BYTES_PER_ELEMENT;
    const have = statSync(file).size - h.dataOffset;
    if (have < bytes) {
      throw new DataError(
        { file },
        `${have} bytes of data`,
        `${bytes} bytes for shape (${h.shape.join(", ")}) of '${h.descr}' (the file is truncated)`,
      );
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const { ctor, swap, dataOffset } = h;
  const count = h.shape[0];
  const width = ctor.BYTES_PER_ELEMENT;
  let clipped = 0;
  let open = true;
  return {
    file,
    format: "npy",
    count,
    description: `NumPy array (${h.shape.join(", ")}) '${h.descr}'`,
    get clipped() {
      return clipped;
    },
    async *chunks(size = DEFAULT_CHUNK) {
      for (let start = 0; start < count; start += size) {
        const n = Math.min(size, count - start);
        // A fresh ArrayBuffer per chunk keeps the typed view aligned whatever the header length.
        const buf = new Uint8Array(n * N_REGIONS * width);
        readSync(fd, buf, 0, buf.length, dataOffset + start * N_REGIONS * width);
        if (swap) for (let i = 0; i < buf.length; i += width) buf.subarray(i, i + width).reverse();
        const et = new Uint16Array(n * N_REGIONS);
        clipped += toCounts(new ctor(buf.buffer), et, { file, firstEvent: start }, opts.saturate ?? false);
        yield new Dataset({ et, source: file });
      }
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** The header padded to 128 bytes, room enough to rewrite it with the final count in place. */
function header(count: number): Buffer {
  const dict = `{'descr': '<u2', 'fortran_order': False, 'shape': (${count}, ${N_PHI}, ${N_ETA}), }`;
  const total = 128;
  const out = Buffer.alloc(total, 0x20);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(total - 10, 8);
  out.write(dict, 10, "latin1");
  out[total - 1] = 0x0a;
  return out;
}

export function createNpy(file: string): EventSink {
  const tmp = tempName(file);
  const fd = openSync(tmp, "w");
  let count = 0;
  writeSync(fd, header(0), 0, 128, 0);
  let open = true;
  const shut = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    async write(chunk) {
      const data = new Uint8Array(chunk.et.length * 2);
      const view = new DataView(data.buffer);
      for (let i = 0; i < chunk.et.length; i++) view.setUint16(2 * i, chunk.et[i], true);
      writeSync(fd, data, 0, data.length, 128 + count * N_REGIONS * 2);
      count += chunk.count;
    },
    async close() {
      writeSync(fd, header(count), 0, 128, 0);
      fsyncSync(fd);
      shut();
      renameSync(tmp, file);
    },
    abort() {
      shut();
      rmSync(tmp, { force: true });
    },
  };
}
