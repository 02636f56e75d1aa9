import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FixedType, fixedType, sfixed, signedBits } from "../../src/fixed/index.js";
import { type ModelIR, modelToJson } from "../../src/ir/index.js";
import { type DesignReport, writeDesignReport } from "../../src/rtl/report.js";
import { rng } from "../../src/util/rng.js";

/**
 * Hand-made designs that obey the emitter's contract (ports, bus layout, II = 1, valid
 * pipeline), generated in code with the model IR they implement: a dense layer with small
 * non-zero integer weights, computed as registered products followed by a registered binary
 * adder tree per unit. The emitter is not on this branch; these stand in for its output.
 */
export interface DenseFixtureOptions {
  readonly inputs: number;
  readonly units: number;
  readonly input: FixedType;
  readonly seed?: number;
  readonly top?: string;
  /** Adds 1 to unit 0 whenever input element 0 is at its maximum. */
  readonly bug?: boolean;
  /** A broken valid path: out_valid stays high from the first output on, bubbles or not. */
  readonly stickyValid?: boolean;
  /** States a latency this many cycles off in report.json. */
  readonly reportLatencyOffset?: number;
}

export interface DenseFixture {
  readonly verilog: string;
  readonly model: ModelIR;
  readonly report: DesignReport;
  readonly weights: readonly number[];
}

export function denseFixture(o: DenseFixtureOptions): DenseFixture {
  const top = o.top ?? "dense_fx";
  const r = rng(o.seed ?? 7);
  const weights = Array.from({ length: o.inputs * o.units }, () => r.pick([-4, -3, -2, -1, 1, 2, 3]));
  const lo = o.input.signed ? -(2 ** (o.input.width - 1)) : 0;
  const hi = o.input.signed ? 2 ** (o.input.width - 1) - 1 : 2 ** o.input.width - 1;
  let acc = 2;
  for (let u = 0; u < o.units; u++) {
    let smin = 0;
    let smax = 0;
    for (let i = 0; i < o.inputs; i++) {
      const w = weights[i * o.units + u];
      smin += Math.min(w * lo, w * hi);
      smax += Math.max(w * lo, w * hi);
    }
    acc = Math.max(acc, signedBits(BigInt(smin)), signedBits(BigInt(smax)) + (o.bug ? 1 : 0));
  }
  const outType = sfixed(acc, acc - (o.input.width - o.input.int));
  const model: ModelIR = {
    format: "distill-ir",
    version: 1,
    name: `${top}-model`,
    input: { shape: [o.inputs], type: o.input },
    layers: [
      {
        op: "dense",
        name: "dense",
        units: o.units,
        weights: { type: sfixed(3, 3), shape: [o.inputs, o.units], values: weights },
        product: "exact",
        accum: "exact",
        output: outType,
      },
    ],
  };

  const W = o.input.width;
  const A = acc;
  const lines: string[] = [];
  const levels = Math.ceil(Math.log2(o.inputs));
  const latency = 1 + levels;
  lines.push(
    `module ${top} (`,
    "  input wire clk,",
    "  input wire rst,",
    "  input wire in_valid,",
    `  input wire [${o.inputs * W - 1}:0] in_data,`,
    "  output wire out_valid,",
    `  output wire [${o.units * A - 1}:0] out_data`,
    ");",
  );
  const last = latency === 1 ? "valid" : `valid[${latency - 1}]`;
  if (latency === 1) {
    lines.push("  reg valid;", "  always @(posedge clk) valid <= rst ? 1'b0 : in_valid;");
  } else {
    lines.push(
      `  reg [${latency - 1}:0] valid;`,
      `  always @(posedge clk) valid <= rst ? ${latency}'d0 : {valid[${latency - 2}:0], in_valid};`,
    );
  }
  if (o.stickyValid) {
    lines.push(
      "  reg seen;",
      `  always @(posedge clk) seen <= rst ? 1'b0 : seen | ${last};`,
      `  assign out_valid = ${last} | seen;`,
    );
  } else {
    lines.push(`  assign out_valid = ${last};`);
  }
  for (let i = 0; i < o.inputs; i++) {
    const x = `in_data[${i * W + W - 1}:${i * W}]`;
    const ext = o.input.signed ? `{{${A - W}{in_data[${i * W + W - 1}]}}, ${x}}` : `{${A - W}'d0, ${x}}`;
    lines.push(`  wire signed [${A - 1}:0] x${i} = ${ext};`);
  }
  const max = o.input.signed ? `${W}'d${2 ** (W - 1) - 1}` : `${W}'d${2 ** W - 1}`;
  for (let u = 0; u < o.units; u++) {
    let names: string[] = [];
    for (let i = 0; i < o.inputs; i++) {
      const w = weights[i * o.units + u];
      const n = `p${u}_${i}`;
      const product = w === 1 ? `x${i}` : `x${i} * ${w < 0 ? "-" : ""}${A}'sd${Math.abs(w)}`;
      const value =
        o.bug && u === 0 && i === 0
          ? `(in_data[${W - 1}:0] == ${max}) ? ${product} + ${A}'sd1 : ${product}`
          : product;
      lines.push(`  reg signed [${A - 1}:0] ${n};`, `  always @(posedge clk) ${n} <= ${value};`);
      names.push(n);
    }
    for (let level = 0; names.length > 1; level++) {
      const next: string[] = [];
      for (let k = 0; k < names.length; k += 2) {
        const n = `s${u}_${level}_${k >> 1}`;
        lines.push(`  reg signed [${A - 1}:0] ${n};`);
        lines.push(
          `  always @(posedge clk) ${n} <= ${k + 1 < names.length ? `${names[k]} + ${names[k + 1]}` : names[k]};`,
        );
        next.push(n);
      }
      names = next;
    }
    lines.push(`  assign out_data[${u * A + A - 1}:${u * A}] = ${names[0]};`);
  }
  lines.push("endmodule", "");
  const verilog = lines.join("\n");
  const clock = 160;
  const stated = latency + (o.reportLatencyOffset ?? 0);
  const report: DesignReport = {
    format: "distill-rtl",
    version: 1,
    generator: "distill test fixture",
    top,
    files: { verilog: [`${top}.v`], model: "model.ir.json" },
    model: { name: model.name, sha256: "" },
    target: { name: "virtex7-2", part: "xc7vx690tffg1927-2", family: "xc7" },
    clock_mhz: clock,
    latency_cycles: stated,
    latency_ns: (stated * 1000) / clock,
    latency_bx: (stated * 1000) / clock / 25,
    latency_budget_bx: 8,
    ii: 1,
    input: { type: o.input, shape: [o.inputs], elements: o.inputs, width: W, signed: o.input.signed },
    output: { type: outType, shape: [o.units], elements: o.units, width: A, signed: true },
    stats: { stages: latency, adders: o.units * (o.inputs - 1), registers: 0, luts_estimate: 0 },
  };
  return { verilog, model, report, weights };
}

/** Writes a fixture as an emitted design directory (Verilog, model.ir.json, report.json). */
export function writeFixture(dir: string, f: DenseFixture): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, f.report.files.verilog[0]), f.verilog);
  const modelText = `${JSON.stringify(modelToJson(f.model), null, 1)}\n`;
  writeFileSync(join(dir, f.report.files.model), modelText);
  const sha256 = createHash("sha256").update(modelText).digest("hex");
  writeDesignReport(dir, { ...f.report, model: { name: f.model.name, sha256 } });
  return dir;
}

export const u10 = fixedType(false, 10, 10);
export const s8 = sfixed(8, 8);
