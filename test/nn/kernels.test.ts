import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTeacherConfig } from "../../src/config/teacher.js";
import { selectBackend } from "../../src/nn/backend.js";
import {
  registerCpuKernelFixes,
  registerWasmKernels,
  WASM_KERNEL_NAMES,
} from "../../src/nn/kernels/index.js";
import { loadNativeModule } from "../../src/nn/kernels/native.js";
import { mergeAxes, transposeKernel } from "../../src/nn/kernels/transpose.js";
import { teacherRuntime } from "../../src/nn/teacher/runtime.js";
import { rng } from "../../src/util/rng.js";

type Inputs = Record<string, { shape: number[]; values: Float32Array }>;

function randomValues(r: ReturnType<typeof rng>, shape: number[]): { shape: number[]; values: Float32Array } {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = r.next() * 2 - 1;
  return { shape, values };
}

/** Runs one kernel on `backend` and returns its output's values and shape. */
async function runOn(backend: string, kernel: string, inputs: Inputs, attrs: tf.NamedAttrMap) {
  await tf.setBackend(backend);
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  const out = tf.engine().runKernel(kernel, ts, attrs) as tf.Tensor;
  const result = { shape: out.shape, values: (await out.data()) as Float32Array };
  tf.dispose([out, ...Object.values(ts)]);
  return result;
}

/** Largest difference relative to the reference's largest magnitude. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  }
  return maxDiff / (maxRef || 1);
}

async function expectSameAsCpu(kernel: string, inputs: Inputs, attrs: tf.NamedAttrMap, label: string) {
  const want = await runOn("cpu", kernel, inputs, attrs);
  const got = await runOn("wasm", kernel, inputs, attrs);
  expect(got.shape, label).toEqual(want.shape);
  expect(relError(got.values, want.values), label).toBeLessThan(1e-4);
}

type Pad = "same" | "valid" | number[][];
interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  f: number;
  fh: number;
  fw: number;
  strides: [number, number];
  pad: Pad;
}

/** Hand-picked edge cases, then seeded random ones. */
function convCases(): ConvCase[] {
  const fixed: ConvCase[] = [
    // The teacher's shapes, at a small batch.
    { n: 3, h: 18, w: 14, c: 30, f: 20, fh: 3, fw: 3, strides: [1, 1], pad: "same" },
    // Enough events for the filter gradient's reduction to run in several blocks and a remainder.
    { n: 13, h: 18, w: 14, c: 30, f: 20, fh: 3, fw: 3, strides: [1, 1], pad: "same" },
    { n: 2, h: 9, w: 7, c: 30, f: 30, fh: 3, fw: 3, strides: [1, 1], pad: "same" },
    { n: 1, h: 18, w: 14, c: 1, f: 20, fh: 3, fw: 3, strides: [1, 1], pad: "same" },
    { n: 2, h: 18, w: 14, c: 20, f: 1, fh: 3, fw: 3, strides: [1, 1], pad: "same" },
    // Strides beyond the filter size (rows of input no output reads), odd sizes, 1x1 filters.
    { n: 2, h: 7, w: 9, c: 2, f: 3, fh: 2, fw: 2, strides: [3, 3], pad: "same" },
    { n: 2, h: 7, w: 8, c: 3, f: 2, fh: 2, fw: 1, strides: [3, 2], pad: "valid" },
    { n: 1, h: 5, w: 5, c: 1, f: 1, fh: 1, fw: 1, strides: [2, 2], pad: "valid" },
    { n: 2, h: 6, w: 5, c: 4, f: 3, fh: 3, fw: 2, strides: [1, 2], pad: "same" },
    // Explicit paddings, including one wider than the filter.
    {
      n: 2,
      h: 6,
      w: 7,
      c: 3,
      f: 2,
      fh: 3,
      fw: 3,
      strides: [2, 1],
      pad: [
        [0, 0],
        [1, 2],
        [0, 4],
        [0, 0],
      ],
    },
  ];
  const r = rng(20261202);
  const random: ConvCase[] = [];
  for (let i = 0; i < 16; i++) {
    const s = r.int(1, 2);
    random.push({
      n: r.pick([1, 2, 4]),
      h: r.int(3, 12),
      w: r.int(3, 12),
      c: r.pick([1, 2, 5, 8]),
      f: r.pick([1, 3, 6]),
      fh: r.int(1, 3),
      fw: r.int(1, 3),
      strides: [s, r.next() < 0.7 ? s : 3 - s],
      pad: r.pick(["same", "valid"] as const),
    });
  }
  return [...fixed, ...random];
}

