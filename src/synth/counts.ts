import { UserError } from "../util/errors.js";
/**
 * Resource counts of a Xilinx netlist, as both synthesis runners report them. `luts` counts
 * what Vivado calls Slice/CLB LUTs: LUTs used as logic plus LUTs used as shift registers.
 * Yosys maps carry chains to CARRY4 for every family; Vivado retargets them to CARRY8 on
 * UltraScale, so Yosys' carry count there is in CARRY4 units.
 */
export interface ResourceCounts {
  readonly luts: number;
  readonly ffs: number;
  /** CARRY4 (7-series) or CARRY8 (UltraScale) primitives. */
  readonly carry: number;
  readonly dsps: number;
  /** LUTs used as shift registers (SRL16E, SRLC32E), included in `luts`. */
  readonly srls: number;
}

export interface SynthResult extends ResourceCounts {
  readonly tool: "yosys" | "vivado";
  /** Yosys family (xc7, xcup) or Vivado part. */
  readonly target: string;
  /** Worst negative slack in ns after routing (Vivado only). */
  readonly wnsNs?: number;
  /** Primitive counts by cell type. */
  readonly cells: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** A synthesis tool failed or its report could not be read. */
export class SynthError extends UserError {
  override readonly name = "SynthError";
}

const FLIP_FLOP = /^FD[RSCP]E(_1)?$/;

/** Counts from primitive cell counts (Yosys `stat` cell types, Vivado's primitives table). */
export function countXilinxCells(cells: Readonly<Record<string, number>>): ResourceCounts {
  let luts = 0;
  let ffs = 0;
  let carry = 0;
  let dsps = 0;
  let srls = 0;
  for (const [type, n] of Object.entries(cells)) {
    // An INV cell (Yosys keeps some for UltraScale) is placed as a LUT1.
    if (/^LUT[1-6]$/.test(type) || type === "INV") luts += n;
    else if (/^SRL(16E|C32E)$/.test(type)) srls += n;
    else if (FLIP_FLOP.test(type)) ffs += n;
    else if (type === "CARRY4" || type === "CARRY8") carry += n;
    else if (/^DSP48E[12]$/.test(type)) dsps += n;
  }
  return { luts: luts + srls, ffs, carry, dsps, srls };
}
