import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../util/errors.js";
import { harnessSource } from "./harness.js";

const run = promisify(execFile);

/** Verilator (or the C++ toolchain under it) failed or is missing; carries the command's output. */
export class VerilatorError extends UserError {
  override readonly name = "VerilatorError";
  constructor(
    message: string,
    readonly output = "",
  ) {
    super(output ? `${message}\n${tail(output, 40)}` : message);
  }
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return (all.length > lines ? ["...", ...all.slice(-lines)] : all).join("\n");
}

async function verilator(args: readonly string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run("verilator", args, { cwd, maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === "ENOENT") {
      throw new VerilatorError("verilator is not on PATH (scripts/setup.sh installs it with apt)");
    }
    throw new VerilatorError(
      `verilator ${args.slice(0, 3).join(" ")} ... failed`,
      `${err.stdout ?? ""}${err.stderr ?? ""}`,
    );
  }
}

let versionText: Promise<string> | undefined;
/** `verilator --version` plus the C++ compiler's, both part of every build's cache key. */
export function toolVersions(): Promise<string> {
  versionText ??= (async () => {
    const v = (await verilator(["--version"])).stdout.trim();
    const cxx = await run(process.env.CXX ?? "g++", ["--version"]).then(
      (r) => r.stdout.split("\n")[0],
      () => "no g++",
    );
    return `${v}\n${cxx}`;
  })();
  return versionText;
}

