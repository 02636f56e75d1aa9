import { match } from "ts-pattern";
import { frac } from "../fixed/index.js";
import type { AvgPool2dLayer, BatchNormLayer, Conv2dLayer, DenseLayer } from "./types.js";
import { padBefore, size, windowOut } from "./validate.js";

export type LinearLayer = DenseLayer | Conv2dLayer | BatchNormLayer | AvgPool2dLayer;

export function isLinear(layer: { op: string }): layer is LinearLayer {
  return (
    layer.op === "dense" || layer.op === "conv2d" || layer.op === "batchnorm" || layer.op === "avgpool2d"
  );
}

/**
 * Every linear layer as a sparse matrix over the flattened input: output element r is
 * bias[r] + sum over k in [rowPtr[r], rowPtr[r+1]) of input[col[k]] * weight[k].
 * Zero weights and padding are absent, so they cost nothing downstream (evaluator, range
 * analysis and RTL lowering all read this one form).
 */
export interface LinearForm {
  readonly rows: number;
  readonly inputs: number;
  readonly rowPtr: Int32Array;
  readonly col: Int32Array;
  /** Weight mantissas. */
  readonly weight: Float64Array;
  readonly weightFrac: number;
  /** Bias mantissas per row, or undefined when the layer has none. */
  readonly bias?: Float64Array;
  readonly biasFrac: number;
}

class Builder {
  readonly rowPtr: number[] = [0];
  readonly col: number[] = [];
  readonly weight: number[] = [];
  add(c: number, w: number): void {
    if (w !== 0) {
      this.col.push(c);
      this.weight.push(w);
    }
  }
  endRow(): void {
    this.rowPtr.push(this.col.length);
  }
}

export function linearForm(layer: LinearLayer, inShape: readonly number[]): LinearForm {
  const b = new Builder();
  const inputs = size(inShape);
  return match(layer)
    .with({ op: "dense" }, (l) => {
      for (let j = 0; j < l.units; j++) {
        for (let i = 0; i < inputs; i++) b.add(i, l.weights.values[i * l.units + j]);
        b.endRow();
      }
      return finish(b, inputs, frac(l.weights.type), l.bias?.values, l.bias ? frac(l.bias.type) : 0);
    })
    .with({ op: "conv2d" }, (l) => {
      const [h, w, c] = inShape;
      const [kh, kw] = l.kernel;
      const [sh, sw] = l.stride;
      const oh = windowOut(h, kh, sh, l.padding);
      const ow = windowOut(w, kw, sw, l.padding);
      const py = padBefore(h, kh, sh, l.padding);
      const px = padBefore(w, kw, sw, l.padding);
      const f = l.filters;
      const bias: number[] = [];
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let o = 0; o < f; o++) {
            for (let dy = 0; dy < kh; dy++) {
              const y = oy * sh + dy - py;
              if (y < 0 || y >= h) continue;
              for (let dx = 0; dx < kw; dx++) {
                const x = ox * sw + dx - px;
                if (x < 0 || x >= w) continue;
                for (let ci = 0; ci < c; ci++)
                  b.add((y * w + x) * c + ci, l.weights.values[((dy * kw + dx) * c + ci) * f + o]);
              }
            }
            if (l.bias) bias.push(l.bias.values[o]);
            b.endRow();
          }
      return finish(
        b,
        inputs,
        frac(l.weights.type),
        l.bias ? bias : undefined,
        l.bias ? frac(l.bias.type) : 0,
      );
    })
    .with({ op: "batchnorm" }, (l) => {
      const c = inShape[inShape.length - 1];
      const bias: number[] = [];
      for (let i = 0; i < inputs; i++) {
        b.add(i, l.scale.values[i % c]);
        bias.push(l.shift.values[i % c]);
        b.endRow();
      }
      return finish(b, inputs, frac(l.scale.type), bias, frac(l.shift.type));
    })
    .with({ op: "avgpool2d" }, (l) => {
      const [h, w, c] = inShape;
      const [ph, pw] = l.pool;
      const oh = windowOut(h, ph, l.stride[0], "valid");
      const ow = windowOut(w, pw, l.stride[1], "valid");
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let ci = 0; ci < c; ci++) {
            for (let dy = 0; dy < ph; dy++)
              for (let dx = 0; dx < pw; dx++)
                b.add(((oy * l.stride[0] + dy) * w + ox * l.stride[1] + dx) * c + ci, 1);
            b.endRow();
          }
      // The mean is the sum times 2^-log2(area): weight mantissa 1 with log2(area) fractional bits.
      return finish(b, inputs, Math.log2(ph * pw), undefined, 0);
    })
    .exhaustive();
}

function finish(
  b: Builder,
  inputs: number,
  weightFrac: number,
  bias: readonly number[] | undefined,
  biasFrac: number,
): LinearForm {
  return {
    rows: b.rowPtr.length - 1,
    inputs,
    rowPtr: Int32Array.from(b.rowPtr),
    col: Int32Array.from(b.col),
    weight: Float64Array.from(b.weight),
    weightFrac,
    bias: bias ? Float64Array.from(bias) : undefined,
    biasFrac,
  };
}
