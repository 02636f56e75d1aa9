import * as tf from "@tensorflow/tfjs-core";
import type { StudentConfig } from "../../config/student.js";
import { flattenInto } from "../params.js";
import type { Shard } from "../train/data.js";
import type { Runtime } from "../train/runtime.js";
import { forward, initialStudentParams, type StudentModel, studentInput, studentModel } from "./model.js";

/**
 * The student on this thread's backend. Loss: mean absolute (or squared) error between the
 * output and the per-event target `batch.y`. Batch norm uses the batch's statistics, as in
 * training; `quantize` false trains the float model (PTQ).
 */
export function studentRuntime(config: StudentConfig, seed: number, quantize: boolean): Runtime {
  const m: StudentModel = studentModel(config);
  const vars = m.params.map((p) => tf.variable(tf.zeros([...p.shape]), true));
  const setParams = (flat: Float32Array) => {
    let at = 0;
    m.params.forEach((p, k) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      tf.tidy(() => vars[k].assign(tf.tensor(flat.subarray(at, at + n), [...p.shape])));
      at += n;
    });
  };
  const perEvent = (pred: tf.Tensor, y: tf.Tensor) =>
    config.loss === "mse" ? tf.squaredDifference(pred, y) : tf.abs(tf.sub(pred, y));
  const targets = (batch: Shard) => {
    if (!batch.y) throw new Error("a student batch needs targets");
    return tf.tensor2d(batch.y, [batch.count, 1]);
  };
  return {
    paramCount: m.paramCount,
    initialParams: () => initialStudentParams(m, seed),
    setParams,
    gradients(batch, grads) {
      const { value, grads: g } = tf.tidy(() => {
        const x = studentInput(m, batch.x, batch.count);
        const y = targets(batch);
        return tf.variableGrads(
          () => tf.mean(perEvent(forward(m, vars, x, { quantize, bn: "batch" }), y)) as tf.Scalar,
          vars,
        );
      });
      flattenInto(
        vars.map((v) => g[v.name]),
        grads,
      );
      const loss = value.dataSync()[0];
      tf.dispose([value, g]);
      return loss;
    },
    losses(batch) {
      return tf.tidy(() => {
        const x = studentInput(m, batch.x, batch.count);
        return perEvent(
          forward(m, vars, x, { quantize, bn: "batch" }),
          targets(batch),
        ).dataSync() as Float32Array;
      });
    },
    dispose: () => tf.dispose(vars),
  };
}
