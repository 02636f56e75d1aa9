import { z } from "zod";
import { type FixedType, FixedTypeError, parseFixedType } from "../fixed/index.js";
import { type QuantizerSpec, quantizerGrid, quantizerName } from "../nn/quant/grid.js";
import { ConfigError, readJsonConfig } from "./load.js";
import { trainingSchema } from "./teacher.js";

/**
 * A quantized student (QKeras-like layers, channels-last), what it trains on and how.
 * `configs/student-v1.json` and `configs/student-v2.json` are CICADA's v1 and v2.
 */
const bits = z.number().int().min(2).max(24);
const integer = z.number().int().min(-24).max(24);
const zeroOne = z.union([z.literal(0), z.literal(1)]);

const quantizedBits = z.strictObject({
  quantizer: z.literal("quantized_bits"),
  bits,
  integer,
  symmetric: zeroOne.default(0),
  keepNegative: zeroOne.default(1),
  /**
   * 1, or "auto_po2" for weights: a power-of-two scale per output channel (QKeras; implies
   * symmetric). Other values are read so that they get a clear refusal.
   */
  alpha: z.union([z.number(), z.string()]).default(1),
});
const quantizedRelu = z.strictObject({ quantizer: z.literal("quantized_relu"), bits, integer });
const quantizer = z.discriminatedUnion("quantizer", [quantizedBits, quantizedRelu]);
export type QuantizerConfig = z.infer<typeof quantizer>;

const pair = z.tuple([z.number().int().positive(), z.number().int().positive()]);

const layer = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("qdense"),
    units: z.number().int().positive(),
    useBias: z.boolean().default(true),
    kernelQuantizer: quantizedBits,
    biasQuantizer: quantizedBits.optional(),
  }),
  /** Dense with batch normalisation folded into its kernel and bias (QKeras QDenseBatchnorm). */
  z.strictObject({
    type: z.literal("qdense_batchnorm"),
    units: z.number().int().positive(),
    kernelQuantizer: quantizedBits,
    biasQuantizer: quantizedBits,
    epsilon: z.number().positive().default(1e-3),
  }),
  z.strictObject({
    type: z.literal("qconv2d"),
    filters: z.number().int().positive(),
    kernel: pair,
    strides: pair.default([1, 1]),
    padding: z.enum(["valid", "same"]).default("valid"),
    useBias: z.boolean().default(true),
    kernelQuantizer: quantizedBits,
    biasQuantizer: quantizedBits.optional(),
    /**
     * Filters that start from given weights instead of random ones, e.g. an energy map or a
     * lone-deposit detector. `kernel` lists the kernel's kh x kw x channels values in that
     * order (row-major); every value must be one the kernel quantizer can hold, so the start
     * is exact. With `trainable: false` (the default) training leaves the filter as it is.
     */
    initialFilters: z
      .array(
        z.strictObject({
          filter: z.number().int().nonnegative(),
          kernel: z.array(z.number()),
          bias: z.number().default(0),
          trainable: z.boolean().default(false),
        }),
      )
      .optional(),
  }),
  z.strictObject({ type: z.literal("qactivation"), activation: quantizer }),
  z.strictObject({ type: z.literal("avgpool2d"), pool: pair }),
  z.strictObject({ type: z.literal("flatten") }),
  z.strictObject({ type: z.literal("reshape"), shape: z.array(z.number().int().positive()).min(1).max(3) }),
]);
export type StudentLayer = z.infer<typeof layer>;

