import { join } from "node:path";
import { readDesignReport } from "../rtl/report.js";
import type { SynthResult } from "./counts.js";
import { synthVivado, vivadoOnPath } from "./vivado.js";
import { synthYosys } from "./yosys.js";

export type SynthTool = "yosys" | "vivado" | "auto";

/**
 * Synthesises an emitted design directory: with Vivado (its build.tcl) when asked or, for
 * "auto", when `vivado` is on PATH; otherwise with Yosys for the target's family. `note`
 * says why a tool was chosen when "auto" chose it.
 */
export async function synthesizeDesign(
  dir: string,
  tool: SynthTool = "auto",
): Promise<{ result: SynthResult; note?: string }> {
  const report = readDesignReport(dir);
  const useVivado = tool === "vivado" || (tool === "auto" && vivadoOnPath() !== undefined);
  if (useVivado) {
    return {
      result: await synthVivado(dir, report),
      note: tool === "auto" ? "vivado found on PATH" : undefined,
    };
  }
  const result = await synthYosys({
    files: report.files.verilog.map((f) => join(dir, f)),
    top: report.top,
    family: report.target.family,
  });
  return {
    result,
    note:
      tool === "auto"
        ? "vivado is not on PATH; Yosys synth_xilinx estimate (no place and route, no timing)"
        : undefined,
  };
}
