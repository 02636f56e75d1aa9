import { match } from "ts-pattern";
import type { RoundingMode } from "../fixed/index.js";
import { type Netlist, type NetNode, nodeSigned, nodeWidth } from "./netlist.js";
import { lastUses, type Schedule } from "./schedule.js";

/**
 * The Verilog-2001 printer. Every signal is an unsigned vector holding the two's complement
 * bits of its node; because each node's width holds its exact range, every operation can be
 * computed modulo 2^width, with operands explicitly sign- or zero-extended (or cut) to that
 * width. No expression mixes signedness or relies on implicit width rules, so Verilator,
 * Yosys and Vivado all read the same arithmetic.
 */
export interface VerilogOptions {
  readonly top: string;
  /** Comment lines for the file header. */
  readonly header: readonly string[];
}

/** Tracks which bits of each named vector are read, so unread bits can be declared as such. */
class BitUse {
  private readonly used = new Map<string, Uint8Array>();
  declare(name: string, width: number): void {
    this.used.set(name, new Uint8Array(width));
  }
  mark(name: string, lo: number, hi: number): void {
    const u = this.used.get(name);
    if (!u) return;
    for (let i = lo; i <= hi; i++) u[i] = 1;
  }
  /** `name[i:j]` ranges never read, for the _unused_bits sink that keeps lint honest. */
  unread(): string[] {
    const out: string[] = [];
    for (const [name, u] of this.used) {
      let i = 0;
      while (i < u.length) {
        if (u[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j + 1 < u.length && !u[j + 1]) j++;
        out.push(i === j ? `${name}[${i}]` : `${name}[${j}:${i}]`);
        i = j + 1;
      }
    }
    return out;
  }
}

const hex = (width: number, v: bigint) => `${width}'h${BigInt.asUintN(width, v).toString(16)}`;

export function printVerilog(net: Netlist, sched: Schedule, o: VerilogOptions): string {
  const nodes = net.nodes;
  const S = sched.stages;
  const inBits = net.inputCount * net.inputWidth;
  const outBits = net.outputs.length * net.outputWidth;
  const use = new BitUse();
  const w = (id: number) => nodeWidth(nodes[id]);

  const lastUse = lastUses(net, sched);

  const wireName = (n: NetNode) => (n.op === "input" ? `in_${n.index}` : `${n.name}_${n.id}`);
  const regName = (n: NetNode, rank: number) => `${wireName(n)}_q${rank}`;
  /** How node `id` is seen by logic in stage t: its wire in its own stage, else a register. */
  const ref = (id: number, t: number) => {
    const n = nodes[id];
    return sched.stage[id] === t ? wireName(n) : regName(n, t - 1);
  };

  /** Bit i of node id as seen in stage t, sign- or zero-extended beyond its width. */
  const bit = (id: number, t: number, i: number): string => {
    const width = w(id);
    const name = ref(id, t);
    if (i < width) {
      use.mark(name, i, i);
      return `${name}[${i}]`;
    }
    if (!nodeSigned(nodes[id])) return "1'b0";
    use.mark(name, width - 1, width - 1);
    return `${name}[${width - 1}]`;
  };

  /** (value(id) << shift) as exactly `width` bits (mod 2^width). */
  const ext = (id: number, t: number, width: number, shift = 0): string => {
    const n = nodes[id];
    if (n.op === "const") return hex(width, n.value << BigInt(shift));
    const avail = width - shift;
    if (avail <= 0) return `${width}'h0`;
    const wn = w(id);
    const name = ref(id, t);
    let body: string;
    if (wn >= avail) {
      use.mark(name, 0, avail - 1);
      body = wn === avail ? name : avail === 1 ? `${name}[0]` : `${name}[${avail - 1}:0]`;
    } else {
      use.mark(name, 0, wn - 1);
      const fill = nodeSigned(n) ? `${name}[${wn - 1}]` : "1'b0";
      body = avail - wn === 1 ? `{${fill}, ${name}}` : `{{${avail - wn}{${fill}}}, ${name}}`;
    }
    return shift > 0 ? `{${body}, ${shift}'b0}` : body;
  };

  /** floor(value(id) / 2^k) as exactly `width` bits. */
  const extHigh = (id: number, t: number, width: number, k: number): string => {
    const n = nodes[id];
    if (n.op === "const") return hex(width, n.value >> BigInt(k));
    const bits: string[] = [];
    for (let i = k + width - 1; i >= k; i--) bits.push(bit(id, t, i));
    return compactConcat(bits);
  };

  const body = (n: NetNode, t: number): string => {
    const W = w(n.id);
    return match(n)
      .with({ op: "input" }, { op: "const" }, () => {
        throw new Error("unreachable: inputs and constants have no logic");
      })
      .with({ op: "add" }, (o) => {
        const op = o.sub ? "-" : "+";
        // Low bits of an unshifted operand that is added pass through without logic.
        const k = Math.max(o.shiftA, o.shiftB);
        const minShift = Math.min(o.shiftA, o.shiftB);
        const low = o.shiftA === 0 ? o.a : o.b;
        const high = o.shiftA === 0 ? o.b : o.a;
        const lowAdded = o.shiftA === 0 || !o.sub;
        if (minShift === 0 && k > 0 && k < W && lowAdded) {
          const upper =
            o.shiftA === 0
              ? `${extHigh(low, t, W - k, k)} ${op} ${ext(high, t, W - k)}`
              : `${ext(high, t, W - k)} ${op} ${extHigh(low, t, W - k, k)}`;
          return `{(${upper}), ${ext(low, t, k)}}`;
        }
        return `${ext(o.a, t, W, o.shiftA)} ${op} ${ext(o.b, t, W, o.shiftB)}`;
      })
      .with({ op: "neg" }, (o) => `-${ext(o.a, t, W)}`)
      .with({ op: "relu" }, (o) => `${bit(o.a, t, w(o.a) - 1)} ? ${W}'h0 : ${ext(o.a, t, W)}`)
      .with({ op: "shl" }, (o) => ext(o.a, t, W, o.shift))
      .with({ op: "shr" }, (o) => {
        const q = extHigh(o.a, t, W, o.shift);
        if (o.round === "TRN") return q;
        const sign = () => (nodeSigned(nodes[o.a]) ? bit(o.a, t, w(o.a) - 1) : "1'b0");
        const inc = roundIncrement(o.round, o.shift, (i) => bit(o.a, t, i), sign);
        return `${q} + {${W > 1 ? `${W - 1}'h0, ` : ""}${inc}}`;
      })
      .with({ op: "sat" }, (o) => {
        const a = nodes[o.a];
        const wa = w(o.a);
        const tmin = o.signed ? -(1n << BigInt(o.width - 1)) : 0n;
        const tmax = o.signed ? (1n << BigInt(o.width - 1)) - 1n : (1n << BigInt(o.width)) - 1n;
        if (o.overflow === "WRAP") return ext(o.a, t, W);
        // Overflow tests, only for the directions range analysis says can happen. Bits from
        // the target's top magnitude bit up to below a's sign bit must all equal the sign.
        const k = o.signed ? o.width - 1 : o.width;
        const signed = nodeSigned(a);
        const upper = () => {
          const bits: string[] = [];
          for (let i = signed ? wa - 2 : wa - 1; i >= k; i--) bits.push(bit(o.a, t, i));
          return bits;
        };
        const sign = () => bit(o.a, t, wa - 1);
        let pos: string | undefined;
        if (a.hi > tmax) {
          const bits = upper();
          const any = bits.length ? `(|${compactConcat(bits)})` : "1'b0";
          pos = signed ? `(~${sign()} & ${any})` : any;
        }
        let neg: string | undefined;
        if (a.lo < tmin) {
          if (!o.signed) neg = sign();
          else {
            const bits = upper();
            neg = `(${sign()} & ~${bits.length ? `(&${compactConcat(bits)})` : "1'b1"})`;
          }
        }
        const posValue = o.overflow === "SAT_ZERO" ? 0n : tmax;
        const negValue = o.overflow === "SAT_ZERO" ? 0n : o.overflow === "SAT_SYM" && o.signed ? -tmax : tmin;
        let e = ext(o.a, t, W);
        if (neg) e = `${neg} ? ${hex(W, negValue)} : ${e}`;
        if (pos) e = `${pos} ? ${hex(W, posValue)} : (${e})`;
        return e;
      })
      .exhaustive();
  };

  const lines: string[] = [];
  for (const h of o.header) lines.push(`// ${h}`);
  lines.push(
    // The testbench sets a timescale; every module of a simulation needs one then.
    "`timescale 1ns / 1ps",
    `module ${o.top} (`,
    "  input  wire clk,",
    "  input  wire rst,",
    "  input  wire in_valid,",
    `  input  wire [${inBits - 1}:0] in_data,`,
    "  output wire out_valid,",
    `  output wire [${outBits - 1}:0] out_data`,
    ");",
    "",
  );

  const decls: string[] = [];
  const logic: string[] = [];
  const regs: string[] = [];
  // Inputs: slices of the bus, registered in rank 0.
  const unusedInputs: string[] = [];
  for (const n of nodes) {
    if (n.op !== "input") continue;
    const width = net.inputWidth;
    const name = wireName(n);
    if (lastUse[n.id] < 0) {
      // The model ignores this input (all its weights are zero).
      unusedInputs.push(`in_data[${n.index * width + width - 1}:${n.index * width}]`);
      continue;
    }
    decls.push(
      `  wire [${width - 1}:0] ${name} = in_data[${n.index * width + width - 1}:${n.index * width}];`,
    );
    use.declare(name, width);
    use.mark(name, 0, width - 1);
  }
  const copies: [string, number][] = [];
  // Pipeline registers: a node computed in stage s and read up to stage u is held in ranks s..u-1.
  for (const n of nodes) {
    if (n.op === "const") continue;
    const s = sched.stage[n.id];
    const width = w(n.id);
    for (let rank = s; rank < lastUse[n.id]; rank++) {
      const name = regName(n, rank);
      const from = rank === s ? wireName(n) : regName(n, rank - 1);
      decls.push(`  reg  [${width - 1}:0] ${name};`);
      regs.push(`    ${name} <= ${from};`);
      use.declare(name, width);
      copies.push([from, width]);
    }
  }
  for (let t = 1; t <= S; t++) {
    logic.push(`  // stage ${t}`);
    for (const n of nodes) {
      if (sched.stage[n.id] !== t || n.op === "input" || n.op === "const") continue;
      const name = wireName(n);
      use.declare(name, w(n.id));
      logic.push(`  wire [${w(n.id) - 1}:0] ${name} = ${body(n, t)};`);
    }
  }
  // A register reads every bit of what it copies.
  for (const [from, width] of copies) use.mark(from, 0, width - 1);
  lines.push(...decls, "", ...logic, "");
  lines.push(
    `  // valid travels with the data; reset clears it only`,
    `  reg  [${S}:0] valid_q;`,
    "  always @(posedge clk) begin",
    `    if (rst) valid_q <= ${S + 1}'h0;`,
    `    else valid_q <= ${S === 0 ? "in_valid" : `{valid_q[${S - 1}:0], in_valid}`};`,
    "  end",
    `  assign out_valid = valid_q[${S}];`,
    "",
    "  always @(posedge clk) begin",
    ...regs,
    "  end",
    "",
  );
  const outs: string[] = [];
  for (let j = net.outputs.length - 1; j >= 0; j--) outs.push(ext(net.outputs[j], S + 1, net.outputWidth));
  lines.push(`  assign out_data = {${outs.join(", ")}};`);
  const unread = [...unusedInputs, ...use.unread()];
  if (unread.length) {
    lines.push(
      "",
      "  // Bits no logic reads (dropped by truncation or never reachable); named so lint knows.",
      `  wire _unused_bits = &{1'b0, ${unread.join(", ")}, 1'b0};`,
    );
  }
  lines.push("endmodule", "");
  return lines.join("\n");
}

/** Concatenation of single-bit expressions, merging runs of one vector into part selects. */
function compactConcat(bits: readonly string[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < bits.length) {
    const m = /^(.*)\[(\d+)\]$/.exec(bits[i]);
    if (!m) {
      let j = i;
      while (j + 1 < bits.length && bits[j + 1] === bits[i]) j++;
      parts.push(j > i ? `{${j - i + 1}{${bits[i]}}}` : bits[i]);
      i = j + 1;
      continue;
    }
    const name = m[1];
    const hi = Number(m[2]);
    let j = i;
    while (j + 1 < bits.length && bits[j + 1] === `${name}[${hi - (j + 1 - i)}]`) j++;
    // Repeated sign bits: the same select several times.
    if (j === i) {
      let r = i;
      while (r + 1 < bits.length && bits[r + 1] === bits[i]) r++;
      if (r > i) {
        parts.push(`{${r - i + 1}{${bits[i]}}}`);
        i = r + 1;
        continue;
      }
    }
    const lo = hi - (j - i);
    parts.push(j > i ? `${name}[${hi}:${lo}]` : bits[i]);
    i = j + 1;
  }
  return parts.length === 1 ? parts[0] : `{${parts.join(", ")}}`;
}

/** The 1-bit rounding increment of a right shift by `shift` (ap_fixed rounding modes). */
function roundIncrement(
  mode: RoundingMode,
  shift: number,
  bit: (i: number) => string,
  neg: () => string,
): string {
  // Built on demand: each bit read is recorded, so only what a mode needs may be read.
  const half = () => bit(shift - 1);
  const rest = () => {
    const bits: string[] = [];
    for (let i = shift - 2; i >= 0; i--) bits.push(bit(i));
    return bits.length ? `(|${compactConcat(bits)})` : "1'b0";
  };
  return match(mode)
    .with("TRN", () => "1'b0")
    .with("TRN_ZERO", () => `(${neg()} & (${half()} | ${rest()}))`)
    .with("RND", () => half())
    .with("RND_ZERO", () => `(${half()} & (${rest()} | ${neg()}))`)
    .with("RND_MIN_INF", () => `(${half()} & ${rest()})`)
    .with("RND_INF", () => `(${half()} & (${rest()} | ~${neg()}))`)
    .with("RND_CONV", () => `(${half()} & (${rest()} | ${bit(shift)}))`)
    .exhaustive();
}
