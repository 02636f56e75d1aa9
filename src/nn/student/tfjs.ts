import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { type StudentLayer, studentSchema } from "../../config/student.js";
import { selectBackend } from "../backend.js";
import { type LoadedModel, loadModel, saveModel } from "../modelfile.js";
import { applyLayer, type BatchNormStats, layerVars, paramTensors, type StudentModel } from "./model.js";

/**
 * A trained student as a TensorFlow.js layers model (`model.json` + `weights.bin`, what
 * `tf.loadLayersModel` reads): the quantized inference graph, frozen batch-norm statistics
 * included. Pooling, flatten and reshape are the standard tfjs layers; each quantized layer
 * (qdense, qdense_batchnorm, qconv2d, qactivation) is a `DistillQuantized` layer that keeps its
 * student config and calls the training graph's own layer function, so the model predicts the
 * same float32 numbers as the training graph in inference mode. Loading needs that class
 * registered: import this module (or `distill`) before `tf.loadLayersModel`.
 */
type WeightRole = "kernel" | "bias" | "gamma" | "beta" | "moving_mean" | "moving_variance";

interface QuantizedLayerArgs {
  readonly spec: StudentLayer;
  /** The layer's index in the student config (the batch-norm statistics are keyed by it). */
  readonly index: number;
  /** Output shape of one event. */
  readonly outShape: readonly number[];
  readonly name?: string;
  readonly inputShape?: number[];
}

export class DistillQuantizedLayer extends tfl.layers.Layer {
  static className = "DistillQuantized";
  readonly spec: StudentLayer;
  readonly index: number;
  readonly outShape: readonly number[];
  private readonly roles: WeightRole[] = [];
  private readonly vars: Partial<Record<WeightRole, tfl.LayerVariable>> = {};

  constructor(args: QuantizedLayerArgs) {
    super(args as unknown as ConstructorParameters<typeof tfl.layers.Layer>[0]);
    this.spec = args.spec;
    this.index = args.index;
    this.outShape = args.outShape;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const l = this.spec;
    const add = (role: WeightRole, s: number[], trainable = true) => {
      this.roles.push(role);
      this.vars[role] = this.addWeight(role, s, "float32", tfl.initializers.zeros(), undefined, trainable);
    };
    if (l.type === "qdense" || l.type === "qdense_batchnorm") {
      add("kernel", [shape[shape.length - 1] as number, l.units]);
      if (l.type === "qdense_batchnorm" || l.useBias) add("bias", [l.units]);
      if (l.type === "qdense_batchnorm") {
        add("gamma", [l.units]);
        add("beta", [l.units]);
        add("moving_mean", [l.units], false);
        add("moving_variance", [l.units], false);
      }
    } else if (l.type === "qconv2d") {
      add("kernel", [l.kernel[0], l.kernel[1], shape[shape.length - 1] as number, l.filters]);
      if (l.useBias) add("bias", [l.filters]);
    }
    this.built = true;
  }

  /** Weight names in the order `setWeights` takes them. */
  get weightRoles(): readonly WeightRole[] {
    return this.roles;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0], ...this.outShape];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const vars: Record<string, tf.Tensor> = {};
      for (const role of ["kernel", "bias", "gamma", "beta"] as const) {
        const v = this.vars[role];
        if (v) vars[role] = v.read();
      }
      const bn: Record<number, { mean: number[]; variance: number[] }> = {};
      if (this.vars.moving_mean && this.vars.moving_variance) {
        bn[this.index] = {
          mean: Array.from(this.vars.moving_mean.read().dataSync()),
          variance: Array.from(this.vars.moving_variance.read().dataSync()),
        };
      }
      return applyLayer(this.spec, this.index, vars, x, { quantize: true, bn });
    });
  }

  /**
   * tfjs camel-cases every string in a saved config ("qdense_batchnorm" comes back as
   * "qdenseBatchnorm"); our specs' strings are lower snake case, so they are restored and the
   * spec is checked against the student schema before the layer is made.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const snake = (v: unknown): unknown =>
      typeof v === "string"
        ? v.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
        : Array.isArray(v)
          ? v.map(snake)
          : v && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, snake(x)]))
            : v;
    const spec = studentSchema.shape.layers.element.parse(snake(config.spec));
    return new cls({ ...config, spec } as unknown as tf.serialization.ConfigDict);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      spec: this.spec as unknown as tf.serialization.ConfigDict,
      index: this.index,
      outShape: [...this.outShape],
    };
  }
}
tf.serialization.registerClass(DistillQuantizedLayer);

/** The student with trained parameters and frozen statistics as a tfjs layers model. */
export function studentLayersModel(
  m: StudentModel,
  params: Float32Array,
  bn: BatchNormStats,
): tfl.LayersModel {
  const model = tfl.sequential({ name: m.config.name });
  const layers: (tfl.layers.Layer | undefined)[] = [];
  m.config.layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape: [...m.config.input.shape] } : {};
    const name = `l${i}_${l.type}`;
    const layer =
      l.type === "avgpool2d"
        ? tfl.layers.averagePooling2d({
            poolSize: [...l.pool],
            strides: [...l.pool],
            padding: "valid",
            name,
            ...first,
          })
        : l.type === "flatten"
          ? tfl.layers.flatten({ name, ...first })
          : l.type === "reshape"
            ? tfl.layers.reshape({ targetShape: [...l.shape], name, ...first })
            : new DistillQuantizedLayer({ spec: l, index: i, outShape: m.shapes[i], name, ...first });
    model.add(layer);
    layers.push(layer);
  });
  tf.tidy(() => {
    const vars = layerVars(m, paramTensors(m, params));
    layers.forEach((layer, i) => {
      if (!(layer instanceof DistillQuantizedLayer) || layer.weightRoles.length === 0) return;
      const s = bn[i];
      const values = layer.weightRoles.map((role) => {
        if (role === "moving_mean" || role === "moving_variance") {
          if (!s) throw new Error(`no batch-norm statistics for layer ${i}`);
          return tf.tensor1d(role === "moving_mean" ? [...s.mean] : [...s.variance]);
        }
        return vars[i][role];
      });
      layer.setWeights(values);
    });
  });
  return model;
}

export async function saveStudentLayersModel(
  dir: string,
  m: StudentModel,
  params: Float32Array,
  bn: BatchNormStats,
  metadata: Record<string, unknown>,
): Promise<void> {
  const model = studentLayersModel(m, params, bn);
  try {
    await saveModel(dir, model, { kind: "student", ...metadata });
  } finally {
    model.dispose();
  }
}

/**
 * Loads a saved student's tfjs model (this module registers its layer class), selecting the
 * best available backend first when none is active.
 */
export async function loadStudentLayersModel(dir: string): Promise<LoadedModel> {
  if (!tf.engine().backendName) await selectBackend();
  return loadModel(dir);
}
