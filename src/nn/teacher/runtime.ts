import * as tf from "@tensorflow/tfjs-core";
import { TEACHER_INPUT_SHAPE, type TeacherConfig } from "../../config/teacher.js";
import { N_REGIONS } from "../../data/geometry.js";
import { flattenInto, getParams, paramCount, setParams } from "../params.js";
import type { Runtime } from "../train/runtime.js";
import { buildTeacher } from "./model.js";

/** The model's input for a batch of counts: counts x scale, shaped [n, 18, 14, 1]. */
export function scaledInput(x: Uint16Array, count: number, scale: number): tf.Tensor4D {
  const f = new Float32Array(count * N_REGIONS);
  for (let i = 0; i < f.length; i++) f[i] = x[i] * scale;
  return tf.tensor4d(f, [count, ...TEACHER_INPUT_SHAPE]);
}

/**
 * The teacher on this thread's backend. Training loss: mean squared error between the
 * reconstruction and the scaled input (the autoencoder's own units).
 */
export function teacherRuntime(config: TeacherConfig, seed: number): Runtime {
  const model = buildTeacher(config, seed);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const scale = config.input.scale;
  return {
    paramCount: paramCount(model),
    initialParams: () => getParams(model),
    setParams: (p) => setParams(model, p),
    gradients(batch, grads) {
      const x = scaledInput(batch.x, batch.count, scale);
      const { value, grads: g } = tf.variableGrads(
        () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        variables,
      );
      flattenInto(
        variables.map((v) => g[v.name]),
        grads,
      );
      const loss = value.dataSync()[0];
      tf.dispose([x, value, g]);
      return loss;
    },
    losses(batch) {
      return tf.tidy(() => {
        const x = scaledInput(batch.x, batch.count, scale);
        const y = model.apply(x) as tf.Tensor;
        return tf.mean(tf.squaredDifference(y, x), [1, 2, 3]).dataSync() as Float32Array;
      });
    },
    dispose: () => model.dispose(),
  };
}
