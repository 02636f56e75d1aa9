import type { FixedType } from "../../src/fixed/index.js";
import type { Layer, ModelIR, TypeOrExact } from "../../src/ir/index.js";
import { referenceCast } from "../fixed/reference.js";

/**
 * A deliberately naive evaluator for one event, written straight from the README's
 * semantics with nested loops over the IR fields (no sparse form, no range analysis), on
 * BigInt, with the rational reference cast. Tests hold the real evaluator to it.
 */
export function naiveEvaluate(model: ModelIR, input: readonly number[]): bigint[] {
  let x = input.map(BigInt);
  let shape = [...model.input.shape];
  let fx = model.input.type.width - model.input.type.int;
  const f = (t: FixedType) => t.width - t.int;
  const cast = (m: bigint, from: number, t: TypeOrExact): [bigint, number] =>
    t === "exact" ? [m, from] : [referenceCast(m, from, t), f(t)];
  // Sum of (cast) products plus bias at a common frac, then accumulator and output casts.
  const finish = (
    products: bigint[],
    pFrac: number,
    bias: bigint | undefined,
    bFrac: number,
    l: { accum: TypeOrExact; output: FixedType },
  ): bigint => {
    const sFrac = bias === undefined ? pFrac : Math.max(pFrac, bFrac);
    let s = 0n;
    for (const p of products) s += p * 2n ** BigInt(sFrac - pFrac);
    if (bias !== undefined) s += bias * 2n ** BigInt(sFrac - bFrac);
    const [a, aFrac] = cast(s, sFrac, l.accum);
    return referenceCast(a, aFrac, l.output);
  };
  for (const layer of model.layers as Layer[]) {
    const out: bigint[] = [];
    switch (layer.op) {
      case "dense": {
        const n = shape[0];
        const fw = f(layer.weights.type);
        for (let j = 0; j < layer.units; j++) {
          const products: bigint[] = [];
          let pFrac = fx + fw;
          for (let i = 0; i < n; i++) {
            const [p, pf] = cast(
              x[i] * BigInt(layer.weights.values[i * layer.units + j]),
              fx + fw,
              layer.product,
            );
            products.push(p);
            pFrac = pf;
          }
          const bias = layer.bias ? BigInt(layer.bias.values[j]) : undefined;
          out.push(finish(products, pFrac, bias, layer.bias ? f(layer.bias.type) : 0, layer));
        }
        shape = [layer.units];
        fx = f(layer.output);
        break;
      }
      case "conv2d": {
        const [h, w, c] = shape;
        const [kh, kw] = layer.kernel;
        const [sh, sw] = layer.stride;
        const same = layer.padding === "same";
        const oh = same ? Math.ceil(h / sh) : Math.floor((h - kh) / sh) + 1;
        const ow = same ? Math.ceil(w / sw) : Math.floor((w - kw) / sw) + 1;
        const py = same ? Math.floor(Math.max((oh - 1) * sh + kh - h, 0) / 2) : 0;
        const px = same ? Math.floor(Math.max((ow - 1) * sw + kw - w, 0) / 2) : 0;
        const fw = f(layer.weights.type);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let o = 0; o < layer.filters; o++) {
              const products: bigint[] = [];
              let pFrac = fx + fw;
              for (let dy = 0; dy < kh; dy++)
                for (let dx = 0; dx < kw; dx++)
                  for (let ci = 0; ci < c; ci++) {
                    const y = oy * sh + dy - py;
                    const xx = ox * sw + dx - px;
                    const v = y < 0 || y >= h || xx < 0 || xx >= w ? 0n : x[(y * w + xx) * c + ci];
                    const wt = BigInt(layer.weights.values[((dy * kw + dx) * c + ci) * layer.filters + o]);
                    const [p, pf] = cast(v * wt, fx + fw, layer.product);
                    products.push(p);
                    pFrac = pf;
                  }
              const bias = layer.bias ? BigInt(layer.bias.values[o]) : undefined;
              out.push(finish(products, pFrac, bias, layer.bias ? f(layer.bias.type) : 0, layer));
            }
        shape = [oh, ow, layer.filters];
        fx = f(layer.output);
        break;
      }
      case "avgpool2d": {
        const [h, w, c] = shape;
        const [ph, pw] = layer.pool;
        const oh = Math.floor((h - ph) / layer.stride[0]) + 1;
        const ow = Math.floor((w - pw) / layer.stride[1]) + 1;
        const k = Math.log2(ph * pw);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ci = 0; ci < c; ci++) {
              const terms: bigint[] = [];
              for (let dy = 0; dy < ph; dy++)
                for (let dx = 0; dx < pw; dx++)
                  terms.push(x[((oy * layer.stride[0] + dy) * w + ox * layer.stride[1] + dx) * c + ci]);
              out.push(finish(terms, fx + k, undefined, 0, layer));
            }
        shape = [oh, ow, c];
        fx = f(layer.output);
        break;
      }
      case "batchnorm": {
        const c = shape[shape.length - 1];
        const fs = f(layer.scale.type);
        x.forEach((v, i) => {
          const [p, pf] = cast(v * BigInt(layer.scale.values[i % c]), fx + fs, layer.product);
          out.push(finish([p], pf, BigInt(layer.shift.values[i % c]), f(layer.shift.type), layer));
        });
        fx = f(layer.output);
        break;
      }
      case "relu":
      case "cast":
        for (const v of x) out.push(referenceCast(layer.op === "relu" && v < 0n ? 0n : v, fx, layer.output));
        fx = f(layer.output);
        break;
      case "reshape":
        out.push(...x);
        shape = [...layer.shape];
        break;
      case "flatten":
        out.push(...x);
        shape = [x.length];
        break;
    }
    x = out;
  }
  return x;
}
