import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ufixed } from "../../src/fixed/index.js";
import { evaluateBigInt, type ModelIR } from "../../src/ir/index.js";
import type { Design } from "../../src/rtl/emit.js";
import { type DesignReport, writeDesignReport } from "../../src/rtl/report.js";
import type { CosimBlock } from "../../src/sim/cosim.js";
import { randomInputs } from "./random-model.js";

/**
 * Many emitted designs behind one Verilator build: a wrapper concatenates their input and
 * output buses and delays each design's outputs to the longest latency, so a hundred random
 * models cost a few builds instead of a hundred. Each design keeps its own printed Verilog,
 * unchanged; only the wrapper is test code.
 */
export interface Bundle {
  readonly dir: string;
  readonly report: DesignReport;
  readonly block: CosimBlock;
}

interface Part {
  readonly design: Design;
  readonly inBits: number;
  readonly outBits: number;
  readonly inElems: number;
  readonly outElems: number;
  readonly inWidth: number;
  readonly outWidth: number;
  readonly inSigned: boolean;
  readonly outSigned: boolean;
}

function part(d: Design): Part {
  const n = d.netlist;
  return {
    design: d,
    inElems: n.inputCount,
    outElems: n.outputs.length,
    inWidth: n.inputWidth,
    outWidth: n.outputWidth,
    inSigned: n.inputSigned,
    outSigned: n.outputSigned,
    inBits: n.inputCount * n.inputWidth,
    outBits: n.outputs.length * n.outputWidth,
  };
}

export function writeBundle(dir: string, designs: readonly Design[], events: number, seed: number): Bundle {
  mkdirSync(dir, { recursive: true });
  const parts = designs.map(part);
  const latency = Math.max(...designs.map((d) => d.schedule.latency));
  const inBits = parts.reduce((s, p) => s + p.inBits, 0);
  const outBits = parts.reduce((s, p) => s + p.outBits, 0);
  const lines = [
    "`timescale 1ns / 1ps",
    "module bundle_top (",
    "  input  wire clk,",
    "  input  wire rst,",
    "  input  wire in_valid,",
    `  input  wire [${inBits - 1}:0] in_data,`,
    "  output wire out_valid,",
    `  output wire [${outBits - 1}:0] out_data`,
    ");",
  ];
  const outs: string[] = [];
  let inOff = 0;
  let outOff = 0;
  parts.forEach((p, k) => {
    const d = p.design;
    const hi = outOff + p.outBits - 1;
    lines.push(`  wire [${p.outBits - 1}:0] o${k};`, `  wire v${k};`);
    lines.push(
      `  ${d.top} u${k} (.clk(clk), .rst(rst), .in_valid(in_valid), .in_data(in_data[${inOff + p.inBits - 1}:${inOff}]), .out_valid(v${k}), .out_data(o${k}));`,
    );
    // Pad shorter pipelines with registers so every design's output appears together.
    let last = `o${k}`;
    for (let r = d.schedule.latency; r < latency; r++) {
      lines.push(
        `  reg [${p.outBits - 1}:0] o${k}_d${r};`,
        `  always @(posedge clk) o${k}_d${r} <= ${last};`,
      );
      last = `o${k}_d${r}`;
    }
    outs.unshift(last);
    inOff += p.inBits;
    outOff = hi + 1;
  });
  const slowest = designs.findIndex((d) => d.schedule.latency === latency);
  const unusedValid = parts.map((_, k) => `v${k}`).filter((_, k) => k !== slowest);
  lines.push(`  assign out_valid = v${slowest};`, `  assign out_data = {${outs.join(", ")}};`);
  if (unusedValid.length) lines.push(`  wire _unused_valid = &{1'b0, ${unusedValid.join(", ")}, 1'b0};`);
  lines.push("endmodule", "");
  const files = ["bundle_top.v"];
  writeFileSync(join(dir, "bundle_top.v"), lines.join("\n"));
  for (const d of designs) {
    writeFileSync(join(dir, `${d.top}.v`), d.verilog);
    files.push(`${d.top}.v`);
  }
  writeFileSync(join(dir, "models.json"), JSON.stringify(designs.map((d) => d.model.name)));
  const report: DesignReport = {
    format: "distill-rtl",
    version: 1,
    generator: "test bundle",
    top: "bundle_top",
    files: { verilog: files, model: "models.json" },
    model: { name: "bundle", sha256: "0".repeat(64) },
    target: { name: "virtex7-2", part: "xc7vx690tffg1927-2", family: "xc7" },
    clock_mhz: designs[0].clockMhz,
    latency_cycles: latency,
    latency_ns: 0,
    latency_bx: 0,
    latency_budget_bx: 8,
    ii: 1,
    input: { type: ufixed(1, 1), shape: [inBits], elements: inBits, width: 1, signed: false },
    output: { type: ufixed(1, 1), shape: [outBits], elements: outBits, width: 1, signed: false },
    stats: { stages: latency - 1, adders: 0, registers: 0, luts_estimate: 0 },
  };
  writeDesignReport(dir, report);
  return { dir, report, block: vectors(parts, events, seed, inBits, outBits) };
}

/** Packs every design's random inputs and its evaluator outputs into the bundle's buses. */
function vectors(
  parts: readonly Part[],
  events: number,
  seed: number,
  inBits: number,
  outBits: number,
): CosimBlock {
  const inBytes = Math.ceil(inBits / 8);
  const outBytes = Math.ceil(outBits / 8);
  const inputs = new Uint8Array(events * inBytes);
  const expected = new Uint8Array(events * outBytes);
  const ins = parts.map((p, k) => randomInputs(p.design.model as ModelIR, events, seed + k));
  const outs = parts.map((p, k) => evaluateBigInt(p.design.model, ins[k]));
  for (let e = 0; e < events; e++) {
    let busIn = 0n;
    let busOut = 0n;
    let inOff = 0n;
    let outOff = 0n;
    parts.forEach((p, k) => {
      for (let i = 0; i < p.inElems; i++) {
        const v = BigInt.asUintN(p.inWidth, BigInt(ins[k][e * p.inElems + i]));
        busIn |= v << (inOff + BigInt(i * p.inWidth));
      }
      for (let j = 0; j < p.outElems; j++) {
        const v = BigInt.asUintN(p.outWidth, outs[k][e * p.outElems + j]);
        busOut |= v << (outOff + BigInt(j * p.outWidth));
      }
      inOff += BigInt(p.inBits);
      outOff += BigInt(p.outBits);
    });
    for (let b = 0; b < inBytes; b++) inputs[e * inBytes + b] = Number((busIn >> BigInt(8 * b)) & 0xffn);
    for (let b = 0; b < outBytes; b++) expected[e * outBytes + b] = Number((busOut >> BigInt(8 * b)) & 0xffn);
  }
  return { count: events, inputs, expected };
}
