import type { Netlist } from "../rtl/netlist.js";
import type { Schedule } from "../rtl/schedule.js";

/** One pipeline stage of an emitted design: what its logic computes between two register ranks. */
export interface PipelineStage {
  readonly stage: number;
  /** Model layers whose operations fall in this stage, in netlist order. */
  readonly layers: readonly string[];
  /** Operation counts by netlist op (add, neg, relu, shr, sat). */
  readonly ops: Readonly<Record<string, number>>;
  /** The scheduler's estimate of the stage's slowest path, ns. */
  readonly delayNs: number;
}

/** A node's layer: its name without the neuron, product or sum suffix the lowering adds. */
export const layerOfNode = (name: string): string => name.replace(/_(o\d+|p|s)(_.*)?$/, "");

/** Stages 1..stages of a scheduled netlist with their layers, operations and estimated delay. */
export function pipelineStages(net: Netlist, sched: Schedule): PipelineStage[] {
  const stages = Array.from({ length: sched.stages }, (_, i) => ({
    stage: i + 1,
    layers: [] as string[],
    ops: {} as Record<string, number>,
    delayNs: 0,
  }));
  for (const n of net.nodes) {
    const s = sched.stage[n.id];
    if (s < 1 || n.op === "input" || n.op === "const" || n.op === "shl") continue;
    const st = stages[s - 1];
    const layer = layerOfNode(n.name);
    if (!st.layers.includes(layer)) st.layers.push(layer);
    st.ops[n.op] = (st.ops[n.op] ?? 0) + 1;
    st.delayNs = Math.max(st.delayNs, sched.arrival[n.id]);
  }
  return stages;
}
