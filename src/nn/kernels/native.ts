import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as tf from "@tensorflow/tfjs-core";
import { type HeapBackend, heap } from "./heap.js";
import type { WasmBackend } from "./wasm.js";

/**
 * Our own WebAssembly SIMD kernels (native/*.c, built to build/kernels.wasm by
 * scripts/build-kernels.sh), instantiated on the wasm backend's memory: they read and write
 * tensors where the backend keeps them.
 */
interface NativeExports {
  conv2d_filter_grad(
    x: number,
    dy: number,
    out: number,
    scratch: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    f: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    vecX: number,
    block: number,
  ): void;
  quantize_ste(
    x: number,
    y: number,
    mask: number,
    n: number,
    scale: number,
    inv: number,
    lo: number,
    hi: number,
    relu: number,
  ): void;
}

/** The parts of the WebAssembly API used here (the project's TypeScript libraries omit its types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => CompiledModule;
  Instance: new (module: CompiledModule, imports: object) => { exports: unknown };
}
type CompiledModule = { readonly __compiled: unique symbol };
/** A WebAssembly.Memory, only passed on. */
type Memory = object;
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Same depth under src/ and dist/, so this resolves from both. */
const MODULE_PATH = fileURLToPath(new URL("../../../build/kernels.wasm", import.meta.url));

let compiled: CompiledModule | undefined;
const instances = new WeakMap<Memory, NativeExports>();

/** Loads (once) the compiled kernels; throws saying how to build them when they are missing. */
export function nativeModule(): CompiledModule {
  compiled ??= loadNativeModule(MODULE_PATH);
  return compiled;
}

/** Compiles the kernels at `path`. */
export function loadNativeModule(path: string): CompiledModule {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(
      `distill's wasm training kernels are not built (${path} is missing): run \`bash scripts/build-kernels.sh\` (needs clang and lld: apt-get install clang lld)`,
    );
  }
  return new WebAssemblyApi.Module(bytes);
}

interface WasmInternals {
  wasm: { asm: { memory: Memory } };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
}

function exportsFor(backend: WasmBackend): NativeExports {
  const memory = (backend as unknown as WasmInternals).wasm.asm.memory;
  let e = instances.get(memory);
  if (!e) {
    e = new WebAssemblyApi.Instance(nativeModule(), { env: { memory } }).exports as unknown as NativeExports;
    instances.set(memory, e);
  }
  return e;
}

/** Byte offset of a tensor's data in the backend's memory. */
function offset(backend: WasmBackend, t: tf.TensorInfo): number {
  const d = (backend as unknown as WasmInternals).dataIdMap.get(t.dataId);
  if (!d) throw new Error("wasm kernel: a tensor's data is not on the wasm backend");
  return d.memoryOffset;
}

/** The operands of a filter gradient, in the kernel's terms. */
export interface FilterGradShape {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly f: number;
  readonly fh: number;
  readonly fw: number;
  readonly sh: number;
  readonly sw: number;
  /** Rows (columns) of zeros before x: output position 0 reads x from row -pt (column -pl). */
  readonly pt: number;
  readonly pl: number;
}

/** Bytes of operands per reduction block that should stay in a core's cache. */
const BLOCK_BYTES = 256 * 1024;

const padded = (q: number) => Math.ceil(q / 4) * 4;

/**
 * dW [fh, fw, c, f] of x [n, h, w, c] and dy [n, oh, ow, f] (see native/gradients.c). The
 * vector operand is whichever wastes fewer SIMD lanes on padding, the wider one on a tie.
 * `outShape` may name another shape of the same size for the result.
 */
export function filterGradient(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  s: FilterGradShape,
  outShape: readonly number[] = [s.fh, s.fw, s.c, s.f],
): tf.TensorInfo {
  const hb: HeapBackend = heap(backend);
  const waste = (q: number) => padded(q) / q;
  const vecX = waste(s.c) < waste(s.f) || (waste(s.c) === waste(s.f) && s.c > s.f);
  const [pn, qn] = vecX ? [s.f, s.c] : [s.c, s.f];
  const vImage = vecX ? s.h * s.w : s.oh * s.ow;
  const perImage = 4 * (s.h * s.w * s.c + s.oh * s.ow * s.f);
  const block = Math.max(1, Math.min(s.n, Math.floor(BLOCK_BYTES / perImage)));
  // The packed copy of the vector operand is only made when its channels need padding.
  const packFloats = qn === padded(qn) ? 0 : block * vImage * padded(qn);
  const scratchFloats = s.fh * s.fw * pn * padded(qn) + packFloats;
  const out = hb.makeOutput([...outShape], "float32");
  const scratch = hb.makeOutput([scratchFloats], "float32");
  try {
    exportsFor(backend).conv2d_filter_grad(
      offset(backend, x),
      offset(backend, dy),
      offset(backend, out),
      offset(backend, scratch),
      s.n,
      s.h,
      s.w,
      s.c,
      s.oh,
      s.ow,
      s.f,
      s.fh,
      s.fw,
      s.sh,
      s.sw,
      s.pt,
      s.pl,
      vecX ? 1 : 0,
      block,
    );
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

/**
 * a^T b for a [K, M] and b [K, N] (a dense layer's weight gradient x^T dy) as the 1x1 filter
 * gradient of K / w images of w positions. The result has shape `outShape` ([M, N] or [1, M, N]).
 */
export function transposedProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  k: number,
  m: number,
  n: number,
  outShape: readonly number[],
): tf.TensorInfo {
  // The sum over K is the same over n images of w positions (K = n w): splitting K into images
  // lets the kernel block the reduction so that each block of a and b stays in cache.
  // w: the largest divisor of K whose image fits a quarter block; K itself when that image
  // would be tiny (K prime, say), which leaves one image and no blocking.
  const fit = Math.floor(BLOCK_BYTES / 4 / (4 * (m + n)));
  let w = 1;
  for (let d = 1; d <= Math.min(k, fit); d++) if (k % d === 0) w = d;
  if (4 * w * (m + n) < 4096) w = k;
  const one = { h: 1, oh: 1, fh: 1, fw: 1, sh: 1, sw: 1, pt: 0, pl: 0 };
  return filterGradient(backend, a, b, { ...one, n: k / w, w, ow: w, c: m, f: n }, outShape);
}

/** A quantizer's grid in the terms of native/quantize.c. */
export interface QuantizeAttrs {
  /** 2^frac and 2^-frac. */
  readonly scale: number;
  readonly inv: number;
  /** Mantissa range. */
  readonly lo: number;
  readonly hi: number;
  readonly relu: boolean;
}

/** The quantized values of x and the straight-through mask (1 where the gradient passes). */
export function quantizeSte(
  backend: WasmBackend,
  x: tf.TensorInfo,
  a: QuantizeAttrs,
): [tf.TensorInfo, tf.TensorInfo] {
  const hb: HeapBackend = heap(backend);
  const y = hb.makeOutput([...x.shape], "float32");
  const mask = hb.makeOutput([...x.shape], "float32");
  const n = x.shape.reduce((p, d) => p * d, 1);
  exportsFor(backend).quantize_ste(
    offset(backend, x),
    offset(backend, y),
    offset(backend, mask),
    n,
    a.scale,
    a.inv,
    a.lo,
    a.hi,
    a.relu ? 1 : 0,
  );
  return [y, mask];
}
