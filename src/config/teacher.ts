import { z } from "zod";
import { FixedTypeError, parseFixedType } from "../fixed/index.js";
import { ConfigError, readJsonConfig } from "./load.js";

/**
 * The teacher autoencoder: its layers (channels-last, Keras semantics), input normalisation,
 * training settings and the distillation-target cast. `configs/cae.json` is CICADA's teacher.
 */
const pair = z.tuple([z.number().int().positive(), z.number().int().positive()]);
const activation = z.enum(["relu", "linear", "sigmoid", "tanh"]);

const layer = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("conv2d"),
    filters: z.number().int().positive(),
    kernel: pair,
    strides: pair.default([1, 1]),
    padding: z.enum(["same", "valid"]).default("same"),
    activation: activation.default("linear"),
    useBias: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal("avgpool2d"), pool: pair }),
  z.strictObject({ type: z.literal("maxpool2d"), pool: pair }),
  z.strictObject({ type: z.literal("upsample2d"), size: pair }),
  z.strictObject({ type: z.literal("flatten") }),
  z.strictObject({
    type: z.literal("dense"),
    units: z.number().int().positive(),
    activation: activation.default("linear"),
    useBias: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal("reshape"), shape: z.array(z.number().int().positive()).min(1).max(3) }),
  z.strictObject({ type: z.literal("activation"), activation }),
]);
export type TeacherLayer = z.infer<typeof layer>;

const lrSchedule = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("constant") }),
  /** learning rate x `decay` after every epoch. */
  z.strictObject({ type: z.literal("exponential"), decay: z.number().positive().max(1) }),
  /** learning rate x `factor` when the validation loss has not improved for `patience` epochs. */
  z.strictObject({
    type: z.literal("plateau"),
    factor: z.number().positive().lt(1),
    patience: z.number().int().min(1),
    minLearningRate: z.number().nonnegative().default(0),
  }),
]);
export type LrSchedule = z.infer<typeof lrSchedule>;

export const trainingSchema = z.strictObject({
  optimizer: z
    .strictObject({
      type: z.enum(["adam", "sgd"]).default("adam"),
      learningRate: z.number().positive(),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: z.number().positive().default(1e-7),
    })
    .prefault({ learningRate: 1e-3 }),
  batchSize: z.number().int().positive(),
  epochs: z.number().int().positive(),
  /** Fraction of the events held out for validation (chosen per event by a seeded hash). */
  validationFraction: z.number().gt(0).lt(1),
  earlyStopping: z
    .strictObject({
      patience: z.number().int().min(1),
      minDelta: z.number().nonnegative().default(0),
      restoreBest: z.boolean().default(true),
    })
    .optional(),
  lrSchedule: lrSchedule.prefault({ type: "constant" }),
});
export type TrainingConfig = z.infer<typeof trainingSchema>;

export const teacherSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "a name of letters, digits, _ . -"),
  input: z.strictObject({
    /** The model sees `counts * scale`; its output divided by `scale` is the reconstruction in counts. */
    scale: z.number().positive(),
  }),
  layers: z.array(layer).min(1),
  training: trainingSchema,
  target: z.strictObject({
    /** The cast of ln(MSE) * 32 that the student regresses (MSE in model units, (counts x scale)^2). */
    type: z.string(),
  }),
});
export type TeacherConfig = z.infer<typeof teacherSchema>;

export const TEACHER_INPUT_SHAPE = [18, 14, 1] as const;

/** Output shape of each layer, or the first layer whose shape does not follow. */
export function teacherShapes(config: TeacherConfig, file: string): number[][] {
  let shape: number[] = [...TEACHER_INPUT_SHAPE];
  const shapes: number[][] = [];
  config.layers.forEach((l, i) => {
    const where = `${file}: layers[${i}] (${l.type})`;
    const image = () => {
      if (shape.length !== 3) {
        throw new ConfigError(
          `${where}: found an input of shape [${shape}], expected an image [h, w, c] (add a reshape)`,
        );
      }
      return shape as [number, number, number];
    };
    switch (l.type) {
      case "conv2d": {
        const [h, w] = image();
        const out = (n: number, k: number, s: number) =>
          l.padding === "same" ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
        shape = [out(h, l.kernel[0], l.strides[0]), out(w, l.kernel[1], l.strides[1]), l.filters];
        break;
      }
      case "avgpool2d":
      case "maxpool2d": {
        const [h, w, c] = image();
        shape = [Math.floor(h / l.pool[0]), Math.floor(w / l.pool[1]), c];
        break;
      }
      case "upsample2d": {
        const [h, w, c] = image();
        shape = [h * l.size[0], w * l.size[1], c];
        break;
      }
      case "flatten":
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case "dense":
        if (shape.length !== 1) {
          throw new ConfigError(
            `${where}: found an input of shape [${shape}], expected a flat vector (add a flatten)`,
          );
        }
        shape = [l.units];
        break;
      case "reshape": {
        const n = shape.reduce((a, b) => a * b, 1);
        const m = l.shape.reduce((a, b) => a * b, 1);
        if (n !== m) {
          throw new ConfigError(
            `${where}: found ${n} elements in [${shape}], expected ${m} to reshape to [${l.shape}]`,
          );
        }
        shape = [...l.shape];
        break;
      }
      case "activation":
        break;
    }
    if (shape.some((d) => d < 1)) throw new ConfigError(`${where}: the output shape [${shape}] is empty`);
    shapes.push(shape);
  });
  const out = shapes[shapes.length - 1];
  if (out.join() !== TEACHER_INPUT_SHAPE.join()) {
    throw new ConfigError(
      `${file}: layers: the last layer gives [${out}], expected the input shape [${TEACHER_INPUT_SHAPE}] (an autoencoder reconstructs its input)`,
    );
  }
  return shapes;
}

/** Reads and checks a teacher config: schema, layer shapes, target type. */
export function loadTeacherConfig(file: string): TeacherConfig {
  const config = readJsonConfig(file, teacherSchema);
  checkTeacherConfig(config, file);
  return config;
}

export function checkTeacherConfig(config: TeacherConfig, file: string): void {
  teacherShapes(config, file);
  try {
    parseFixedType(config.target.type);
  } catch (e) {
    if (e instanceof FixedTypeError) throw new ConfigError(`${file}: target.type: ${e.message}`);
    throw e;
  }
}
