import { match } from "ts-pattern";
import { castIsExact, type FixedType, frac, maxMantissa, minMantissa } from "../fixed/index.js";
import { analyzeModel, type LinearAnalysis, type ModelIR } from "../ir/index.js";
import { csd } from "./csd.js";
import { type Netlist, NetlistBuilder, pruneNetlist } from "./netlist.js";
import { extractCommonTerms, sumTerms, type Term } from "./shiftadd.js";

export interface LoweringStats {
  /** Patterns extracted by common-subexpression elimination, over all layers. */
  readonly sharedPatterns: number;
}

/**
 * Lowers a model IR to a netlist with the same integer semantics. Every constant
 * multiplication becomes shifts and adds of its canonical signed digits, shared across each
 * layer's whole weight matrix; casts become rounding shifts and saturations only where
 * range analysis says they can change a value.
 */
export function lowerModel(model: ModelIR): { netlist: Netlist; stats: LoweringStats } {
  const analysis = analyzeModel(model);
  const inType = model.input.type;
  const count = model.input.shape.reduce((a, b) => a * b, 1);
  const b = new NetlistBuilder(count, inType.signed, inType.width, minMantissa(inType), maxMantissa(inType));
  let x: number[] = Array.from({ length: count }, (_, i) => i);
  let xFrac = frac(inType);
  let sharedPatterns = 0;
  const level = levels(b);
  for (const a of analysis.layers) {
    const name = sanitize(a.layer.name);
    if (a.linear) {
      const r = lowerLinear(b, a.linear, x, name, level);
      sharedPatterns += r.shared;
      x = r.rows.map((id, i) => cast(b, id, r.frac, a.outType, `${name}_o${i}`));
    } else {
      x = match(a.layer)
        .with({ op: "relu" }, (l) =>
          x.map((id, i) => cast(b, b.relu(`${name}_o${i}`, id), xFrac, l.output, `${name}_o${i}`)),
        )
        .with({ op: "cast" }, (l) => x.map((id, i) => cast(b, id, xFrac, l.output, `${name}_o${i}`)))
        .with({ op: "reshape" }, { op: "flatten" }, () => x)
        .otherwise((l) => {
          throw new Error(`unreachable: ${l.op} has a linear analysis`);
        });
    }
    xFrac = frac(a.outType);
  }
  const outType = analysis.layers.length ? analysis.layers[analysis.layers.length - 1].outType : inType;
  return { netlist: pruneNetlist(b.build(x, outType.signed, outType.width)), stats: { sharedPatterns } };
}

/** quantize(value at fromFrac, to): a rounding shift, then saturation only if it can overflow. */
function cast(b: NetlistBuilder, id: number, fromFrac: number, to: FixedType, name: string): number {
  const shifted = b.shift(name, id, fromFrac - frac(to), to.round);
  return b.saturate(name, shifted, to.signed, to.width, to.overflow);
}

