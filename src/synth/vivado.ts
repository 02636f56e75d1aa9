import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import type { DesignReport } from "../rtl/report.js";
import { VIVADO_REPORTS_DIR, VIVADO_TIMING_REPORT, VIVADO_UTILIZATION_REPORT } from "../rtl/vivado.js";
import { countXilinxCells, type ResourceCounts, SynthError, type SynthResult } from "./counts.js";

/** The `vivado` executable on PATH, or undefined. */
export function vivadoOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, "vivado");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

/** Rows of every `| a | b |` table in a Vivado text report, as arrays of trimmed cells. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("|") && l.trimEnd().endsWith("|"))
    .map((l) =>
      l
        .trim()
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
}

/**
 * Resource counts from `report_utilization` text. Cell counts come from its Primitives
 * table (FDRE, LUT6, CARRY4, ...), read by the `Ref Name` and `Used` columns of its header
 * so that the column layout of different Vivado versions does not matter.
 */
export function parseVivadoUtilization(text: string): {
  counts: ResourceCounts;
  cells: Record<string, number>;
} {
  const cells: Record<string, number> = {};
  let nameCol = -1;
  let usedCol = -1;
  for (const row of tableRows(text)) {
    if (row.includes("Ref Name")) {
      nameCol = row.indexOf("Ref Name");
      usedCol = row.indexOf("Used");
      continue;
    }
    if (row.includes("Site Type")) {
      nameCol = -1;
      continue;
    }
    if (nameCol < 0 || usedCol < 0) continue;
    const used = Number(row[usedCol]);
    if (row[nameCol] && Number.isFinite(used)) cells[row[nameCol]] = (cells[row[nameCol]] ?? 0) + used;
  }
  if (Object.keys(cells).length === 0) {
    throw new SynthError("Vivado utilization report: no Primitives table (Ref Name | Used) found");
  }
  return { counts: countXilinxCells(cells), cells };
}

/** WNS, TNS and WHS in ns from the "Design Timing Summary" of `report_timing_summary`. */
export function parseVivadoTimingSummary(text: string): { wnsNs: number; tnsNs: number; whsNs: number } {
  const lines = text.split("\n");
  const h = lines.findIndex((l) => /^\s*WNS\(ns\)\s+TNS\(ns\)/.test(l));
  if (h < 0)
    throw new SynthError("Vivado timing summary: no Design Timing Summary header (WNS(ns) TNS(ns) ...)");
  const header = lines[h].trim().split(/\s{2,}/);
  const values = lines
    .slice(h + 1)
    .find((l) => /\d/.test(l))
    ?.trim()
    .split(/\s+/);
  const at = (name: string): number => {
    const v = Number(values?.[header.indexOf(name)]);
    if (header.indexOf(name) < 0 || !Number.isFinite(v)) {
      throw new SynthError(`Vivado timing summary: no value under ${name}`);
    }
    return v;
  };
  return { wnsNs: at("WNS(ns)"), tnsNs: at("TNS(ns)"), whsNs: at("WHS(ns)") };
}

const run = promisify(execFile);

/**
 * Runs the design's build.tcl in Vivado batch mode and reads its post-route utilisation and
 * timing reports.
 */
export async function synthVivado(dir: string, report: DesignReport): Promise<SynthResult> {
  const t0 = performance.now();
  const tcl = report.files.tcl;
  if (!tcl)
    throw new SynthError(`${join(dir, "report.json")}: files.tcl is missing; emit the Vivado script first`);
  try {
    await run("vivado", ["-mode", "batch", "-nojournal", "-nolog", "-source", tcl], {
      cwd: dir,
      maxBuffer: 256 << 20,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string };
    const out = `${err.stdout ?? ""}${err.stderr ?? ""}`.trimEnd().split("\n").slice(-30).join("\n");
    throw new SynthError(`vivado -source ${tcl} failed (${err.code}):\n${out}`);
  }
  const read = (name: string) => readFileSync(join(dir, VIVADO_REPORTS_DIR, name), "utf8");
  const { counts, cells } = parseVivadoUtilization(read(VIVADO_UTILIZATION_REPORT));
  const { wnsNs } = parseVivadoTimingSummary(read(VIVADO_TIMING_REPORT));
  return {
    tool: "vivado",
    target: report.target.part,
    ...counts,
    wnsNs,
    cells,
    seconds: (performance.now() - t0) / 1000,
  };
}