export const studentSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "a name of letters, digits, _ . -"),
  input: z
    .strictObject({
      /** Shape of one event as the first layer sees it (the 252 counts, row-major phi x eta). */
      shape: z.array(z.number().int().positive()).min(1).max(3).default([252]),
      /** Fixed-point type of the input mantissas: the raw counts are ap_ufixed<10,10>. */
      type: z.string().default("ap_ufixed<10,10>"),
    })
    .prefault({}),
  layers: z.array(layer).min(1),
  training: trainingSchema,
  loss: z.enum(["mae", "mse"]).default("mae"),
  /** Magnitude pruning of the kernels with a polynomial (cubic by default) sparsity schedule. */
  pruning: z
    .strictObject({
      sparsity: z.number().min(0).lt(1),
      startEpoch: z.number().int().min(0),
      endEpoch: z.number().int().min(1),
      power: z.number().positive().default(3),
      /** Indices of the layers whose kernels are pruned; default every qdense, qdense_batchnorm and qconv2d. */
      layers: z.array(z.number().int().min(0)).min(1).optional(),
    })
    .optional(),
});
export type StudentConfig = z.infer<typeof studentSchema>;

/** Per layer: output shape and, when its output is quantized, the type of its values. */
export interface StudentShape {
  readonly shape: readonly number[];
  readonly quantized: boolean;
}

const N_COUNTS = 252;

export function toQuantizerSpec(q: QuantizerConfig): QuantizerSpec {
  return q.quantizer === "quantized_relu"
    ? { quantizer: "quantized_relu", bits: q.bits, integer: q.integer }
    : {
        quantizer: "quantized_bits",
        bits: q.bits,
        integer: q.integer,
        symmetric: q.alpha === "auto_po2" ? 1 : q.symmetric,
        keepNegative: q.keepNegative,
        ...(q.alpha === "auto_po2" ? { alpha: "auto_po2" as const } : {}),
      };
}

function checkQuantizer(q: QuantizerConfig, where: string, weights: boolean): void {
  if (q.quantizer === "quantized_bits") {
    if (q.alpha === "auto_po2" && !weights) {
      throw new ConfigError(
        `${where}.alpha: found "auto_po2", expected 1 (per-channel power-of-two scales are for kernels and biases; an activation's scale would depend on the events)`,
      );
    }
    if (q.alpha === "auto_po2" && q.keepNegative !== 1) {
      throw new ConfigError(
        `${where}.keepNegative: found ${q.keepNegative}, expected 1 ("auto_po2" quantizes symmetrically around zero)`,
      );
    }
    if (q.alpha !== 1 && q.alpha !== "auto_po2") {
      throw new ConfigError(
        `${where}.alpha: found ${JSON.stringify(q.alpha)}, expected 1 or "auto_po2" (only power-of-two scales keep the deployed weights fixed-point numbers)`,
      );
    }
    const room = q.bits - q.keepNegative;
    if (q.integer > room) {
      throw new ConfigError(
        `${where}.integer: found ${q.integer}, expected at most ${room} (bits ${q.bits}${q.keepNegative ? " minus the sign bit" : ""})`,
      );
    }
  } else if (q.integer > q.bits) {
    throw new ConfigError(`${where}.integer: found ${q.integer}, expected at most bits (${q.bits})`);
  }
}