/** Each row of a linear layer as one node holding the sum at `frac`, before the accumulator cast. */
function lowerLinear(
  b: NetlistBuilder,
  la: LinearAnalysis,
  x: readonly number[],
  name: string,
  level: (sig: number) => number,
): { rows: number[]; frac: number; shared: number } {
  const f = la.form;
  const productExact = castIsExact(la.productLo, la.productHi, la.exactProductFrac, la.product);
  let shared = 0;
  let rowsTerms: Term[][];
  let rowConst: bigint[];
  let sumFrac: number;
  if (productExact) {
    // Products keep their value, so each row is one sum of weight digits applied to inputs.
    sumFrac = f.bias ? Math.max(la.exactProductFrac, f.biasFrac) : la.exactProductFrac;
    const ps = sumFrac - la.exactProductFrac;
    rowsTerms = [];
    rowConst = [];
    for (let r = 0; r < f.rows; r++) {
      const terms: Term[] = [];
      let c = f.bias ? BigInt(f.bias[r]) << BigInt(sumFrac - f.biasFrac) : 0n;
      for (let k = f.rowPtr[r]; k < f.rowPtr[r + 1]; k++) {
        const w = BigInt(f.weight[k]);
        const sig = x[f.col[k]];
        const n = b.node(sig);
        if (n.op === "const") c += (n.value * w) << BigInt(ps);
        else for (const d of csd(w)) terms.push({ sig, shift: d.shift + ps, neg: d.neg });
      }
      rowsTerms.push(terms);
      rowConst.push(c);
    }
  } else {
    // Each product is cast on its own before the sum: build products first (sharing digit
    // patterns between products of one input), cast them, then sum the cast products.
    const pFrac = frac(la.product);
    sumFrac = f.bias ? Math.max(pFrac, f.biasFrac) : pFrac;
    const productTerms: Term[][] = [];
    const productConst: bigint[] = [];
    for (let k = 0; k < f.col.length; k++) {
      const sig = x[f.col[k]];
      const n = b.node(sig);
      const w = BigInt(f.weight[k]);
      if (n.op === "const") {
        productTerms.push([]);
        productConst.push(n.value * w);
      } else {
        productTerms.push(csd(w).map((d) => ({ sig, shift: d.shift, neg: d.neg })));
        productConst.push(0n);
      }
    }
    shared += extractCommonTerms(b, productTerms, `${name}_p`).extracted;
    const products = productTerms.map((terms, k) =>
      cast(
        b,
        sumTerms(b, terms, productConst[k], `${name}_p`, level),
        la.exactProductFrac,
        la.product,
        `${name}_p`,
      ),
    );
    const ps = sumFrac - pFrac;
    rowsTerms = [];
    rowConst = [];
    for (let r = 0; r < f.rows; r++) {
      const terms: Term[] = [];
      let c = f.bias ? BigInt(f.bias[r]) << BigInt(sumFrac - f.biasFrac) : 0n;
      for (let k = f.rowPtr[r]; k < f.rowPtr[r + 1]; k++) {
        const n = b.node(products[k]);
        if (n.op === "const") c += n.value << BigInt(ps);
        else terms.push({ sig: products[k], shift: ps, neg: false });
      }
      rowsTerms.push(terms);
      rowConst.push(c);
    }
  }
  shared += extractCommonTerms(b, rowsTerms, `${name}_s`).extracted;
  const rows = rowsTerms.map((terms, r) => {
    const sum = sumTerms(b, terms, rowConst[r], `${name}_o${r}`, level);
    // Range analysis knows each row's exact interval; the adder tree's is looser.
    const d = sumFrac - la.sumFrac;
    if (d >= 0 && b.node(sum).op !== "const" && b.node(sum).op !== "input") {
      b.narrow(sum, la.sum.lo[r] << BigInt(d), la.sum.hi[r] << BigInt(d));
    }
    // The accumulator cast, when it can change the value; otherwise the sum passes unchanged.
    const n = b.node(sum);
    if (castIsExact(n.lo, n.hi, sumFrac, la.accum)) return { id: sum, frac: sumFrac };
    return { id: cast(b, sum, sumFrac, la.accum, `${name}_o${r}_acc`), frac: frac(la.accum) };
  });
  // Rows cast to the accumulator carry its frac, the others the sum's: bring them to one.
  const outFrac = Math.max(...rows.map((r) => r.frac), sumFrac);
  return {
    rows: rows.map((r, i) => b.shift(`${name}_o${i}`, r.id, r.frac - outFrac, "TRN")),
    frac: outFrac,
    shared,
  };
}

/** Adder depth of each signal, memoised as the netlist grows. */
function levels(b: NetlistBuilder): (sig: number) => number {
  const memo: number[] = [];
  const level = (sig: number): number => {
    const cached = memo[sig];
    if (cached !== undefined) return cached;
    const n = b.node(sig);
    const v = match(n)
      .with({ op: "input" }, { op: "const" }, () => 0)
      .with({ op: "add" }, (o) => 1 + Math.max(level(o.a), level(o.b)))
      .with({ op: "neg" }, { op: "shr" }, { op: "relu" }, { op: "sat" }, (o) => 1 + level(o.a))
      .with({ op: "shl" }, (o) => level(o.a))
      .exhaustive();
    memo[sig] = v;
    return v;
  };
  return level;
}

export function sanitize(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z]/.test(s) ? s : `l_${s}`;
}
