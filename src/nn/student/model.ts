import * as tf from "@tensorflow/tfjs-core";
import {
  type StudentConfig,
  type StudentLayer,
  studentShapes,
  toQuantizerSpec,
} from "../../config/student.js";
import { type FixedType, frac, parseFixedType } from "../../fixed/index.js";
import { rng } from "../../util/rng.js";
import { tfQuantizer } from "../quant/quantizers.js";
import type { EventStream } from "../train/data.js";

/**
 * The student as a small functional model on tfjs-core: a flat list of parameter tensors
 * (kernels, biases, batch-norm gamma/beta) and one forward function. The same forward serves
 * quantization-aware training (quantizers on), float training for PTQ (quantizers off) and
 * inference with frozen batch-norm statistics (what is exported).
 */
export interface ParamSpec {
  readonly layer: number;
  readonly role: "kernel" | "bias" | "gamma" | "beta";
  readonly shape: readonly number[];
}

export interface StudentModel {
  readonly config: StudentConfig;
  readonly shapes: readonly (readonly number[])[];
  readonly inputType: FixedType;
  readonly params: readonly ParamSpec[];
  readonly paramCount: number;
}

/** Population statistics of each qdense_batchnorm layer's pre-normalisation output, by layer index. */
export type BatchNormStats = Readonly<
  Record<number, { readonly mean: readonly number[]; readonly variance: readonly number[] }>
>;

export function studentModel(config: StudentConfig, file = "student config"): StudentModel {
  const shapes = studentShapes(config, file).map((s) => s.shape);
  const params: ParamSpec[] = [];
  let inShape: readonly number[] = config.input.shape;
  config.layers.forEach((l, i) => {
    if (l.type === "qdense" || l.type === "qdense_batchnorm") {
      params.push({ layer: i, role: "kernel", shape: [inShape[0], l.units] });
      if (l.type === "qdense_batchnorm" || l.useBias)
        params.push({ layer: i, role: "bias", shape: [l.units] });
      if (l.type === "qdense_batchnorm") {
        params.push({ layer: i, role: "gamma", shape: [l.units] });
        params.push({ layer: i, role: "beta", shape: [l.units] });
      }
    } else if (l.type === "qconv2d") {
      params.push({ layer: i, role: "kernel", shape: [l.kernel[0], l.kernel[1], inShape[2], l.filters] });
      if (l.useBias) params.push({ layer: i, role: "bias", shape: [l.filters] });
    }
    inShape = shapes[i];
  });
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return {
    config,
    shapes,
    inputType: parseFixedType(config.input.type),
    params,
    paramCount: params.reduce((n, p) => n + size(p.shape), 0),
  };
}

/**
 * Seeded Keras-default initial parameters, drawn in JavaScript so that every backend and every
 * worker starts from the same numbers: Glorot-uniform kernels, zero biases and betas, unit gammas.
 */
export function initialStudentParams(m: StudentModel, seed: number): Float32Array {
  const out = new Float32Array(m.paramCount);
  const random = rng(seed ^ 0x57d);
  let at = 0;
  for (const p of m.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.role === "kernel") {
      const receptive = p.shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = p.shape[p.shape.length - 2] * receptive;
      const fanOut = p.shape[p.shape.length - 1] * receptive;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[at + i] = (2 * random.next() - 1) * limit;
    } else if (p.role === "gamma") {
      out.fill(1, at, at + n);
    }
    at += n;
  }
  // Given filters replace the drawn ones after every draw, so other weights do not move.
  for (const g of givenFilterParams(m)) out[g.index] = g.value;
  return out;
}

/**
 * The parameters of a convolution's `initialFilters`: flat index, value and whether training
 * may change it. The kernel is stored [kh, kw, channels, filters], so a filter's values sit
 * `filters` apart.
 */
export function givenFilterParams(m: StudentModel): { index: number; value: number; trainable: boolean }[] {
  const out: { index: number; value: number; trainable: boolean }[] = [];
  let at = 0;
  for (const p of m.params) {
    const l = m.config.layers[p.layer];
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (l.type === "qconv2d" && l.initialFilters) {
      for (const f of l.initialFilters) {
        if (p.role === "kernel") {
          f.kernel.forEach((v, j) => {
            out.push({ index: at + j * l.filters + f.filter, value: v, trainable: f.trainable });
          });
        } else if (p.role === "bias") {
          out.push({ index: at + f.filter, value: f.bias, trainable: f.trainable });
        }
      }
    }
    at += n;
  }
  return out;
}

