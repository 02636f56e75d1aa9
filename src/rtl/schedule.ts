import { match } from "ts-pattern";
import type { Target } from "../config/target.js";
import { UserError } from "../util/errors.js";
import { type Netlist, type NetNode, nodeWidth, operandsOf } from "./netlist.js";

/**
 * Pipeline stages. Register rank 0 holds the inputs; stage s (s >= 1) is the logic between
 * ranks s-1 and s; rank `stages` holds the outputs. A new event enters every clock (II = 1),
 * and an event's outputs appear `latency = stages + 1` rising edges after it is sampled.
 */
export interface Schedule {
  /** Stage of each node: 0 for inputs, -1 for constants (they need no register). */
  readonly stage: Int32Array;
  /** Estimated arrival time (ns after the clock edge) of each node in its stage. */
  readonly arrival: Float64Array;
  readonly stages: number;
  readonly latency: number;
  readonly periodNs: number;
  /** Estimated worst stage delay, ns. */
  readonly criticalNs: number;
}

export class ScheduleError extends UserError {
  override readonly name = "ScheduleError";
}

/** Bits an adder really computes: the low bits of an unshifted, added operand pass through. */
export function adderBits(n: NetNode): number {
  const w = nodeWidth(n);
  if (n.op !== "add") return w;
  const shifted = Math.max(n.shiftA, n.shiftB);
  const lowIsAdded = !n.sub || n.shiftB > 0;
  return lowIsAdded ? Math.max(1, w - shifted) : w;
}

/** Estimated combinational delay of one node, ns (routing to it included). */
export function nodeDelay(n: NetNode, t: Target): number {
  const d = t.delaysNs;
  const carry = (bits: number) => d.route + d.lut + d.carryCell * Math.ceil(bits / d.carryCellBits);
  return (
    match(n)
      .with({ op: "input" }, { op: "const" }, { op: "shl" }, () => 0)
      .with({ op: "add" }, { op: "neg" }, (o) => carry(adderBits(o)))
      .with({ op: "shr" }, (o) => (o.round === "TRN" ? 0 : carry(nodeWidth(o))))
      .with({ op: "relu" }, () => d.route + d.lut)
      // The overflow test reduces up to a few dozen bits: two LUT levels, then the select.
      .with({ op: "sat" }, (o) => (o.overflow === "WRAP" ? 0 : d.route + 3 * d.lut))
      .exhaustive()
  );
}

/**
 * As-soon-as-possible scheduling against the delay model: a node joins the stage of its
 * latest operand unless its arrival would exceed the usable part of the clock period, in
 * which case it starts the next stage from registered operands.
 */
export function scheduleNetlist(net: Netlist, target: Target, clockMhz: number): Schedule {
  const periodNs = 1000 / clockMhz;
  const d = target.delaysNs;
  const usable = periodNs * (1 - target.margin) - d.setup;
  const stage = new Int32Array(net.nodes.length);
  const arrival = new Float64Array(net.nodes.length);
  let critical = 0;
  for (const n of net.nodes) {
    if (n.op === "const") {
      stage[n.id] = -1;
      continue;
    }
    if (n.op === "input") {
      stage[n.id] = 0;
      arrival[n.id] = d.clockToQ;
      continue;
    }
    const ops = operandsOf(n);
    let s = 1;
    for (const o of ops) s = Math.max(s, stage[o]);
    const delay = nodeDelay(n, target);
    const at = (st: number) => {
      let t = d.clockToQ;
      for (const o of ops) if (stage[o] === st && st > 0) t = Math.max(t, arrival[o]);
      return t + delay;
    };
    let t = at(s);
    if (t > usable) {
      s += 1;
      t = d.clockToQ + delay;
      if (t > usable) {
        throw new ScheduleError(
          `node ${n.id} (${n.name}, ${n.op}, ${nodeWidth(n)} bits) needs ${t.toFixed(2)} ns but a ${clockMhz} MHz clock leaves ${usable.toFixed(2)} ns per stage; lower --clock`,
        );
      }
    }
    stage[n.id] = s;
    arrival[n.id] = t;
    critical = Math.max(critical, t + d.setup);
  }
  let last = 1;
  for (const o of net.outputs) last = Math.max(last, stage[o]);
  return { stage, arrival, stages: last, latency: last + 1, periodNs, criticalNs: critical };
}

/**
 * The last stage each node is read in (outputs are read by the output register rank, stage
 * `stages + 1`); -1 for nodes nothing reads. A node computed in stage s is held in register
 * ranks s .. lastUse - 1.
 */
export function lastUses(net: Netlist, sched: Schedule): Int32Array {
  const last = new Int32Array(net.nodes.length).fill(-1);
  for (const n of net.nodes) for (const a of operandsOf(n)) last[a] = Math.max(last[a], sched.stage[n.id]);
  for (const id of net.outputs) last[id] = Math.max(last[id], sched.stages + 1);
  return last;
}