function label(k: ConvCase): string {
  return `x[${k.n},${k.h},${k.w},${k.c}] filter[${k.fh},${k.fw},${k.c},${k.f}] strides ${k.strides} pad ${JSON.stringify(k.pad)}`;
}

function outSize(k: ConvCase): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [k.n, k.h, k.w, k.c],
    [k.fh, k.fw, k.c, k.f],
    k.strides,
    1,
    k.pad as "same",
  );
  return [info.outHeight, info.outWidth];
}

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("wasm training kernels agree with the CPU backend", () => {
  it("refuses to start without our compiled kernels, saying how to build them", () => {
    expect(() => loadNativeModule("/nonexistent/kernels.wasm")).toThrow(
      /kernels are not built \(\/nonexistent\/kernels.wasm is missing\): run `bash scripts\/build-kernels.sh` \(needs clang and lld/,
    );
  });

  it("registers each kernel once, however often it is called", () => {
    const before = WASM_KERNEL_NAMES.map((n) => tf.getKernel(n, "wasm")?.kernelFunc);
    registerWasmKernels();
    registerWasmKernels();
    expect(WASM_KERNEL_NAMES.map((n) => tf.getKernel(n, "wasm")?.kernelFunc)).toEqual(before);
    expect(WASM_KERNEL_NAMES).toEqual(
      expect.arrayContaining([
        "Conv2DBackpropFilter",
        "Conv2DBackpropInput",
        "AvgPoolGrad",
        "ResizeNearestNeighborGrad",
        "Sum",
        "BatchMatMul",
        "_FusedMatMul",
      ]),
    );
  });

  it("Conv2DBackpropFilter on strides 1 and 2, same, valid and explicit paddings", async () => {
    const r = rng(1);
    for (const k of convCases()) {
      const [oh, ow] = outSize(k);
      const inputs = { x: randomValues(r, [k.n, k.h, k.w, k.c]), dy: randomValues(r, [k.n, oh, ow, k.f]) };
      const attrs = {
        strides: k.strides,
        pad: k.pad,
        dataFormat: "NHWC",
        filterShape: [k.fh, k.fw, k.c, k.f],
      };
      await expectSameAsCpu("Conv2DBackpropFilter", inputs, attrs as tf.NamedAttrMap, label(k));
    }
  });

  it("Conv2DBackpropInput on strides 1 and 2, same, valid and explicit paddings", async () => {
    const r = rng(2);
    for (const k of convCases()) {
      const [oh, ow] = outSize(k);
      const inputs = {
        dy: randomValues(r, [k.n, oh, ow, k.f]),
        filter: randomValues(r, [k.fh, k.fw, k.c, k.f]),
      };
      const attrs = { strides: k.strides, pad: k.pad, dataFormat: "NHWC", inputShape: [k.n, k.h, k.w, k.c] };
      await expectSameAsCpu("Conv2DBackpropInput", inputs, attrs as tf.NamedAttrMap, label(k));
    }
  });

  it("rejects channels-first convolutions naming the kernel", async () => {
    await tf.setBackend("wasm");
    const x = tf.zeros([1, 2, 4, 4]);
    const dy = tf.zeros([1, 3, 4, 4]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          "Conv2DBackpropFilter",
          { x, dy },
          { strides: 1, pad: "same", dataFormat: "NCHW", filterShape: [3, 3, 2, 3] },
        ),
    ).toThrow(/Conv2DBackpropFilter on wasm: dataFormat NCHW is not supported, expected NHWC/);
    tf.dispose([x, dy]);
  });

  it("the tiled transpose equals the CPU backend's on every permutation of ranks 1 to 5", async () => {
    const r = rng(7);
    const permutations = (n: number): number[][] =>
      n === 0
        ? [[]]
        : permutations(n - 1).flatMap((p) =>
            [...Array(n).keys()].map((i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
          );
    for (let rank = 1; rank <= 5; rank++) {
      for (const perm of permutations(rank)) {
        // Sizes up to 40 so that tiles of 32 are split; some axes of size 1.
        const shape = perm.map(() => r.pick([1, 2, 3, 5, rank <= 3 ? 40 : 4]));
        const x = randomValues(r, shape);
        const want = await runOn("cpu", "Transpose", { x }, { perm });
        await tf.setBackend("wasm");
        const xt = tf.tensor(x.values, shape);
        const backend = tf.backend() as tf.KernelBackend & {
          typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
        };
        const out = transposeKernel({ inputs: { x: xt }, backend, attrs: { perm } });
        expect(out.shape, `[${shape}] perm [${perm}]`).toEqual(want.shape);
        expect(Array.from(backend.typedArrayFromHeap(out)), `[${shape}] perm [${perm}]`).toEqual(
          Array.from(want.values),
        );
        backend.disposeData(out.dataId);
        xt.dispose();
      }
    }
    expect(mergeAxes([512, 18, 14, 30], [3, 1, 2, 0])).toEqual({ shape: [512, 252, 30], perm: [2, 1, 0] });
    expect(mergeAxes([4, 1, 3], [1, 2, 0])).toEqual({ shape: [4, 3], perm: [1, 0] });
  });

  it("AvgPoolGrad on tiling and overlapping windows, same and valid paddings", async () => {
    const r = rng(5);
    const cases: [number[], number[], number[], string][] = [
      [[3, 18, 14, 20], [2, 2], [2, 2], "valid"],
      [[1, 6, 4, 1], [3, 2], [3, 2], "valid"],
      [[2, 7, 5, 3], [2, 2], [2, 2], "valid"],
      [[2, 7, 5, 3], [2, 2], [2, 2], "same"],
      [[2, 6, 6, 2], [3, 3], [2, 2], "same"],
      [[1, 5, 6, 4], [2, 3], [1, 1], "valid"],
    ];
    for (const [shape, filterSize, strides, pad] of cases) {
      const info = tf.backend_util.computePool2DInfo(
        shape as [number, number, number, number],
        filterSize as [number, number],
        strides as [number, number],
        1,
        pad as "same",
      );
      const inputs = {
        dy: randomValues(r, [shape[0], info.outHeight, info.outWidth, shape[3]]),
        input: randomValues(r, shape),
      };
      await expectSameAsCpu(
        "AvgPoolGrad",
        inputs,
        { filterSize, strides, pad },
        `input [${shape}] pool ${filterSize} strides ${strides} ${pad}`,
      );
    }
  });

  it("ResizeNearestNeighborGrad is the adjoint of ResizeNearestNeighbor, and equals the CPU's at batch 1", async () => {
    const r = rng(6);
    const cases: [number[], [number, number], boolean][] = [
      [[3, 9, 7, 30], [18, 14], false],
      [[2, 4, 3, 1], [12, 6], false],
      [[2, 5, 4, 2], [7, 9], false],
      [[2, 5, 4, 2], [7, 9], true],
      [[2, 7, 6, 3], [3, 4], false],
      [[1, 3, 3, 2], [6, 6], true],
    ];
    for (const [shape, size, alignCorners] of cases) {
      const what = `images [${shape}] to ${size} alignCorners ${alignCorners}`;
      const attrs = { alignCorners, halfPixelCenters: false };
      const x = randomValues(r, shape);
      const dy = randomValues(r, [shape[0], size[0], size[1], shape[3]]);
      const up = await runOn("cpu", "ResizeNearestNeighbor", { images: x }, { ...attrs, size });
      const dx = await runOn("wasm", "ResizeNearestNeighborGrad", { images: x, dy }, attrs);
      expect(dx.shape, what).toEqual(shape);
      // <resize(x), dy> == <x, grad(dy)>
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < dy.values.length; i++) lhs += up.values[i] * dy.values[i];
      for (let i = 0; i < x.values.length; i++) rhs += x.values[i] * dx.values[i];
      expect(Math.abs(lhs - rhs), what).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
      const one = (t: { shape: number[]; values: Float32Array }) => ({
        shape: [1, ...t.shape.slice(1)],
        values: t.values.subarray(0, t.values.length / t.shape[0]),
      });
      await expectSameAsCpu(
        "ResizeNearestNeighborGrad",
        { images: one(x), dy: one(dy) },
        attrs,
        `${what}, event 0`,
      );
    }
  });

  it("Sum over leading axes (bias gradients) and over others, with and without keepDims", async () => {
    const r = rng(8);
    const cases: [number[], number | number[]][] = [
      [
        [64, 18, 14, 20],
        [0, 1, 2],
      ],
      [
        [1, 512, 190],
        [0, 1],
      ],
      [[5, 3], 0],
      [[5, 3], -2],
      [
        [4, 3, 2],
        [1, 0],
      ],
      [
        [4, 3, 2],
        [0, 2],
      ],
      [
        [4, 3, 2],
        [1, 2],
      ],
      [[7], 0],
    ];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        await expectSameAsCpu(
          "Sum",
          { x: randomValues(r, shape) },
          { axis, keepDims },
          `[${shape}] axis ${axis} ${keepDims}`,
        );
      }
    }
  });

  it("Identity and same-type Cast share the buffer and outlive their input; other casts convert", async () => {
    await tf.setBackend("wasm");
    const buffers = () => tf.engine().backend.numDataIds();
    const before = buffers();
    const x = tf.tensor2d([
      [1.5, -2.25],
      [3.75, 0],
    ]);
    const id = tf.engine().runKernel("Identity", { x }) as tf.Tensor;
    const same = tf.cast(x, "float32");
    // No copies: the two outputs hold x's buffer.
    expect(buffers()).toBe(before + 1);
    const asInt = tf.cast(x, "int32");
    x.dispose();
    expect(Array.from(await id.data())).toEqual([1.5, -2.25, 3.75, 0]);
    expect(Array.from(await same.data())).toEqual([1.5, -2.25, 3.75, 0]);
    expect(Array.from(await asInt.data())).toEqual([1, -2, 3, 0]);
    expect(asInt.dtype).toBe("int32");
    id.dispose();
    expect(Array.from(await same.data())).toEqual([1.5, -2.25, 3.75, 0]);
    expect(buffers()).toBe(before + 2);
    tf.dispose([same, asInt]);
    expect(buffers()).toBe(before);
  });

  it("BatchMatMul and _FusedMatMul with transposed operands, batch 1 and more", async () => {
    const r = rng(3);
    for (const [batch, m, k, n] of [
      [1, 5, 7, 3],
      [1, 1, 9, 1],
      [4, 6, 2, 5],
      [1, 64, 80, 190],
      [1, 33, 300, 81],
    ]) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = randomValues(r, transposeA ? [batch, k, m] : [batch, m, k]);
          const b = randomValues(r, transposeB ? [batch, n, k] : [batch, k, n]);
          const what = `[${batch},${m},${k}]x[${batch},${k},${n}] tA ${transposeA} tB ${transposeB}`;
          await expectSameAsCpu("BatchMatMul", { a, b }, { transposeA, transposeB }, what);
          await expectSameAsCpu(
            "_FusedMatMul",
            { a, b, bias: randomValues(r, [n]) },
            { transposeA, transposeB, activation: "relu" },
            `fused ${what}`,
          );
        }
      }
    }
  });

  it("a^T b on rank-2 operands (what tf.matMul passes): our kernel, blocked over K or not", async () => {
    const r = rng(4);
    // K = 1024 splits into blocks of positions; K = 1021 (prime) stays one run; K = 3 is tiny.
    for (const [k, m, n] of [
      [1024, 252, 16],
      [1021, 6, 5],
      [3, 4, 4],
      [2048, 4, 4],
      [512, 1, 9],
    ]) {
      const a = randomValues(r, [k, m]);
      const b = randomValues(r, [k, n]);
      await expectSameAsCpu(
        "BatchMatMul",
        { a, b },
        { transposeA: true, transposeB: false },
        `[${k},${m}]^T[${k},${n}]`,
      );
    }
  });
});