/**
 * The training loop's `afterUpdate` hook that puts the non-trainable given filters back to
 * their values after every update (the optimizer moves every parameter), or undefined when
 * there are none.
 */
export function frozenFilterHook(m: StudentModel): ((params: Float32Array) => void) | undefined {
  const frozen = givenFilterParams(m).filter((g) => !g.trainable);
  if (frozen.length === 0) return undefined;
  const index = Int32Array.from(frozen, (g) => g.index);
  const value = Float32Array.from(frozen, (g) => g.value);
  return (params) => {
    for (let i = 0; i < index.length; i++) params[index[i]] = value[i];
  };
}

/**
 * A student whose last layer is a quantized_relu learns nothing from a start where its output is
 * at or below zero for every event: the relu passes no gradient there, and no weight ever moves.
 * When that is so for `counts` (n events), this changes the sign of the last linear layer's
 * initial kernel (and bias) in `params`. The layer's inputs are activations, so the output turns
 * positive wherever one of them is non-zero. Returns that layer's index when it flipped the
 * signs and the output came alive, else undefined (a live start, or one that flipping cannot
 * revive, is left as it was).
 */
export function reviveDeadStart(
  m: StudentModel,
  params: Float32Array,
  counts: Uint16Array,
  n: number,
  quantize: boolean,
): number | undefined {
  const layers = m.config.layers;
  const last = layers[layers.length - 1];
  if (last.type !== "qactivation" || last.activation.quantizer !== "quantized_relu") return undefined;
  const alive = () =>
    tf.tidy(() => {
      const out = forward(m, paramTensors(m, params), studentInput(m, counts, n), { quantize, bn: "batch" });
      return tf.max(out).dataSync()[0] > 0;
    });
  if (alive()) return undefined;
  const layer = Math.max(...m.params.filter((p) => p.role === "kernel").map((p) => p.layer));
  const flip = () => {
    let at = 0;
    for (const p of m.params) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (p.layer === layer && (p.role === "kernel" || p.role === "bias")) {
        for (let i = at; i < at + size; i++) params[i] = -params[i];
      }
      at += size;
    }
  };
  flip();
  if (alive()) return layer;
  flip();
  return undefined;
}

/** Splits a flat parameter array into tensors in `m.params` order. */
export function paramTensors(m: StudentModel, flat: Float32Array): tf.Tensor[] {
  let at = 0;
  return m.params.map((p) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(flat.subarray(at, at + n), [...p.shape], "float32");
    at += n;
    return t;
  });
}

export interface ForwardOptions {
  /** Quantizers applied (QAT and quantized inference); off for the float model of PTQ. */
  readonly quantize: boolean;
  /** "batch": normalise with the batch's statistics (training); otherwise frozen statistics. */
  readonly bn: "batch" | BatchNormStats;
}

/** The model's input for counts: mantissas of the input type times 2^-frac, shaped [n, ...shape]. */
export function studentInput(m: StudentModel, counts: Uint16Array | Float32Array, n: number): tf.Tensor {
  const scale = 2 ** -frac(m.inputType);
  // TypedArray.set converts natively; a plain loop over the union type is several times slower.
  const f = new Float32Array(n * 252);
  f.set(counts.subarray(0, f.length));
  if (scale !== 1) for (let i = 0; i < f.length; i++) f[i] *= scale;
  return tf.tensor(f, [n, ...m.config.input.shape]);
}

/** Kernel and bias of a linear layer before their quantizers (batch norm folded in). */
export function effectiveWeights(
  l: StudentLayer,
  index: number,
  vars: Record<string, tf.Tensor>,
  x: tf.Tensor | undefined,
  bn: ForwardOptions["bn"],
  matMul: MatMul = plainMatMul,
): { kernel: tf.Tensor; bias?: tf.Tensor } {
  const kernel = vars.kernel;
  const bias = vars.bias;
  if (l.type !== "qdense_batchnorm") return bias ? { kernel, bias } : { kernel };
  // QKeras QDenseBatchnorm: y = x W' + b' with W' = W g / sqrt(var + eps) and
  // b' = beta + (b - mean) g / sqrt(var + eps), quantized after folding.
  if (bn === "batch") {
    // Training: the batch's statistics of z = x W + b, with gradients through them.
    if (!x) throw new Error("batch statistics need the layer input");
    const z = tf.add(matMul(x as tf.Tensor2D, kernel as tf.Tensor2D), bias) as tf.Tensor2D;
    const [k, b] = foldWithBatchStatistics(z, kernel, bias, vars.gamma, vars.beta, l.epsilon);
    return { kernel: k, bias: b };
  }
  const s = bn[index];
  if (!s) throw new Error(`no batch-norm statistics for layer ${index}`);
  const mean = tf.tensor1d([...s.mean]);
  const variance = tf.tensor1d([...s.variance]);
  const scale = tf.div(vars.gamma, tf.sqrt(tf.add(variance, l.epsilon)));
  return {
    kernel: tf.mul(kernel, scale),
    bias: tf.add(vars.beta, tf.mul(tf.sub(bias, mean), scale)),
  };
}

