import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/config/load.js";
import { loadStudentConfig, type QuantizerConfig, toQuantizerSpec } from "../../../src/config/student.js";

const dir = mkdtempSync(join(tmpdir(), "student-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bitsQ = { quantizer: "quantized_bits", bits: 8, integer: 1 };
const reluQ = { quantizer: "quantized_relu", bits: 10, integer: 6 };
const training = { batchSize: 64, epochs: 1, validationFraction: 0.1 };
const head = [
  { type: "qdense", units: 1, useBias: false, kernelQuantizer: bitsQ },
  { type: "qactivation", activation: reluQ },
];

function load(config: object): () => unknown {
  const file = join(dir, "student.json");
  writeFileSync(file, JSON.stringify({ name: "s", training, ...config }));
  return () => loadStudentConfig(file);
}

describe("student configs", () => {
  it("loads CICADA v1 and v2 with their shapes", () => {
    const v1 = loadStudentConfig("configs/student-v1.json");
    expect(v1.layers.map((l) => l.type)).toEqual([
      "qdense_batchnorm",
      "qactivation",
      "qdense",
      "qactivation",
    ]);
    expect(v1.loss).toBe("mae");
    expect(v1.pruning).toEqual({ sparsity: 0.5, startEpoch: 5, endEpoch: 15, power: 3 });
    const v2 = loadStudentConfig("configs/student-v2.json");
    expect(v2.input.shape).toEqual([18, 14, 1]);
    expect(v2.layers[0]).toMatchObject({
      type: "qconv2d",
      filters: 4,
      kernel: [2, 2],
      strides: [2, 2],
      useBias: false,
    });
  });

  it("refuses incompatible students before training, naming the path and the reason", () => {
    const cases: [object, RegExp][] = [
      [
        {
          layers: [
            { type: "qconv2d", filters: 2, kernel: [2, 2], useBias: false, kernelQuantizer: bitsQ },
            ...head,
          ],
        },
        /layers\[0\] \(qconv2d\): found an input of shape \[252\], expected an image \[h, w, c\] \(add a reshape\)/,
      ],
      [
        { layers: [{ ...head[0], kernelQuantizer: { ...bitsQ, bits: 1 } }, head[1]] },
        /layers\[0\]\.kernelQuantizer\.bits: found 1, expected a number >= 2/,
      ],
      [
        { layers: [{ ...head[0], kernelQuantizer: { ...bitsQ, integer: 9 } }, head[1]] },
        /layers\[0\]\.kernelQuantizer\.integer: found 9, expected at most 7 \(bits 8 minus the sign bit\)/,
      ],
      [
        { layers: [head[0], { type: "qactivation", activation: { ...reluQ, integer: 11 } }] },
        /layers\[1\]\.activation\.integer: found 11, expected at most bits \(10\)/,
      ],
      [
        { layers: [{ ...head[0], kernelQuantizer: { ...bitsQ, alpha: "auto" } }, head[1]] },
        /layers\[0\]\.kernelQuantizer\.alpha: found "auto", expected 1 or "auto_po2" \(only power-of-two scales/,
      ],
      [
        { layers: [{ ...head[0], kernelQuantizer: { ...bitsQ, alpha: 0.5 } }, head[1]] },
        /layers\[0\]\.kernelQuantizer\.alpha: found 0.5, expected 1 or "auto_po2"/,
      ],
      [
        {
          layers: [
            { ...head[0], kernelQuantizer: { ...bitsQ, alpha: "auto_po2", keepNegative: 0 } },
            head[1],
          ],
        },
        /layers\[0\]\.kernelQuantizer\.keepNegative: found 0, expected 1 \("auto_po2" quantizes symmetrically/,
      ],
      [
        { layers: [head[0], { type: "qactivation", activation: { ...bitsQ, alpha: "auto_po2" } }] },
        /layers\[1\]\.activation\.alpha: found "auto_po2", expected 1 \(per-channel power-of-two scales are for kernels and biases/,
      ],
      [{ layers: [head[0]] }, /layers\[0\]: the output is not quantized, expected a final qactivation/],
      [
        { layers: [{ ...head[0], units: 4 }, head[0], head[1]] },
        /layers\[1\] \(qdense\): its input \(the output of layers\[0\]\) is not quantized/,
      ],
      [{ layers: [{ ...head[0], units: 3 }, head[1]] }, /the last layer gives \[3\], expected one value/],
      [
        {
          input: { shape: [18, 14, 1] },
          layers: [{ type: "avgpool2d", pool: [3, 1] }, { type: "flatten" }, ...head],
        },
        /layers\[0\]\.pool: found \[3,1\] \(area 3\), expected a power-of-two area/,
      ],
      [
        { layers: [{ type: "reshape", shape: [18, 7, 1] }, ...head] },
        /layers\[0\]\.shape: found \[18,7,1\] \(126 values\), expected 252 values/,
      ],
      [
        { layers: [head[0], { type: "qactivation", activation: { ...bitsQ, symmetric: 1 } }] },
        /layers\[1\]\.activation\.symmetric: found 1, expected 0/,
      ],
      [{ input: { type: "ap_fixed<3>" }, layers: head }, /input\.type: /],
      [{ layers: head, loss: "huber" }, /loss: found "huber", expected one of "mae", "mse"/],
      [
        { layers: head, pruning: { sparsity: 0.5, startEpoch: 5, endEpoch: 5 } },
        /pruning\.endEpoch: found 5, expected more than startEpoch \(5\)/,
      ],
    ];
    for (const [config, message] of cases) {
      const f = load(config);
      expect(f).toThrow(ConfigError);
      expect(f).toThrow(message);
    }
  });

  it("checks given initial filters: index, length and values the quantizers hold exactly", () => {
    const conv4 = { quantizer: "quantized_bits", bits: 4, integer: 1 };
    const image = (conv: object) => ({
      input: { shape: [18, 14, 1] },
      layers: [
        { type: "qconv2d", filters: 2, kernel: [3, 3], padding: "same", kernelQuantizer: conv4, ...conv },
        { type: "qactivation", activation: reluQ },
        { type: "flatten" },
        ...head,
      ],
    });
    const centre = [0, 0, 0, 0, 0.5, 0, 0, 0, 0];
    const noBias = { useBias: false };
    const f = (filters: object[], extra: object = noBias) => image({ initialFilters: filters, ...extra });
    const ok = load(
      f([
        { filter: 1, kernel: centre },
        { filter: 0, kernel: centre.map((v) => -v), trainable: true },
      ]),
    );
    expect(ok).not.toThrow();
    const cases: [object, RegExp][] = [
      [
        f([{ filter: 2, kernel: centre }]),
        /layers\[0\]\.initialFilters\[0\]\.filter: found 2, expected 0 to 1 \(filters is 2\)/,
      ],
      [
        f([
          { filter: 0, kernel: centre },
          { filter: 0, kernel: centre },
        ]),
        /initialFilters\[1\]\.filter: found 0 again, expected each filter once/,
      ],
      [
        f([{ filter: 0, kernel: [1, 2] }]),
        /initialFilters\[0\]\.kernel: found 2 values, expected 9 \(kernel 3 x 3 x 1 channels\)/,
      ],
      [
        f([{ filter: 0, kernel: [0, 0, 0, 0, 0.3, 0, 0, 0, 0] }]),
        /initialFilters\[0\]\.kernel\[4\]: found 0\.3, expected a multiple of 0\.25 from -2 to 1\.75 \(what quantized_bits\(4,1,0,1\) holds exactly\)/,
      ],
      [
        f([{ filter: 0, kernel: [0, 0, 0, 0, 2, 0, 0, 0, 0] }]),
        /initialFilters\[0\]\.kernel\[4\]: found 2, expected a multiple/,
      ],
      [
        f([{ filter: 0, kernel: centre, bias: 1 }]),
        /initialFilters\[0\]\.bias: found 1, expected 0 \(the layer has no bias\)/,
      ],
      [
        f([{ filter: 0, kernel: centre, bias: 0.1 }], {
          biasQuantizer: { quantizer: "quantized_bits", bits: 8, integer: 3 },
        }),
        /initialFilters\[0\]\.bias: found 0\.1, expected a multiple of 0\.0625 from -8 to 7\.9375/,
      ],
      [
        f([{ filter: 0, kernel: centre }], { ...noBias, kernelQuantizer: { ...conv4, alpha: "auto_po2" } }),
        /layers\[0\]\.initialFilters: found with kernelQuantizer\.alpha "auto_po2", expected alpha 1/,
      ],
    ];
    for (const [config, message] of cases) {
      const g = load(config);
      expect(g).toThrow(ConfigError);
      expect(g).toThrow(message);
    }
  });

  it("accepts auto_po2 on kernels and biases, which implies symmetric as in QKeras", () => {
    const po2 = { ...bitsQ, alpha: "auto_po2" };
    const c = load({
      layers: [
        { type: "qdense", units: 4, kernelQuantizer: po2, biasQuantizer: po2 },
        { type: "qactivation", activation: reluQ },
        ...head,
      ],
    })() as { layers: { kernelQuantizer?: object }[] };
    expect(c.layers[0].kernelQuantizer).toMatchObject({ alpha: "auto_po2", symmetric: 0 });
    expect(toQuantizerSpec(c.layers[0].kernelQuantizer as QuantizerConfig)).toEqual({
      quantizer: "quantized_bits",
      bits: 8,
      integer: 1,
      symmetric: 1,
      keepNegative: 1,
      alpha: "auto_po2",
    });
  });
});
