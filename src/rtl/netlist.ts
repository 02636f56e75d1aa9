import { match } from "ts-pattern";
import { type OverflowMode, quantize, type RoundingMode, signedBits, unsignedBits } from "../fixed/index.js";

/**
 * The netlist IR: a static single-assignment list of integer operations. Every node holds an
 * integer (no implicit scale: the lowering tracks binary points) whose exact interval
 * [lo, hi] is known, which fixes its width and signedness. Nodes only refer to earlier
 * nodes, so the list is already in topological order.
 *
 * Pipeline registers are not nodes: the scheduler assigns each node a stage and the printer
 * inserts registers wherever a value crosses a stage boundary. They never change a value.
 */
export type NetOp =
  | { readonly op: "input"; readonly index: number }
  | { readonly op: "const"; readonly value: bigint }
  /** (a << shiftA) + (b << shiftB), or minus when `sub`. One carry chain. */
  | {
      readonly op: "add";
      readonly a: number;
      readonly shiftA: number;
      readonly b: number;
      readonly shiftB: number;
      readonly sub: boolean;
    }
  | { readonly op: "neg"; readonly a: number }
  | { readonly op: "relu"; readonly a: number }
  /** round(a / 2^shift) with an ap_fixed rounding mode; shift >= 1. */
  | { readonly op: "shr"; readonly a: number; readonly shift: number; readonly round: RoundingMode }
  /** a << shift; free in hardware (wiring). */
  | { readonly op: "shl"; readonly a: number; readonly shift: number }
  /** Fits a into `width` bits with an ap_fixed overflow mode. */
  | {
      readonly op: "sat";
      readonly a: number;
      readonly signed: boolean;
      readonly width: number;
      readonly overflow: OverflowMode;
    };

export type NetNode = NetOp & {
  readonly id: number;
  /** Readable prefix for the printed signal: layer and neuron. */
  readonly name: string;
  readonly lo: bigint;
  readonly hi: bigint;
};

export interface Netlist {
  readonly nodes: readonly NetNode[];
  readonly inputCount: number;
  readonly inputSigned: boolean;
  readonly inputWidth: number;
  readonly outputs: readonly number[];
  readonly outputSigned: boolean;
  readonly outputWidth: number;
}

/** Width of a node: the fewest bits holding its interval, two's complement when it can be negative. */
export function nodeWidth(n: { lo: bigint; hi: bigint }): number {
  if (n.lo < 0n) return Math.max(signedBits(n.lo), signedBits(n.hi));
  return Math.max(1, unsignedBits(n.hi));
}
export const nodeSigned = (n: { lo: bigint }): boolean => n.lo < 0n;

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** The cast `sat` performs, as an ap_fixed type with no fractional bits. */
export function satType(n: { signed: boolean; width: number; overflow: OverflowMode }) {
  return {
    signed: n.signed,
    width: n.width,
    int: n.width,
    round: "TRN" as const,
    overflow: n.overflow,
  };
}

/** The rounding `shr` performs, as a cast to a type too wide to overflow. */
function shrValue(v: bigint, shift: number, round: RoundingMode): bigint {
  return quantize(v, shift, { signed: true, width: 4096, int: 4096, round, overflow: "SAT" });
}

/** One operation applied to operand values: the single definition of every op's meaning. */
export function applyOp(op: NetOp, value: (id: number) => bigint, inputs: (index: number) => bigint): bigint {
  return match(op)
    .with({ op: "input" }, (o) => inputs(o.index))
    .with({ op: "const" }, (o) => o.value)
    .with({ op: "add" }, (o) => {
      const a = value(o.a) << BigInt(o.shiftA);
      const b = value(o.b) << BigInt(o.shiftB);
      return o.sub ? a - b : a + b;
    })
    .with({ op: "neg" }, (o) => -value(o.a))
    .with({ op: "relu" }, (o) => max(value(o.a), 0n))
    .with({ op: "shr" }, (o) => shrValue(value(o.a), o.shift, o.round))
    .with({ op: "shl" }, (o) => value(o.a) << BigInt(o.shift))
    .with({ op: "sat" }, (o) => quantize(value(o.a), 0, satType(o)))
    .exhaustive();
}

/**
 * Builds a netlist node by node, computing each node's exact interval from its operands'.
 * Operations on constants fold to constants, and identical operations are shared.
 */