/**
 * The batch-norm fold with the batch's statistics of z = x W + b [n, u], as one operation with
 * its gradient written out (composed of tfjs ops it takes some forty small kernels a step):
 *
 *   mean, var = moments of z over the batch;  s = gamma / sqrt(var + eps)
 *   W' = W s;  b' = beta + (b - mean) s
 *
 * Given dW', db': ds = sum_k dW'[k] W[k] + db' (b - mean); dW = dW' s; db = db' s;
 * dbeta = db'; dgamma = ds / sqrt(var + eps); and through the statistics
 * dz[i] = (-db' s + dvar 2 (z[i] - mean)) / n with dvar = -ds gamma / (2 (var + eps)^(3/2)).
 * The small arithmetic runs in float64 in JavaScript; outputs are float32 like the rest.
 */
export function foldWithBatchStatistics(
  z: tf.Tensor2D,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor] {
  const fold = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zt, wt, bt, gt, et] = args as tf.Tensor[];
    const [n, u] = zt.shape as [number, number];
    const rows = wt.shape[0] as number;
    const zs = zt.dataSync() as Float32Array;
    const ws = wt.dataSync() as Float32Array;
    const bs = bt.dataSync() as Float32Array;
    const gs = gt.dataSync() as Float32Array;
    const es = et.dataSync() as Float32Array;
    const mean = new Float64Array(u);
    const variance = new Float64Array(u);
    for (let i = 0; i < n; i++) for (let j = 0; j < u; j++) mean[j] += zs[i * u + j];
    for (let j = 0; j < u; j++) mean[j] /= n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < u; j++) {
        const d = zs[i * u + j] - mean[j];
        variance[j] += d * d;
      }
    }
    const root = Float64Array.from(variance, (v) => Math.sqrt(v / n + epsilon));
    const scale = Float64Array.from(root, (r, j) => gs[j] / r);
    // customGrad takes one output: W' [rows, u] with b' as one more row.
    const out = new Float32Array((rows + 1) * u);
    for (let k = 0; k < rows; k++) for (let j = 0; j < u; j++) out[k * u + j] = ws[k * u + j] * scale[j];
    for (let j = 0; j < u; j++) out[rows * u + j] = es[j] + (bs[j] - mean[j]) * scale[j];
    return {
      value: tf.tensor2d(out, [rows + 1, u]),
      gradFunc: (dy: tf.Tensor) => {
        const dOut = dy.dataSync() as Float32Array;
        const dW = dOut.subarray(0, rows * u);
        const db = dOut.subarray(rows * u);
        const ds = new Float64Array(u);
        for (let k = 0; k < rows; k++) for (let j = 0; j < u; j++) ds[j] += dW[k * u + j] * ws[k * u + j];
        for (let j = 0; j < u; j++) ds[j] += db[j] * (bs[j] - mean[j]);
        const gW = new Float32Array(rows * u);
        for (let k = 0; k < rows; k++) for (let j = 0; j < u; j++) gW[k * u + j] = dW[k * u + j] * scale[j];
        const dMean = Float64Array.from(scale, (sj, j) => -db[j] * sj);
        const dVar = Float64Array.from(root, (r, j) => (-ds[j] * gs[j]) / (2 * r * r * r));
        const gz = new Float32Array(n * u);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < u; j++) {
            gz[i * u + j] = (dMean[j] + 2 * dVar[j] * (zs[i * u + j] - mean[j])) / n;
          }
        }
        return [
          tf.tensor(gz, zt.shape),
          tf.tensor(gW, wt.shape),
          tf.tensor(
            Float32Array.from(scale, (sj, j) => db[j] * sj),
            bt.shape,
          ),
          tf.tensor(
            Float32Array.from(ds, (v, j) => v / root[j]),
            gt.shape,
          ),
          tf.tensor(db.slice(), et.shape),
        ];
      },
    };
  });
  const both = fold(z, kernel, bias, gamma, beta) as tf.Tensor2D;
  const rows = kernel.shape[0] as number;
  const u = z.shape[1];
  return [tf.slice(both, [0, 0], [rows, u]), tf.reshape(tf.slice(both, [rows, 0], [1, u]), [u])];
}

