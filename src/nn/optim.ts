/**
 * Optimizers over one flat parameter array. They run on the coordinating thread after the
 * gradients of a batch are gathered (from this thread or from data-parallel workers), so the
 * update is one deterministic loop whatever the number of workers, and their whole state is
 * three arrays and a counter that a checkpoint stores and restores exactly.
 *
 * Adam follows TensorFlow.js' formulation (bias-corrected moments, epsilon added to the root
 * of the corrected second moment): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 */
export interface OptimizerSettings {
  readonly type: "adam" | "sgd";
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export interface OptimizerState {
  /** Updates applied so far. */
  step: number;
  /** First and second moments (Adam); empty for SGD. */
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export function newOptimizerState(settings: OptimizerSettings, params: number): OptimizerState {
  const n = settings.type === "adam" ? params : 0;
  return { step: 0, m: new Float32Array(n), v: new Float32Array(n) };
}

/** Applies one update in place: `params -= f(grads)` at learning rate `lr`. */
export function applyUpdate(
  settings: OptimizerSettings,
  state: OptimizerState,
  params: Float32Array,
  grads: Float32Array,
  lr: number,
): void {
  if (grads.length !== params.length)
    throw new RangeError(`${grads.length} gradients for ${params.length} parameters`);
  state.step++;
  if (settings.type === "sgd") {
    for (let i = 0; i < params.length; i++) params[i] -= lr * grads[i];
    return;
  }
  const { beta1: b1, beta2: b2, epsilon } = settings;
  const c1 = 1 / (1 - b1 ** state.step);
  const c2 = 1 / (1 - b2 ** state.step);
  const { m, v } = state;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i];
    const mi = b1 * m[i] + (1 - b1) * g;
    const vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= (lr * mi * c1) / (Math.sqrt(vi * c2) + epsilon);
  }
}