export class NetlistBuilder {
  readonly nodes: NetNode[] = [];
  private readonly memo = new Map<string, number>();

  constructor(
    readonly inputCount: number,
    readonly inputSigned: boolean,
    readonly inputWidth: number,
    inputLo: bigint,
    inputHi: bigint,
  ) {
    for (let i = 0; i < inputCount; i++) this.push({ op: "input", index: i }, "in", inputLo, inputHi);
  }

  node(id: number): NetNode {
    return this.nodes[id];
  }

  constant(value: bigint): number {
    const key = `c${value}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const id = this.push({ op: "const", value }, "k", value, value);
    this.memo.set(key, id);
    return id;
  }

  isConst(id: number): boolean {
    return this.nodes[id].op === "const";
  }

  add(name: string, a: number, shiftA: number, b: number, shiftB: number, sub: boolean): number {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    // Adding zero is a shift (or a negation).
    if (nb.op === "const" && nb.value === 0n) return this.shift(name, a, -shiftA, "TRN");
    if (na.op === "const" && na.value === 0n) {
      const shifted = this.shift(name, b, -shiftB, "TRN");
      return sub ? this.neg(name, shifted) : shifted;
    }
    const sa = BigInt(shiftA);
    const sb = BigInt(shiftB);
    const lo = sub ? (na.lo << sa) - (nb.hi << sb) : (na.lo << sa) + (nb.lo << sb);
    const hi = sub ? (na.hi << sa) - (nb.lo << sb) : (na.hi << sa) + (nb.hi << sb);
    return this.make({ op: "add", a, shiftA, b, shiftB, sub }, name, lo, hi);
  }

  neg(name: string, a: number): number {
    const n = this.nodes[a];
    return this.make({ op: "neg", a }, name, -n.hi, -n.lo);
  }

  relu(name: string, a: number): number {
    const n = this.nodes[a];
    if (n.lo >= 0n) return a;
    return this.make({ op: "relu", a }, name, max(n.lo, 0n), max(n.hi, 0n));
  }

  /** a * 2^-shift rounded (shift > 0) or a * 2^shift exactly (shift < 0). */
  shift(name: string, a: number, shift: number, round: RoundingMode): number {
    const n = this.nodes[a];
    if (shift === 0) return a;
    // A shift of a left shift: round(v * 2^s / 2^d) = round(v / 2^(d - s)), exactly.
    if (n.op === "shl") return this.shift(name, n.a, shift - n.shift, round);
    if (shift < 0) {
      const s = BigInt(-shift);
      return this.make({ op: "shl", a, shift: -shift }, name, n.lo << s, n.hi << s);
    }
    // Rounding is monotone, so the interval's ends map to the result's ends.
    return this.make(
      { op: "shr", a, shift, round },
      name,
      shrValue(n.lo, shift, round),
      shrValue(n.hi, shift, round),
    );
  }

  /** Fits a into the given integer type; the identity (no node) when it always fits. */
  saturate(name: string, a: number, signed: boolean, width: number, overflow: OverflowMode): number {
    const n = this.nodes[a];
    const t = satType({ signed, width, overflow });
    const tmin = signed ? -(1n << BigInt(width - 1)) : 0n;
    const tmax = signed ? (1n << BigInt(width - 1)) - 1n : (1n << BigInt(width)) - 1n;
    if (n.lo >= tmin && n.hi <= tmax) return a;
    // The results of the interval's ends, of the type's ends and of zero bound every result.
    const candidates = [n.lo, n.hi, tmin, tmax, 0n]
      .filter((v) => v >= n.lo && v <= n.hi)
      .map((v) => quantize(v, 0, t));
    // Overflowed values go to zero (SAT_ZERO) or anywhere in the type (WRAP, bounded loosely).
    if (overflow === "SAT_ZERO") candidates.push(0n);
    if (overflow === "WRAP") candidates.push(tmin, tmax);
    const lo = candidates.reduce(min);
    const hi = candidates.reduce(max);
    return this.make({ op: "sat", a, signed, width, overflow }, name, lo, hi);
  }

  /**
   * Tightens a node's interval with a bound proven elsewhere (exact range analysis of the
   * model). Interval arithmetic over shared subexpressions is sound but loose; this keeps
   * widths exact. Consumers built earlier keep their own (sound) intervals.
   */
  narrow(id: number, lo: bigint, hi: bigint): void {
    const n = this.nodes[id];
    const nlo = max(n.lo, lo);
    const nhi = min(n.hi, hi);
    if (nlo > nhi) throw new Error(`internal: node ${id} range [${n.lo}, ${n.hi}] misses [${lo}, ${hi}]`);
    this.nodes[id] = { ...n, lo: nlo, hi: nhi };
  }

  build(outputs: readonly number[], outputSigned: boolean, outputWidth: number): Netlist {
    return {
      nodes: this.nodes,
      inputCount: this.inputCount,
      inputSigned: this.inputSigned,
      inputWidth: this.inputWidth,
      outputs,
      outputSigned,
      outputWidth,
    };
  }

  /** Folds constants and reuses an identical earlier node. */
  private make(op: NetOp, name: string, lo: bigint, hi: bigint): number {
    // A node whose exact range is one value is that constant.
    if (lo === hi) return this.constant(lo);
    const operands = operandsOf(op);
    if (operands.length > 0 && operands.every((o) => this.isConst(o))) {
      return this.constant(
        applyOp(
          op,
          (id) => (this.nodes[id] as { value: bigint }).value,
          () => 0n,
        ),
      );
    }
    const key = JSON.stringify(op, (_, v) => (typeof v === "bigint" ? v.toString() : v));
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const id = this.push(op, name, lo, hi);
    this.memo.set(key, id);
    return id;
  }

  private push(op: NetOp, name: string, lo: bigint, hi: bigint): number {
    const id = this.nodes.length;
    this.nodes.push({ ...op, id, name, lo, hi } as NetNode);
    return id;
  }
}

export function operandsOf(op: NetOp): number[] {
  return match(op)
    .with({ op: "input" }, { op: "const" }, () => [])
    .with({ op: "add" }, (o) => [o.a, o.b])
    .with({ op: "neg" }, { op: "relu" }, { op: "shr" }, { op: "shl" }, { op: "sat" }, (o) => [o.a])
    .exhaustive();
}

/**
 * Evaluates the netlist on one event of input integers; returns the output integers. Checks
 * every node's value against its interval, so a wrong width cannot go unnoticed in tests.
 */
export function evaluateNetlist(net: Netlist, inputs: ArrayLike<number | bigint>): bigint[] {
  const v: bigint[] = new Array(net.nodes.length);
  for (const n of net.nodes) {
    const x = applyOp(
      n,
      (id) => v[id],
      (i) => BigInt(inputs[i]),
    );
    if (x < n.lo || x > n.hi) {
      throw new Error(`netlist node ${n.id} (${n.name}, ${n.op}) = ${x} outside [${n.lo}, ${n.hi}]`);
    }
    v[n.id] = x;
  }
  return net.outputs.map((id) => v[id]);
}

/**
 * Removes nodes no output depends on (operations superseded during lowering) and renumbers
 * the rest in order. Inputs always stay: they are the ports.
 */
export function pruneNetlist(net: Netlist): Netlist {
  const live = new Uint8Array(net.nodes.length);
  for (const id of net.outputs) live[id] = 1;
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    const n = net.nodes[i];
    if (n.op === "input") live[i] = 1;
    if (live[i]) for (const a of operandsOf(n)) live[a] = 1;
  }
  const map = new Int32Array(net.nodes.length).fill(-1);
  const nodes: NetNode[] = [];
  for (const n of net.nodes) {
    if (!live[n.id]) continue;
    map[n.id] = nodes.length;
    const r = (id: number) => map[id];
    const op: NetOp = match(n as NetOp)
      .with({ op: "input" }, { op: "const" }, (o) => o)
      .with({ op: "add" }, (o) => ({ ...o, a: r(o.a), b: r(o.b) }))
      .with({ op: "neg" }, { op: "relu" }, { op: "shr" }, { op: "shl" }, { op: "sat" }, (o) => ({
        ...o,
        a: r(o.a),
      }))
      .exhaustive();
    nodes.push({ ...op, id: nodes.length, name: n.name, lo: n.lo, hi: n.hi } as NetNode);
  }
  return { ...net, nodes, outputs: net.outputs.map((id) => map[id]) };
}