type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * x W whose gradient is only taken for W: the model input needs none, and skipping dy W^T
 * saves the largest matMul of a backward pass of the first layer.
 */
const matMulConstantInput: MatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as [tf.Tensor2D, tf.Tensor2D];
  const save = args[2] as tf.GradSaveFunc;
  save([a]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
      tf.zerosLike(saved[0]),
      tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D, true, false),
    ],
  };
}) as unknown as MatMul;
const plainMatMul: MatMul = (a, b) => tf.matMul(a, b);

/** Parameter tensors grouped by layer. */
export function layerVars(m: StudentModel, tensors: readonly tf.Tensor[]): Record<string, tf.Tensor>[] {
  const out: Record<string, tf.Tensor>[] = m.config.layers.map(() => ({}));
  m.params.forEach((p, k) => {
    out[p.layer][p.role] = tensors[k];
  });
  return out;
}

/** The forward pass: [n, ...input shape] values to [n, 1] outputs. Call inside tf.tidy. */
export function forward(m: StudentModel, tensors: readonly tf.Tensor[], input: tf.Tensor, o: ForwardOptions) {
  return tf.reshape(forwardLayers(m, tensors, input, o, m.config.layers.length), [input.shape[0], 1]);
}

/** The output of the first `upTo` layers. */
export function forwardLayers(
  m: StudentModel,
  tensors: readonly tf.Tensor[],
  input: tf.Tensor,
  o: ForwardOptions,
  upTo: number,
): tf.Tensor {
  const vars = layerVars(m, tensors);
  let x = input;
  // Until the first linear layer, x is (a reshape of) the input, which needs no gradient.
  let mm = matMulConstantInput;
  m.config.layers.slice(0, upTo).forEach((l, i) => {
    x = applyLayer(l, i, vars[i], x, o, mm);
    if (l.type === "qdense" || l.type === "qdense_batchnorm" || l.type === "qconv2d") mm = plainMatMul;
  });
  return x;
}

/**
 * One layer of the forward pass on `x` with its variables (kernel, bias, gamma, beta). Also the
 * `call` of the saved TensorFlow.js model's layers (tfjs.ts), so both compute the same numbers.
 */
export function applyLayer(
  l: StudentLayer,
  i: number,
  vars: Record<string, tf.Tensor>,
  x: tf.Tensor,
  o: ForwardOptions,
  mm: MatMul = plainMatMul,
): tf.Tensor {
  const n = x.shape[0];
  switch (l.type) {
    case "qdense":
    case "qdense_batchnorm":
    case "qconv2d": {
      const w = effectiveWeights(l, i, vars, x, o.bn, mm);
      const kernel = o.quantize ? tfQuantizer(toQuantizerSpec(l.kernelQuantizer))(w.kernel) : w.kernel;
      let y =
        l.type === "qconv2d"
          ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, [...l.strides] as [number, number], l.padding)
          : mm(x as tf.Tensor2D, kernel as tf.Tensor2D);
      if (w.bias) {
        const bq = l.biasQuantizer;
        y = tf.add(y, o.quantize && bq ? tfQuantizer(toQuantizerSpec(bq))(w.bias) : w.bias);
      }
      return y;
    }
    case "qactivation":
      return o.quantize
        ? tfQuantizer(toQuantizerSpec(l.activation))(x)
        : l.activation.quantizer === "quantized_relu"
          ? tf.relu(x)
          : x;
    case "avgpool2d":
      return tf.avgPool(x as tf.Tensor4D, l.pool, l.pool, "valid");
    case "flatten":
      return tf.reshape(x, [n, -1]);
    case "reshape":
      return tf.reshape(x, [n, ...l.shape]);
  }
}

/**
 * A 2-D convolution (channels-last, TensorFlow's "same"/"valid" padding) as patches times the
 * kernel: one matMul through `matMul`, which the exact forward (exact.ts) replaces with its
 * digit-split product. Training uses tf.conv2d (whose filter gradient is our wasm kernel).
 */
