import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { runYosys } from "@yowasp/yosys";
import { countXilinxCells, SynthError, type SynthResult } from "./counts.js";

export interface YosysOptions {
  /** Verilog source files. */
  readonly files: readonly string[];
  readonly top: string;
  /** `synth_xilinx -family`: xc7 (7-series) or xcup (UltraScale+). */
  readonly family: "xc7" | "xcup";
}

const STAT_FILE = "stat.json";

/** Cell counts by type of the flattened top, from `stat -json` output. */
export function parseYosysStat(json: string, top: string): Record<string, number> {
  let stat: {
    design?: { num_cells_by_type?: Record<string, number> };
    modules?: Record<string, { num_cells_by_type?: Record<string, number> }>;
  };
  try {
    stat = JSON.parse(json);
  } catch (e) {
    throw new SynthError(`yosys stat -json: unreadable output (${(e as Error).message})`);
  }
  const cells = stat.design?.num_cells_by_type ?? stat.modules?.[`\\${top}`]?.num_cells_by_type;
  if (!cells) throw new SynthError(`yosys stat -json: no cell counts for design or module ${top}`);
  return cells;
}

/**
 * Synthesises with Yosys `synth_xilinx` (WebAssembly build from npm, in a virtual file
 * system) and counts primitives. Like the Vivado flow it is out of context: no I/O or clock
 * buffers, since the design is a block inside larger firmware.
 */
export async function synthYosys(o: YosysOptions): Promise<SynthResult> {
  const t0 = performance.now();
  const files: Record<string, string> = {};
  for (const f of o.files) files[basename(f)] = readFileSync(f, "utf8");
  const script = [
    `read_verilog ${Object.keys(files).join(" ")}`,
    `synth_xilinx -family ${o.family} -top ${o.top} -flatten -noiopad -noclkbuf`,
    `tee -q -o ${STAT_FILE} stat -json`,
  ].join("; ");
  let log = "";
  const collect = (bytes: Uint8Array | null) => {
    if (bytes) log += Buffer.from(bytes).toString("utf8");
  };
  let out: Awaited<ReturnType<typeof runYosys>>;
  try {
    out = await runYosys(["-q", "-p", script], files, { stdout: collect, stderr: collect });
  } catch (e) {
    const code = (e as { code?: number }).code;
    throw new SynthError(`yosys synth_xilinx of ${o.top} failed (exit code ${code ?? "?"}):\n${log.trim()}`);
  }
  const stat = out?.[STAT_FILE];
  if (stat === undefined || (typeof stat === "object" && !(stat instanceof Uint8Array))) {
    throw new SynthError(`yosys wrote no ${STAT_FILE}:\n${log.trim()}`);
  }
  const cells = parseYosysStat(typeof stat === "string" ? stat : Buffer.from(stat).toString("utf8"), o.top);
  return {
    tool: "yosys",
    target: o.family,
    ...countXilinxCells(cells),
    cells,
    seconds: (performance.now() - t0) / 1000,
  };
}
