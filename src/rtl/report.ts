import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type FixedType, FixedTypeError, formatFixedType, parseFixedType } from "../fixed/index.js";
import { formatPath, type JsonPath } from "../ir/errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UserError } from "../util/errors.js";

/**
 * `report.json`: the contract between the RTL emitter and everything that consumes an emitted
 * design (co-simulation, testbench, synthesis runners). It names the files, the target, the
 * timing (latency in cycles, ns and bunch crossings) and the bus layout: input element i of the
 * flattened input tensor is `in_data[i*width +: width]`, a raw two's-complement (if signed)
 * mantissa of `type`; likewise the output.
 */
export const DESIGN_REPORT_FORMAT = "distill-rtl";
export const DESIGN_REPORT_VERSION = 1;
export const DESIGN_REPORT_FILE = "report.json";

export interface PortLayout {
  readonly type: FixedType;
  readonly shape: readonly number[];
  readonly elements: number;
  /** Bits per element; equals type.width. */
  readonly width: number;
  readonly signed: boolean;
}

export interface DesignReport {
  readonly format: typeof DESIGN_REPORT_FORMAT;
  readonly version: typeof DESIGN_REPORT_VERSION;
  readonly generator: string;
  readonly top: string;
  readonly files: {
    readonly verilog: readonly string[];
    readonly model: string;
    readonly testbench?: string;
    /** Input vectors, then expected output vectors ($readmemh files of the testbench). */
    readonly vectors?: readonly [string, string];
    readonly tcl?: string;
    readonly xdc?: string;
  };
  readonly model: { readonly name: string; readonly sha256: string };
  /** `family` is the value of Yosys `synth_xilinx -family`. */
  readonly target: { readonly name: string; readonly part: string; readonly family: "xc7" | "xcup" };
  readonly clock_mhz: number;
  readonly latency_cycles: number;
  readonly latency_ns: number;
  readonly latency_bx: number;
  readonly latency_budget_bx: number;
  readonly ii: 1;
  readonly input: PortLayout;
  readonly output: PortLayout;
  readonly stats: {
    readonly stages: number;
    readonly adders: number;
    readonly registers: number;
    readonly luts_estimate: number;
  };
  readonly estimated_critical_ns?: number;
  readonly shared_patterns?: number;
  readonly emit_s?: number;
}

/** A problem in a report.json: where (file and JSON path), what was found, what was expected. */
export class DesignReportError extends UserError {
  override readonly name = "DesignReportError";
  constructor(
    readonly file: string,
    readonly path: JsonPath,
    readonly found: unknown,
    readonly expected: string,
  ) {
    const shown = found === undefined ? "nothing" : JSON.stringify(found);
    super(`${file}: ${formatPath(path)}: found ${shown}, expected ${expected}`);
  }
}

const fixedTypeString = z.string().transform((text, ctx): FixedType => {
  try {
    return parseFixedType(text);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: e instanceof FixedTypeError ? e.message : String(e) });
    return z.NEVER;
  }
});
const positive = z.number().int().min(1);
const fileName = z
  .string()
  .min(1)
  .refine((f) => !f.includes("/") && !f.includes("\\"), "a file name inside the design directory");
const port = z.strictObject({
  type: fixedTypeString,
  shape: z.array(positive).min(1),
  elements: positive,
  width: positive,
  signed: z.boolean(),
});

export const designReportSchema = z.strictObject({
  format: z.literal(DESIGN_REPORT_FORMAT),
  version: z.literal(DESIGN_REPORT_VERSION),
  generator: z.string(),
  top: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a Verilog identifier"),
  files: z.strictObject({
    verilog: z.array(fileName).min(1),
    model: fileName,
    testbench: fileName.optional(),
    vectors: z.tuple([fileName, fileName]).optional(),
    tcl: fileName.optional(),
    xdc: fileName.optional(),
  }),
  model: z.strictObject({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 hex digits") }),
  target: z.strictObject({ name: z.string(), part: z.string().min(1), family: z.enum(["xc7", "xcup"]) }),
  clock_mhz: z.number().positive(),
  latency_cycles: positive,
  latency_ns: z.number().nonnegative(),
  latency_bx: z.number().nonnegative(),
  latency_budget_bx: z.number().nonnegative(),
  ii: z.literal(1),
  input: port,
  output: port,
  stats: z.strictObject({
    stages: z.number().int().nonnegative(),
    adders: z.number().int().nonnegative(),
    registers: z.number().int().nonnegative(),
    luts_estimate: z.number().int().nonnegative(),
  }),
  /** The scheduler's estimate of the slowest stage, ns (from the target's delay model). */
  estimated_critical_ns: z.number().nonnegative().optional(),
  /** Subexpressions shared by common-subexpression elimination. */
  shared_patterns: z.number().int().nonnegative().optional(),
  /** Seconds the emitter took. */
  emit_s: z.number().nonnegative().optional(),
});

function valueAt(root: unknown, path: JsonPath): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** Checks the redundant fields of a port against each other (width and sign come from the type). */
function portProblem(p: PortLayout): [string, unknown, string] | undefined {
  if (p.width !== p.type.width)
    return ["width", p.width, `${p.type.width}, the width of ${formatFixedType(p.type)}`];
  if (p.signed !== p.type.signed)
    return ["signed", p.signed, `${p.type.signed}, as ${formatFixedType(p.type)}`];
  const n = p.shape.reduce((a, b) => a * b, 1);
  if (p.elements !== n) return ["elements", p.elements, `${n}, the product of shape [${p.shape}]`];
  return undefined;
}

/** Validates parsed JSON as a design report; `file` names the source in errors. */
export function parseDesignReport(raw: unknown, file: string): DesignReport {
  const result = designReportSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path as JsonPath;
    throw new DesignReportError(file, path, valueAt(raw, path), issue.message);
  }
  const r = result.data as DesignReport;
  for (const side of ["input", "output"] as const) {
    const problem = portProblem(r[side]);
    if (problem) throw new DesignReportError(file, [side, problem[0]], problem[1], problem[2]);
  }
  return r;
}

/** Reads `<dir>/report.json`. */
export function readDesignReport(dir: string): DesignReport {
  const file = join(dir, DESIGN_REPORT_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DesignReportError(
      file,
      [],
      code,
      "a readable report.json (is this an emitted design directory?)",
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DesignReportError(file, [], `invalid JSON (${(e as Error).message})`, "a JSON document");
  }
  return parseDesignReport(raw, file);
}

/** The JSON form, with fixed-point types as ap_fixed strings. */
export function designReportToJson(r: DesignReport): unknown {
  const port = (p: PortLayout) => ({ ...p, type: formatFixedType(p.type) });
  return { ...r, input: port(r.input), output: port(r.output) };
}

export function writeDesignReport(dir: string, report: DesignReport): void {
  writeFileAtomic(join(dir, DESIGN_REPORT_FILE), `${JSON.stringify(designReportToJson(report), null, 2)}\n`);
}
