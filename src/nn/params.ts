import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";

/**
 * A model's trainable weights as one flat Float32Array, in `trainableWeights` order: the form
 * the optimizer, the checkpoints and the data-parallel workers exchange.
 */
const weightShape = (w: tfl.LayerVariable) => w.read().shape;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function paramCount(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + size(weightShape(w)), 0);
}

export function getParams(model: tfl.LayersModel): Float32Array {
  const out = new Float32Array(paramCount(model));
  let at = 0;
  for (const w of model.trainableWeights) {
    const v = w.read().dataSync() as Float32Array;
    out.set(v, at);
    at += v.length;
  }
  return out;
}

export function setParams(model: tfl.LayersModel, flat: Float32Array): void {
  if (flat.length !== paramCount(model)) {
    throw new RangeError(`${flat.length} parameters given, the model has ${paramCount(model)}`);
  }
  let at = 0;
  for (const w of model.trainableWeights) {
    const shape = weightShape(w);
    const n = size(shape);
    const t = tf.tensor(flat.subarray(at, at + n), shape, "float32");
    w.write(t);
    t.dispose();
    at += n;
  }
}

/** Copies gradient tensors (in `trainableWeights` order) into one flat array. */
export function flattenInto(tensors: readonly tf.Tensor[], out: Float32Array): void {
  let at = 0;
  for (const t of tensors) {
    const v = t.dataSync() as Float32Array;
    out.set(v, at);
    at += v.length;
  }
  if (at !== out.length) throw new RangeError(`${at} gradient values for ${out.length} parameters`);
}
