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
 * Resource counts from `report_utilization` text. LUTs, registers and DSPs are the sites
 * Vivado reports as used (Slice LUTs on 7-series, CLB LUTs on UltraScale, which count two
 * LUTs packed into one LUT6 site once); carries, shift registers and per-type cell counts
 * come from the Primitives table. Columns are found by their header names, so the extra
 * columns of newer Vivado versions (e.g. Prohibited) do not matter.
 */
export function parseVivadoUtilization(text: string): {
  counts: ResourceCounts;
  cells: Record<string, number>;
} {
  const sites: Record<string, number> = {};
  const cells: Record<string, number> = {};
  let target: Record<string, number> | undefined;
  let nameCol = -1;
  let usedCol = -1;
  for (const row of tableRows(text)) {
    const header = row.includes("Site Type")
      ? "Site Type"
      : row.includes("Ref Name")
        ? "Ref Name"
        : undefined;
    if (header) {
      target = header === "Site Type" ? sites : cells;
      nameCol = row.indexOf(header);
      usedCol = row.indexOf("Used");
      continue;
    }
    const used = Number(row[usedCol]);
    if (
      target &&
      nameCol >= 0 &&
      usedCol >= 0 &&
      row[nameCol] &&
      row[usedCol] !== "" &&
      Number.isFinite(used)
    ) {
      target[row[nameCol]] = used;
    }
  }
  const site = (...names: string[]): number => {
    const name = names.find((n) => n in sites);
    if (name === undefined) throw new SynthError(`Vivado utilization report: no ${names.join(" or ")} row`);
    return sites[name];
  };
  if (Object.keys(cells).length === 0) {
    throw new SynthError("Vivado utilization report: no Primitives table (Ref Name | Used) found");
  }
  const fromCells = countXilinxCells(cells);
  return {
    counts: {
      luts: site("Slice LUTs", "CLB LUTs"),
      ffs: site("Slice Registers", "CLB Registers"),
      carry: fromCells.carry,
      dsps: site("DSPs"),
      srls: fromCells.srls,
    },
    cells,
  };
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