describe("CPU backend fixes", () => {
  it("ResizeNearestNeighborGrad on cpu is the adjoint of the resize for every event of a batch", async () => {
    const r = rng(9);
    const x = randomValues(r, [3, 9, 7, 4]);
    const dy = randomValues(r, [3, 18, 14, 4]);
    const attrs = { alignCorners: false, halfPixelCenters: false };
    const up = await runOn("cpu", "ResizeNearestNeighbor", { images: x }, { ...attrs, size: [18, 14] });
    const adjointGap = async () => {
      const dx = await runOn("cpu", "ResizeNearestNeighborGrad", { images: x, dy }, attrs);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < dy.values.length; i++) lhs += up.values[i] * dy.values[i];
      for (let i = 0; i < x.values.length; i++) rhs += x.values[i] * dx.values[i];
      return Math.abs(lhs - rhs) / Math.abs(lhs);
    };
    tf.unregisterKernel("ResizeNearestNeighborGrad", "cpu");
    const { resizeNearestNeighborGradConfig } = await import(
      "@tensorflow/tfjs-backend-cpu/dist/kernels/ResizeNearestNeighborGrad.js"
    );
    tf.registerKernel(resizeNearestNeighborGradConfig);
    // The shipped kernel is wrong beyond the first event: this test can fail.
    expect(await adjointGap()).toBeGreaterThan(1e-2);
    registerCpuKernelFixes();
    registerCpuKernelFixes();
    expect(tf.getKernel("ResizeNearestNeighborGrad", "cpu")?.kernelFunc).not.toBe(
      resizeNearestNeighborGradConfig.kernelFunc,
    );
    expect(await adjointGap()).toBeLessThan(1e-5);
  });
});