function checkInitialFilters(l: StudentLayer & { type: "qconv2d" }, channels: number, path: string): void {
  const filters = l.initialFilters;
  if (!filters) return;
  if (l.kernelQuantizer.alpha !== 1) {
    throw new ConfigError(
      `${path}.initialFilters: found with kernelQuantizer.alpha ${JSON.stringify(l.kernelQuantizer.alpha)}, expected alpha 1 (a per-channel scale would change the given weights)`,
    );
  }
  const taps = l.kernel[0] * l.kernel[1] * channels;
  const seen = new Set<number>();
  // Given values must be on the quantizer's grid, so the start is exact.
  const onGrid = (v: number, q: QuantizerConfig, where: string) => {
    const spec = toQuantizerSpec(q);
    const g = quantizerGrid(spec);
    const m = v * 2 ** g.frac;
    if (!Number.isInteger(m) || m < g.lo || m > g.hi) {
      const step = 2 ** -g.frac;
      throw new ConfigError(
        `${where}: found ${v}, expected a multiple of ${step} from ${g.lo * step} to ${g.hi * step} (what ${quantizerName(spec)} holds exactly)`,
      );
    }
  };
  filters.forEach((f, k) => {
    const at = `${path}.initialFilters[${k}]`;
    if (f.filter >= l.filters) {
      throw new ConfigError(
        `${at}.filter: found ${f.filter}, expected 0 to ${l.filters - 1} (filters is ${l.filters})`,
      );
    }
    if (seen.has(f.filter))
      throw new ConfigError(`${at}.filter: found ${f.filter} again, expected each filter once`);
    seen.add(f.filter);
    if (f.kernel.length !== taps) {
      throw new ConfigError(
        `${at}.kernel: found ${f.kernel.length} values, expected ${taps} (kernel ${l.kernel[0]} x ${l.kernel[1]} x ${channels} channels)`,
      );
    }
    f.kernel.forEach((v, j) => {
      onGrid(v, l.kernelQuantizer, `${at}.kernel[${j}]`);
    });
    if (f.bias !== 0) {
      if (!l.useBias || !l.biasQuantizer) {
        throw new ConfigError(`${at}.bias: found ${f.bias}, expected 0 (the layer has no bias)`);
      }
      if (l.biasQuantizer.alpha !== 1) {
        throw new ConfigError(
          `${at}.bias: found ${f.bias} with biasQuantizer.alpha ${JSON.stringify(l.biasQuantizer.alpha)}, expected alpha 1`,
        );
      }
      onGrid(f.bias, l.biasQuantizer, `${at}.bias`);
    }
  });
}

