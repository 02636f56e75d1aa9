import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from "h5wasm/node";
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
  type WriteOptions,
} from "./source.js";

/**
 * HDF5 in CICADA's layout: `CaloRegions` (N, 18, 14) integer ET counts; beside it optional
 * `Labels` (N) int32 with a `label_names` attribute (JSON list), one (N) float32 dataset per
 * metadata field (`nPV`, `htGeV`, ...), and `EGVeto` / `TauVeto` (N, 18, 14) uint8 when the
 * events carry veto bits. The file's `source` attribute says where the events came from.
 *
 * h5wasm's Node build reaches the host file system through Emscripten's NODERAWFS, so HDF5
 * reads only the bytes it needs: `slice` of a range of events reads just the chunks covering
 * it, and a file larger than memory streams.
 */
const EVENTS = "CaloRegions";
const LABELS = "Labels";
const VETOES = { egVeto: "EGVeto", tauVeto: "TauVeto" } as const;

type H5 = typeof import("h5wasm/node");
let h5: Promise<H5> | undefined;
/** h5wasm, loaded once. */
export async function loadH5(): Promise<H5> {
  h5 ??= import("h5wasm/node").then(async (m) => {
    await m.ready;
    return m;
  });
  return h5;
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks what HDF5 would otherwise report as a page of diagnostics on stderr: the signature,
 * and the end-of-file address in the superblock against the file's real size (a truncated
 * file is shorter than its superblock says).
 */