export function conv2dAsMatMul(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  strides: readonly [number, number],
  padding: "same" | "valid",
  matMul: MatMul = plainMatMul,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [kh, kw, , f] = kernel.shape;
  const [sh, sw] = strides;
  const out = (len: number, k: number, s: number) =>
    padding === "same" ? Math.ceil(len / s) : Math.floor((len - k) / s) + 1;
  const oh = out(h, kh, sh);
  const ow = out(w, kw, sw);
  const before = (len: number, o: number, k: number, s: number) =>
    padding === "same" ? Math.floor(Math.max((o - 1) * s + k - len, 0) / 2) : 0;
  if (padding === "valid" && kh === sh && kw === sw && h % kh === 0 && w % kw === 0) {
    // Non-overlapping taps tile the image: the patches are a reshape and a transpose.
    const blocks = tf.transpose(tf.reshape(x, [n, oh, kh, ow, kw, c]), [0, 1, 3, 2, 4, 5]);
    const y = matMul(
      tf.reshape(blocks, [n * oh * ow, kh * kw * c]) as tf.Tensor2D,
      tf.reshape(kernel, [kh * kw * c, f]) as tf.Tensor2D,
    );
    return tf.reshape(y, [n, oh, ow, f]);
  }
  const top = before(h, oh, kh, sh);
  const left = before(w, ow, kw, sw);
  // Pad so that every tap (dy, dx) can take a window of oh*sh x ow*sw starting at it.
  const bottom = Math.max(0, kh - 1 + oh * sh - top - h);
  const right = Math.max(0, kw - 1 + ow * sw - left - w);
  const padded =
    top + bottom + left + right > 0
      ? tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ])
      : x;
  const taps: tf.Tensor[] = [];
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) {
      const win = tf.slice(padded, [0, dy, dx, 0], [n, oh * sh, ow * sw, c]);
      const strided =
        sh === 1 && sw === 1
          ? win
          : tf.slice(tf.reshape(win, [n, oh, sh, ow, sw, c]), [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]);
      taps.push(tf.reshape(strided, [n * oh * ow, c]));
    }
  }
  const patches = taps.length === 1 ? taps[0] : tf.concat(taps, 1);
  const y = matMul(patches as tf.Tensor2D, tf.reshape(kernel, [kh * kw * c, f]) as tf.Tensor2D);
  return tf.reshape(y, [n, oh, ow, f]);
}

/** Quantized inference with frozen statistics: the float outputs of the training graph. */
export function predict(
  m: StudentModel,
  params: Float32Array,
  bn: BatchNormStats,
  counts: Uint16Array,
  n: number,
): Float32Array {
  return tf.tidy(() => {
    const tensors = paramTensors(m, params);
    return forward(m, tensors, studentInput(m, counts, n), { quantize: true, bn }).dataSync() as Float32Array;
  });
}

/**
 * Population mean and variance of each qdense_batchnorm layer's pre-normalisation output
 * (x W + b) over every event of the stream, with the layers before it in inference mode (and
 * the earlier batch-norm layers already frozen). Accumulated in float64, so batch order does
 * not matter. These frozen statistics are what inference, the exact forward and the export use.
 */
export async function batchNormStatistics(
  m: StudentModel,
  params: Float32Array,
  stream: EventStream,
  quantize = true,
): Promise<BatchNormStats> {
  const stats: Record<number, { mean: number[]; variance: number[] }> = {};
  const bnLayers = m.config.layers.flatMap((l, i) => (l.type === "qdense_batchnorm" ? [i] : []));
  for (const target of bnLayers) {
    const units = (m.config.layers[target] as { units: number }).units;
    const sum = new Float64Array(units);
    const sq = new Float64Array(units);
    let n = 0;
    for await (const chunk of stream.chunks(4096)) {
      const z = tf.tidy(() => {
        const tensors = paramTensors(m, params);
        const vars = layerVars(m, tensors);
        const input = studentInput(m, chunk.et, chunk.count);
        const x = forwardLayers(m, tensors, input, { quantize, bn: stats }, target);
        return tf
          .add(tf.matMul(x as tf.Tensor2D, vars[target].kernel as tf.Tensor2D), vars[target].bias)
          .dataSync();
      });
      for (let e = 0; e < chunk.count; e++) {
        for (let u = 0; u < units; u++) {
          const v = z[e * units + u];
          sum[u] += v;
          sq[u] += v * v;
        }
      }
      n += chunk.count;
    }
    const mean = Array.from(sum, (v) => v / n);
    stats[target] = { mean, variance: Array.from(sq, (v, u) => Math.max(0, v / n - mean[u] ** 2)) };
  }
  return stats;
}