/** Checks everything the schema cannot: shapes, quantizer ranges, where quantization happens. */
export function studentShapes(config: StudentConfig, file: string): StudentShape[] {
  let inputType: FixedType;
  try {
    inputType = parseFixedType(config.input.type);
  } catch (e) {
    if (e instanceof FixedTypeError) throw new ConfigError(`${file}: input.type: ${e.message}`);
    throw e;
  }
  const inSize = config.input.shape.reduce((a, b) => a * b, 1);
  if (inSize !== N_COUNTS) {
    throw new ConfigError(
      `${file}: input.shape: found [${config.input.shape}] (${inSize} values), expected ${N_COUNTS} values (one event)`,
    );
  }
  if (inputType.width > 24) {
    throw new ConfigError(`${file}: input.type: found ${config.input.type}, expected at most 24 bits`);
  }
  let shape: number[] = [...config.input.shape];
  let quantized = true;
  let lastLinear = -1;
  const out: StudentShape[] = [];
  config.layers.forEach((l, i) => {
    const where = `${file}: layers[${i}] (${l.type})`;
    const path = `${file}: layers[${i}]`;
    const image = () => {
      if (shape.length !== 3) {
        throw new ConfigError(
          `${where}: found an input of shape [${shape}], expected an image [h, w, c] (add a reshape)`,
        );
      }
      return shape as [number, number, number];
    };
    const needQuantized = () => {
      if (!quantized) {
        throw new ConfigError(
          `${where}: its input (the output of layers[${lastLinear}]) is not quantized, expected a qactivation before it`,
        );
      }
    };
    switch (l.type) {
      case "qdense":
      case "qdense_batchnorm":
        needQuantized();
        if (shape.length !== 1) {
          throw new ConfigError(
            `${where}: found an input of shape [${shape}], expected a flat vector (add a flatten)`,
          );
        }
        checkQuantizer(l.kernelQuantizer, `${path}.kernelQuantizer`, true);
        if (l.biasQuantizer) checkQuantizer(l.biasQuantizer, `${path}.biasQuantizer`, true);
        if (l.type === "qdense" && l.useBias && !l.biasQuantizer) {
          throw new ConfigError(
            `${path}.biasQuantizer: found nothing, expected a quantizer (useBias is true)`,
          );
        }
        shape = [l.units];
        quantized = false;
        lastLinear = i;
        break;
      case "qconv2d": {
        needQuantized();
        const [h, w] = image();
        checkQuantizer(l.kernelQuantizer, `${path}.kernelQuantizer`, true);
        if (l.biasQuantizer) checkQuantizer(l.biasQuantizer, `${path}.biasQuantizer`, true);
        if (l.useBias && !l.biasQuantizer) {
          throw new ConfigError(
            `${path}.biasQuantizer: found nothing, expected a quantizer (useBias is true)`,
          );
        }
        checkInitialFilters(l, shape[2], path);
        const o = (n: number, k: number, s: number) =>
          l.padding === "same" ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
        shape = [o(h, l.kernel[0], l.strides[0]), o(w, l.kernel[1], l.strides[1]), l.filters];
        quantized = false;
        lastLinear = i;
        break;
      }
      case "qactivation":
        checkQuantizer(l.activation, `${path}.activation`, false);
        if (l.activation.quantizer === "quantized_bits" && l.activation.symmetric) {
          // The model IR saturates symmetrically only on overflow, while QKeras also maps a
          // rounded -2^(bits-1) to -(2^(bits-1) - 1); weights are fine (their integers are stored).
          throw new ConfigError(
            `${path}.activation.symmetric: found 1, expected 0 (a symmetric activation quantizer has no exact model IR cast)`,
          );
        }
        quantized = true;
        break;
      case "avgpool2d": {
        needQuantized();
        const [h, w, c] = image();
        const area = l.pool[0] * l.pool[1];
        if ((area & (area - 1)) !== 0) {
          throw new ConfigError(
            `${path}.pool: found [${l.pool}] (area ${area}), expected a power-of-two area so that the mean is exact`,
          );
        }
        shape = [Math.floor(h / l.pool[0]), Math.floor(w / l.pool[1]), c];
        break;
      }
      case "flatten":
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case "reshape": {
        const n = shape.reduce((a, b) => a * b, 1);
        const m = l.shape.reduce((a, b) => a * b, 1);
        if (n !== m) {
          throw new ConfigError(
            `${path}.shape: found [${l.shape}] (${m} values), expected ${n} values to reshape [${shape}]`,
          );
        }
        shape = [...l.shape];
        break;
      }
    }
    if (shape.some((d) => d < 1)) throw new ConfigError(`${where}: the output shape [${shape}] is empty`);
    out.push({ shape, quantized });
  });
  const last = out[out.length - 1];
  if (!last.quantized) {
    throw new ConfigError(
      `${file}: layers[${config.layers.length - 1}]: the output is not quantized, expected a final qactivation`,
    );
  }
  if (last.shape.reduce((a, b) => a * b, 1) !== 1) {
    throw new ConfigError(
      `${file}: layers: the last layer gives [${last.shape}], expected one value (the student regresses one score)`,
    );
  }
  if (config.pruning && config.pruning.endEpoch <= config.pruning.startEpoch) {
    throw new ConfigError(
      `${file}: pruning.endEpoch: found ${config.pruning.endEpoch}, expected more than startEpoch (${config.pruning.startEpoch})`,
    );
  }
  config.pruning?.layers?.forEach((i, k) => {
    const type = config.layers[i]?.type;
    if (type !== "qdense" && type !== "qdense_batchnorm" && type !== "qconv2d") {
      throw new ConfigError(
        `${file}: pruning.layers[${k}]: found ${i} (${type ?? `there are ${config.layers.length} layers`}), expected the index of a qdense, qdense_batchnorm or qconv2d layer`,
      );
    }
  });
  return out;
}

export function checkStudentConfig(config: StudentConfig, file: string): void {
  studentShapes(config, file);
}

/** Reads and checks a student config: schema, shapes, quantizers. */
export function loadStudentConfig(file: string): StudentConfig {
  const config = readJsonConfig(file, studentSchema);
  checkStudentConfig(config, file);
  return config;
}