describe("teacher gradients on wasm", () => {
  // tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad indexes dy with the images' batch stride,
  // so its gradients are wrong beyond the first event of a batch: the CPU reference is the mean
  // of the single-event gradients (the MSE of the batch is the mean of the events' MSEs). The CPU
  // backend's filter gradients take about a second per event, hence 4 events.
  it("equal the mean of the CPU backend's single-event gradients for the MSE of 4 events", async () => {
    const config = loadTeacherConfig("configs/cae.json");
    const r = rng(4);
    const events = 4;
    const x = new Uint16Array(events * 252);
    for (let i = 0; i < x.length; i++) x[i] = r.next() < 0.3 ? r.int(0, 60) : 0;
    const gradsOn = async (backend: string, events: Uint16Array[]) => {
      await tf.setBackend(backend);
      const rt = teacherRuntime(config, 7);
      const grads = new Float32Array(rt.paramCount);
      const one = new Float32Array(rt.paramCount);
      let loss = 0;
      for (const e of events) {
        loss += rt.gradients({ count: e.length / 252, x: e }, one) / events.length;
        for (let i = 0; i < one.length; i++) grads[i] += one[i] / events.length;
      }
      rt.dispose();
      return { loss, grads };
    };
    const want = await gradsOn(
      "cpu",
      Array.from({ length: events }, (_, i) => x.subarray(i * 252, (i + 1) * 252)),
    );
    const got = await gradsOn("wasm", [x]);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    expect(want.grads.some((g) => g !== 0)).toBe(true);
    expect(relError(got.grads, want.grads)).toBeLessThan(1e-4);
  });
});