export interface LintWarning {
  /** Verilator's warning code, e.g. WIDTH, UNUSED, DECLFILENAME. */
  readonly code: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

const WARNING = /^%Warning-([A-Z0-9_]+): ([^:]+):(\d+):(\d+): (.*)$/;

/**
 * `verilator --lint-only -Wall` over the given files: the emitted design must come out clean.
 * Returns every warning; throws VerilatorError on a syntax or elaboration error.
 */
export async function lintVerilog(files: readonly string[], top?: string): Promise<LintWarning[]> {
  const args = ["--lint-only", "-Wall", "-Wno-fatal", ...(top ? ["--top-module", top] : []), ...files];
  const { stderr } = await verilator(args);
  const warnings: LintWarning[] = [];
  for (const line of stderr.split("\n")) {
    const m = WARNING.exec(line);
    if (m) warnings.push({ code: m[1], file: m[2], line: Number(m[3]), column: Number(m[4]), message: m[5] });
  }
  return warnings;
}

/** Where builds are cached: `$DISTILL_CACHE/verilator`, else `~/.cache/distill/verilator`. */
export function verilatorCacheRoot(): string {
  const base = process.env.DISTILL_CACHE ?? join(homedir(), ".cache", "distill");
  return join(base, "verilator");
}

/**
 * Build flags. Generated designs are huge flat pipelines: C++ compile time dominates, so the
 * C++ is compiled at -O1 (at -Os/-O2 GCC spends minutes on a 2,500-bit adder forest for a
 * few percent of simulation speed) and Verilator splits the model into files that `make -j`
 * compiles in parallel. X values become fast constants: the harness resets the valid
 * pipeline and nothing depends on uninitialised data registers.
 */
const BUILD_FLAGS = [
  "--cc",
  "--exe",
  "--build",
  "--no-timing",
  "-O3",
  "--x-assign",
  "fast",
  "--x-initial",
  "fast",
  "--output-split",
  "20000",
  "-MAKEFLAGS",
  "OPT_FAST=-O1",
  "-MAKEFLAGS",
  "OPT_SLOW=-O0",
  "-MAKEFLAGS",
  "OPT_GLOBAL=-O1",
];

export interface SimulatorBuildOptions {
  /** Verilog sources of the design. */
  readonly files: readonly string[];
  readonly top: string;
  readonly inBits: number;
  readonly outBits: number;
  /** Parallel C++ compile jobs (default 2). */
  readonly jobs?: number;
  /** Cache root (default verilatorCacheRoot()). */
  readonly cacheRoot?: string;
}

export interface SimulatorBuild {
  /** The simulator executable (speaks the harness protocol of src/sim/harness.ts). */
  readonly binary: string;
  readonly hash: string;
  readonly cached: boolean;
  /** Wall-clock seconds of this call (near zero when cached). */
  readonly seconds: number;
}

/**
 * Builds (or finds in the cache) the Verilated simulator of a design with its harness. The
 * cache key hashes the sources, the harness, the top, the flags and the tool versions. A build
 * happens in a temporary directory renamed into place when complete, so an interrupted build
 * never leaves a cache entry behind; of two concurrent builds of one key, the first rename wins.
 */
export async function buildSimulator(o: SimulatorBuildOptions): Promise<SimulatorBuild> {
  const t0 = performance.now();
  const harness = harnessSource({ inBits: o.inBits, outBits: o.outBits });
  const h = createHash("sha256");
  const field = (s: string | Uint8Array) => {
    h.update(String(s.length));
    h.update(":");
    h.update(s);
  };
  field("distill-verilator-build-1");
  field(await toolVersions());
  field(BUILD_FLAGS.join(" "));
  field(o.top);
  field(harness);
  const names = o.files.map((f) => basename(f));
  if (new Set(names).size !== names.length) {
    throw new VerilatorError(`Verilog sources must have distinct file names: ${names.join(", ")}`);
  }
  const sources = o.files.map((f) => readFileSync(f));
  for (let i = 0; i < sources.length; i++) {
    field(names[i]);
    field(sources[i]);
  }
  const hash = h.digest("hex");
  const root = resolve(o.cacheRoot ?? verilatorCacheRoot());
  const entry = join(root, hash);
  const binary = join(entry, "sim");
  const seconds = () => (performance.now() - t0) / 1000;
  if (existsSync(binary)) return { binary, hash, cached: true, seconds: seconds() };

  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(join(root, `.build-${hash.slice(0, 12)}-`));
  try {
    mkdirSync(join(tmp, "src"));
    const local = names.map((n, i) => {
      writeFileSync(join(tmp, "src", n), sources[i]);
      return join("src", n);
    });
    writeFileSync(join(tmp, "src", "harness.cpp"), harness);
    await verilator(
      [
        ...BUILD_FLAGS,
        "-j",
        String(o.jobs ?? 2),
        "--prefix",
        "Vdut",
        "--top-module",
        o.top,
        "--Mdir",
        "obj",
        "-o",
        "sim",
        ...local,
        join("src", "harness.cpp"),
      ],
      tmp,
    );
    renameSync(join(tmp, "obj", "sim"), join(tmp, "sim"));
    rmSync(join(tmp, "obj"), { recursive: true, force: true });
    writeFileSync(
      join(tmp, "build.json"),
      `${JSON.stringify({ top: o.top, files: names, seconds: seconds(), tools: await toolVersions() }, null, 1)}\n`,
    );
    try {
      renameSync(tmp, entry);
    } catch (e) {
      // Another process finished the same build first; its entry is identical.
      if (!existsSync(binary)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { binary, hash, cached: false, seconds: seconds() };
}

/**
 * Builds and runs a self-checking Verilog testbench with Verilator's own event-driven
 * scheduler (`--binary --timing`, Verilator >= 5), for testbenches written for other
 * simulators. Returns what the testbench printed. Not cached: testbenches are small and run
 * once per emitted design.
 */
export async function runTestbench(
  files: readonly string[],
  top: string,
  workDir: string,
): Promise<{ stdout: string; seconds: number }> {
  const t0 = performance.now();
  const mdir = join(workDir, "obj_tb");
  await verilator(
    [
      "--binary",
      "--timing",
      "-j",
      "2",
      "--top-module",
      top,
      "--Mdir",
      mdir,
      "-o",
      "tb",
      "-MAKEFLAGS",
      "OPT_FAST=-O1",
      "-MAKEFLAGS",
      "OPT_SLOW=-O0",
      ...files.map((f) => resolve(f)),
    ],
    workDir,
  );
  try {
    const { stdout } = await run(join(mdir, "tb"), [], { cwd: workDir, maxBuffer: 64 << 20 });
    return { stdout, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new VerilatorError(`testbench ${top} did not finish`, `${err.stdout ?? ""}${err.stderr ?? ""}`);
  } finally {
    rmSync(mdir, { recursive: true, force: true });
  }
}
