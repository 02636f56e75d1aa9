import * as tfl from "@tensorflow/tfjs-layers";
import { match } from "ts-pattern";
import { TEACHER_INPUT_SHAPE, type TeacherConfig, type TeacherLayer } from "../../config/teacher.js";

/**
 * The teacher as a tfjs-layers functional model, channels-last, with Keras defaults
 * (Glorot-uniform kernels, zero biases). Every initializer is seeded from `seed` and the
 * layer's position, so the same config and seed give the same initial weights on any backend.
 */
export function buildTeacher(config: TeacherConfig, seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [...TEACHER_INPUT_SHAPE], name: "counts_scaled" });
  let x = input;
  config.layers.forEach((l, i) => {
    x = makeLayer(l, i, seed).apply(x) as tfl.SymbolicTensor;
  });
  return tfl.model({ inputs: input, outputs: x, name: config.name });
}

function makeLayer(l: TeacherLayer, i: number, seed: number): tfl.layers.Layer {
  const name = `${l.type}_${i}`;
  // tfjs seeds its generator with a number; keep seeds distinct per layer and below 2^31.
  const kernelInitializer = tfl.initializers.glorotUniform({ seed: (seed * 1009 + i * 7919) % 2147483647 });
  return match(l)
    .with({ type: "conv2d" }, (c) =>
      tfl.layers.conv2d({
        name,
        filters: c.filters,
        kernelSize: c.kernel,
        strides: c.strides,
        padding: c.padding,
        activation: c.activation,
        useBias: c.useBias,
        kernelInitializer,
      }),
    )
    .with({ type: "avgpool2d" }, (p) =>
      tfl.layers.averagePooling2d({ name, poolSize: p.pool, strides: p.pool }),
    )
    .with({ type: "maxpool2d" }, (p) => tfl.layers.maxPooling2d({ name, poolSize: p.pool, strides: p.pool }))
    .with({ type: "upsample2d" }, (u) => tfl.layers.upSampling2d({ name, size: u.size }))
    .with({ type: "flatten" }, () => tfl.layers.flatten({ name }))
    .with({ type: "dense" }, (d) =>
      tfl.layers.dense({
        name,
        units: d.units,
        activation: d.activation,
        useBias: d.useBias,
        kernelInitializer,
      }),
    )
    .with({ type: "reshape" }, (r) => tfl.layers.reshape({ name, targetShape: r.shape }))
    .with({ type: "activation" }, (a) => tfl.layers.activation({ name, activation: a.activation }))
    .exhaustive();
}