function checkSuperblock(file: string): void {
  if (!existsSync(file)) throw new DataError({ file }, "no such file", "an HDF5 file");
  const head = Buffer.alloc(64);
  const fd = openSync(file, "r");
  let n: number;
  try {
    n = readSync(fd, head, 0, 64, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 8 || !head.subarray(0, 8).equals(HDF5_SIGNATURE)) {
    throw new DataError({ file }, "no HDF5 signature", "an HDF5 file");
  }
  const version = head[8];
  // Superblock versions 0 and 1 store the EOF address at byte 40 / 44, versions 2 and 3 at
  // byte 28 (with 8-byte offsets, the only size HDF5 writes by default).
  const sizeOfOffsets = version <= 1 ? head[13] : head[9];
  const at = version === 0 ? 40 : version === 1 ? 44 : 28;
  if (sizeOfOffsets !== 8 || n < at + 8) return;
  const eof = Number(head.readBigUInt64LE(at));
  const size = statSync(file).size;
  if (eof > size) {
    throw new DataError(
      { file },
      `${size} bytes`,
      `${eof} bytes as its superblock says (the file is truncated)`,
    );
  }
}

function datasetPaths(m: H5, g: H5Group, prefix = ""): string[] {
  return g.keys().flatMap((k) => {
    const o = g.get(k);
    if (o instanceof m.Dataset) return [`${prefix}${k}`];
    if (o instanceof m.Group) return datasetPaths(m, o, `${prefix}${k}/`);
    return [];
  });
}

const isNumeric = (d: H5Dataset) => d.metadata.type === 0 || d.metadata.type === 1;
const fmtShape = (s: readonly number[]) => `(${s.join(", ")})`;

export async function openH5(file: string, opts: ReadOptions = {}): Promise<EventSource> {
  checkSuperblock(file);
  const m = await loadH5();
  let f: H5File;
  try {
    f = new m.File(file, "r");
  } catch (e) {
    throw new DataError(
      { file },
      `a file HDF5 cannot open (${(e as Error).message})`,
      "a readable HDF5 file",
    );
  }
  try {
    return describeH5(m, f, file, opts);
  } catch (e) {
    f.close();
    throw e;
  }
}

function describeH5(m: H5, f: H5File, file: string, opts: ReadOptions): EventSource {
  const name = opts.dataset ?? EVENTS;
  const obj = f.get(name);
  if (!(obj instanceof m.Dataset)) {
    const have = datasetPaths(m, f);
    throw new DataError(
      { file },
      `no dataset "${name}"`,
      `a dataset of events; the file has ${have.length ? have.map((h) => `"${h}"`).join(", ") : "no datasets"} (choose one with --dataset)`,
    );
  }
  const ds = obj;
  const shape = ds.shape ?? [];
  const okShape =
    (shape.length === 3 && shape[1] === N_PHI && shape[2] === N_ETA) ||
    (shape.length === 2 && shape[1] === N_REGIONS);
  if (!okShape) {
    throw new DataError({ file, dataset: name }, `shape ${fmtShape(shape)}`, `(N, 18, 14) or (N, 252)`);
  }
  if (!isNumeric(ds)) {
    throw new DataError({ file, dataset: name }, `type ${ds.dtype}`, "integer or floating-point values");
  }
  const count = shape[0];
  const slash = name.lastIndexOf("/");
  const dir = slash >= 0 ? name.slice(0, slash + 1) : "";
  const sibling = (n: string): H5Dataset | undefined => {
    const o = f.get(`${dir}${n}`);
    return o instanceof m.Dataset ? o : undefined;
  };
  const labels = sibling(LABELS);
  const useLabels = labels && labels.shape?.length === 1 && labels.shape[0] === count && isNumeric(labels);
  const labelNamesAttr = useLabels ? labels.attrs.label_names?.value : undefined;
  const labelNames =
    typeof labelNamesAttr === "string" ? (JSON.parse(labelNamesAttr) as string[]) : undefined;
  const parent = (dir ? f.get(dir.slice(0, -1)) : f) as H5Group;
  const metaNames = parent.keys().filter((k) => {
    if (k === LABELS || `${dir}${k}` === name) return false;
    const d = sibling(k);
    return d !== undefined && d.shape?.length === 1 && d.shape[0] === count && isNumeric(d);
  });
  const vetoes = Object.entries(VETOES).filter(([, n]) => {
    const d = sibling(n);
    return d?.shape?.length === shape.length && d.shape.every((s, i) => s === shape[i]);
  });
  const sourceAttr = f.attrs.source?.value;
  const chunking = ds.metadata.chunks ? `, chunks ${fmtShape(ds.metadata.chunks)}` : "";
  const filters = ds.filters.length ? `, ${ds.filters.map((x) => x.name).join("+")}` : "";
  let clipped = 0;
  let closed = false;
  const src: EventSource = {
    file,
    format: "h5",
    count,
    description: `HDF5 dataset "${name}" ${fmtShape(shape)} ${ds.dtype}${chunking}${filters}`,
    get clipped() {
      return clipped;
    },
    async *chunks(size = DEFAULT_CHUNK) {
      for (let start = 0; start < count; start += size) {
        const end = Math.min(count, start + size);
        let raw: ArrayLike<number> | ArrayLike<bigint>;
        try {
          raw = ds.slice([[start, end]]) as ArrayLike<number>;
        } catch (e) {
          throw new DataError(
            { file, dataset: name, event: start },
            `an unreadable chunk (${(e as Error).message})`,
            "readable HDF5 data",
          );
        }
        const et = new Uint16Array((end - start) * N_REGIONS);
        clipped += toCounts(raw, et, { file, dataset: name, firstEvent: start }, opts.saturate ?? false);
        const range = (d: H5Dataset) => d.slice([[start, end]]) as ArrayLike<number>;
        yield new Dataset({
          et,
          labels: useLabels ? Int32Array.from(range(labels), Number) : undefined,
          labelNames: useLabels ? labelNames : undefined,
          meta: Object.fromEntries(metaNames.map((k) => [k, Float32Array.from(range(sibling(k)!), Number)])),
          ...Object.fromEntries(
            vetoes.map(([key, n]) => [key, Uint8Array.from(range(sibling(n)!), (v) => (Number(v) ? 1 : 0))]),
          ),
          source: typeof sourceAttr === "string" ? sourceAttr : file,
        });
      }
    },
    close() {
      if (!closed) f.close();
      closed = true;
    },
  };
  return src;
}

/**
 * Writes chunked, extensible datasets to a temporary file: images in chunks of 1024 events
 * (about 500 kB), per-event numbers in chunks of 65536.
 */
export async function createH5(file: string, opts: WriteOptions = {}): Promise<EventSink> {
  const m = await loadH5();
  const tmp = tempName(file);
  rmSync(tmp, { force: true });
  const f = new m.File(tmp, "w");
  const level = opts.compression ?? 4;
  let written = 0;
  let events: H5Dataset | undefined;
  const extras = new Map<string, H5Dataset>();
  const append = (
    name: string,
    data: Uint16Array | Int32Array | Float32Array | Uint8Array,
    dtype: string,
    perEvent: number[],
  ) => {
    let d = name === EVENTS ? events : extras.get(name);
    const n = data.length / perEvent.reduce((a, b) => a * b, 1);
    if (!d) {
      d = f.create_dataset({
        name,
        data,
        shape: [n, ...perEvent],
        maxshape: [null, ...perEvent],
        chunks: [Math.max(1, Math.min(perEvent.length ? 1024 : 65536, n)), ...perEvent],
        dtype,
        ...(level > 0 ? { compression: level } : {}),
      });
      if (name === EVENTS) events = d;
      else extras.set(name, d);
      return d;
    }
    d.resize([written + n, ...perEvent]);
    d.write_slice([[written, written + n]], data);
    return d;
  };
  let first = true;
  return {
    async write(chunk) {
      if (chunk.count === 0) return;
      if (first) f.create_attribute("source", chunk.source);
      append(EVENTS, chunk.et, "<H", [N_PHI, N_ETA]);
      if (chunk.labels) {
        const d = append(LABELS, chunk.labels, "<i", []);
        if (first && chunk.labelNames) d.create_attribute("label_names", JSON.stringify(chunk.labelNames));
      }
      for (const [k, v] of Object.entries(chunk.meta)) append(k, v, "<f", []);
      if (chunk.egVeto) append(VETOES.egVeto, chunk.egVeto, "<B", [N_PHI, N_ETA]);
      if (chunk.tauVeto) append(VETOES.tauVeto, chunk.tauVeto, "<B", [N_PHI, N_ETA]);
      first = false;
      written += chunk.count;
    },
    async close() {
      if (!events) append(EVENTS, new Uint16Array(0), "<H", [N_PHI, N_ETA]);
      f.close();
      const fd = openSync(tmp, "r+");
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, file);
    },
    abort() {
      try {
        f.close();
      } finally {
        rmSync(tmp, { force: true });
      }
    },
  };
}
