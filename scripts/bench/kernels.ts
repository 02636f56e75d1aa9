/**
 * The wasm training kernels at the teacher's shapes (configs/cae.json, batch 512), single
 * thread: for every convolution of the teacher its forward pass (wasm's own, for comparison),
 * filter gradient and input gradient; the dense layers' transposed matrix products; the pooling
 * and upsampling gradients. Then one full teacher training step (forward, MSE, backward, as
 * the training runtime runs it) in events per second. Each figure is the median of 7 runs after
 * a warm-up, in wall time. Other processes may share the cores, so each line also carries the
 * load average and `cpu_ms`, the median CPU time of this (single-threaded) process over the same
 * runs, which stays close to the unloaded wall time. Prints JSON lines.
 */
import { cpus, loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { loadTeacherConfig, teacherShapes } from "../../src/config/teacher.js";
import { selectBackend } from "../../src/nn/backend.js";
import { teacherRuntime } from "../../src/nn/teacher/runtime.js";

const BATCH = 512;
const RUNS = 7;
const CONFIG = "configs/cae.json";
const machine = cpus()[0]?.model ?? "unknown";

const print = (metric: string, value: number, unit: string, context: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: "kernels",
      metric,
      value: round(value),
      unit,
      ...context,
      backend: "wasm",
      threads: 1,
      batch: BATCH,
      load1: round(loadavg()[0]),
      machine,
      node: process.version,
    }),
  );

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Timing {
  /** Median wall time, ms. */
  readonly ms: number;
  /** Median CPU time of this process, ms. */
  readonly cpu: number;
}

/** Times `f` (after one warm-up run) RUNS times. */
async function timeIt(f: () => Promise<void> | void): Promise<Timing> {
  await f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    await f();
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - t0);
  }
  return { ms: median(wall), cpu: median(cpu) };
}

/** Times a kernel; `f` returns its output, which is read back and disposed. */
function timeKernel(f: () => tf.Tensor): Promise<Timing> {
  return timeIt(async () => {
    const out = f();
    await out.data();
    out.dispose();
  });
}

const round = (x: number) => Math.round(x * 100) / 100;

const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => () =>
  tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

async function convKernels(): Promise<void> {
  const config = loadTeacherConfig(CONFIG);
  const shapes = teacherShapes(config, CONFIG);
  for (const [i, l] of config.layers.entries()) {
    if (l.type !== "conv2d") continue;
    const [h, w, c] = i === 0 ? [18, 14, 1] : shapes[i - 1];
    const [oh, ow, f] = shapes[i];
    const [fh, fw] = l.kernel;
    const x = tf.randomUniform([BATCH, h, w, c]);
    const dy = tf.randomUniform([BATCH, oh, ow, f]);
    const filter = tf.randomUniform([fh, fw, c, f], -0.1, 0.1);
    const conv = { strides: l.strides, pad: l.padding, dataFormat: "NHWC" };
    const flops = 2 * BATCH * oh * ow * f * fh * fw * c;
    const context = { layer: `conv2d_${i}`, x: [BATCH, h, w, c], filter: [fh, fw, c, f] };
    const cases: [string, () => tf.Tensor][] = [
      ["Conv2D", run("Conv2D", { x, filter }, { ...conv, dilations: 1 })],
      [
        "Conv2DBackpropFilter",
        run("Conv2DBackpropFilter", { x, dy }, { ...conv, filterShape: filter.shape }),
      ],
      ["Conv2DBackpropInput", run("Conv2DBackpropInput", { dy, filter }, { ...conv, inputShape: x.shape })],
    ];
    for (const [kernel, f] of cases) {
      const t = await timeKernel(f);
      print("kernel_ms", t.ms, "ms", { kernel, ...context, cpu_ms: round(t.cpu) });
      print("kernel_gflops", flops / t.ms / 1e6, "GFLOP/s", {
        kernel,
        ...context,
        cpu_gflops: round(flops / t.cpu / 1e6),
      });
    }
    tf.dispose([x, dy, filter]);
  }
}

async function denseKernels(): Promise<void> {
  // The dense layers' gradients: dx = dy W^T and dW = x^T dy, for 1890 -> 80 and 80 -> 1890.
  for (const [inUnits, outUnits] of [
    [1890, 80],
    [80, 1890],
  ]) {
    const x = tf.randomUniform([BATCH, inUnits]);
    const dy = tf.randomUniform([BATCH, outUnits]);
    const wt = tf.randomUniform([inUnits, outUnits]);
    const flops = 2 * BATCH * inUnits * outUnits;
    const cases: [string, () => tf.Tensor][] = [
      ["dx = dy W^T", run("BatchMatMul", { a: dy, b: wt }, { transposeA: false, transposeB: true })],
      ["dW = x^T dy", run("BatchMatMul", { a: x, b: dy }, { transposeA: true, transposeB: false })],
    ];
    for (const [what, f] of cases) {
      const t = await timeKernel(f);
      const context = { kernel: "BatchMatMul", product: what, dense: `${inUnits}->${outUnits}` };
      print("kernel_ms", t.ms, "ms", { ...context, cpu_ms: round(t.cpu) });
      print("kernel_gflops", flops / t.ms / 1e6, "GFLOP/s", {
        ...context,
        cpu_gflops: round(flops / t.cpu / 1e6),
      });
    }
    tf.dispose([x, dy, wt]);
  }
}

async function resamplingKernels(): Promise<void> {
  const input = tf.randomUniform([BATCH, 18, 14, 20]);
  const pooledDy = tf.randomUniform([BATCH, 9, 7, 20]);
  const images = tf.randomUniform([BATCH, 9, 7, 30]);
  const upDy = tf.randomUniform([BATCH, 18, 14, 30]);
  const cases: [string, () => tf.Tensor, number[]][] = [
    [
      "AvgPoolGrad",
      run("AvgPoolGrad", { dy: pooledDy, input }, { filterSize: 2, strides: 2, pad: "valid" }),
      input.shape,
    ],
    [
      "ResizeNearestNeighborGrad",
      run(
        "ResizeNearestNeighborGrad",
        { images, dy: upDy },
        { alignCorners: false, halfPixelCenters: false },
      ),
      upDy.shape,
    ],
  ];
  for (const [kernel, f, shape] of cases) {
    const t = await timeKernel(f);
    print("kernel_ms", t.ms, "ms", { kernel, shape, cpu_ms: round(t.cpu) });
  }
  tf.dispose([input, pooledDy, images, upDy]);
}

async function trainStep(): Promise<void> {
  const config = loadTeacherConfig(CONFIG);
  const rt = teacherRuntime(config, 1);
  // Zero-bias-like events: mostly empty regions, a few with energy.
  const x = new Uint16Array(BATCH * 252);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = s % 100 < 30 ? (s >>> 8) % 40 : 0;
  }
  const grads = new Float32Array(rt.paramCount);
  const t = await timeIt(() => {
    rt.gradients({ count: BATCH, x }, grads);
  });
  rt.dispose();
  print("teacher_step_ms", t.ms, "ms", { model: config.name, cpu_ms: round(t.cpu) });
  print("teacher_train_events_per_s", (BATCH / t.ms) * 1000, "events/s", {
    model: config.name,
    cpu_events_per_s: Math.round((BATCH / t.cpu) * 1000),
  });
}

await selectBackend("wasm");
await convKernels();
await denseKernels();
await resamplingKernels();
await trainStep();
