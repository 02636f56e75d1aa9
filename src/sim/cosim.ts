import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { type FixedType, formatFixedType, maxMantissa, minMantissa } from "../fixed/index.js";
import {
  type CompiledModel,
  compileModel,
  evaluate,
  evaluateBigInt,
  type ModelIR,
  readModel,
} from "../ir/index.js";
import { type DesignReport, readDesignReport } from "../rtl/report.js";
import { UserError } from "../util/errors.js";
import { type Rng, rng } from "../util/rng.js";
import { recordBytes } from "./harness.js";
import { type BusLayout, packRecords, unpackRecord } from "./records.js";
import { buildSimulator, type SimulatorBuild } from "./verilator.js";

/** The design and the model (or the vectors given) disagree on something other than outputs. */
export class CosimError extends UserError {
  override readonly name = "CosimError";
}

/** A block of events: packed input records and the packed output records expected for them. */
export interface CosimBlock {
  readonly count: number;
  readonly inputs: Uint8Array;
  readonly expected: Uint8Array;
}

export interface CosimOptions {
  /** Stop after this many differing events (default 10). */
  readonly maxMismatches?: number;
  /** Probability, in 1/1000, of an idle cycle (in_valid low) before each event (default 0). */
  readonly bubbles?: number;
  /** Seed of the bubble pattern and of random events (default 1). */
  readonly seed?: number;
  /** Verilator cache root (default `$DISTILL_CACHE/verilator` or `~/.cache/distill/verilator`). */
  readonly cacheRoot?: string;
  /** Parallel C++ compile jobs for a build (default 2). */
  readonly jobs?: number;
}

export interface Mismatch {
  /** Index of the event in the stream, from 0. */
  readonly index: number;
  readonly inputs: readonly bigint[];
  readonly expected: readonly bigint[];
  readonly actual: readonly bigint[];
}

export interface CosimResult {
  /** Events whose output was compared. */
  readonly events: number;
  /** Differing events, in order; at most maxMismatches. */
  readonly mismatches: readonly Mismatch[];
  /** The run stopped at maxMismatches before the end of the events. */
  readonly stoppedEarly: boolean;
  /**
   * Latency in cycles: as the report states it, and as observed (min and max over all events;
   * 0 when the run stopped early or produced no output).
   */
  readonly latency: { readonly expected: number; readonly min: number; readonly max: number };
  /** Clock cycles simulated, reset and bubbles included (0 when the run stopped early). */
  readonly cycles: number;
  /** Protocol failures: latency other than reported, missing or unexpected outputs. */
  readonly problems: readonly string[];
  readonly ok: boolean;
  readonly build: SimulatorBuild;
  /** Wall-clock seconds of the simulation run (excluding the build). */
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

export function busLayout(side: DesignReport["input"]): BusLayout {
  return { elements: side.elements, width: side.width, signed: side.signed };
}

interface HarnessStats {
  events: number;
  outputs: number;
  cycles: number;
  latency_min: number;
  latency_max: number;
  orphan_outputs: boolean;
  trailing_bytes: number;
}

/**
 * Co-simulates an emitted design (directory with report.json and its Verilog) with Verilator
 * against expected outputs: streams every block's inputs through the harness and compares
 * each output record with the expected one as it arrives, so memory stays bounded by a few
 * blocks however many events flow.
 */
export async function cosimulate(
  dir: string,
  blocks: Iterable<CosimBlock> | AsyncIterable<CosimBlock>,
  options: CosimOptions = {},
): Promise<CosimResult> {
  const report = readDesignReport(dir);
  const inLayout = busLayout(report.input);
  const outLayout = busLayout(report.output);
  const inBytes = recordBytes(report.input.elements * report.input.width);
  const outBytes = recordBytes(report.output.elements * report.output.width);
  const maxMismatches = options.maxMismatches ?? 10;
  const build = await buildSimulator({
    files: report.files.verilog.map((f) => join(dir, f)),
    top: report.top,
    inBits: report.input.elements * report.input.width,
    outBits: report.output.elements * report.output.width,
    cacheRoot: options.cacheRoot,
    jobs: options.jobs,
  });

  const t0 = performance.now();
  const child = spawn(
    build.binary,
    [
      "--bubbles",
      String(options.bubbles ?? 0),
      "--seed",
      String(options.seed ?? 1),
      "--flush",
      String(report.latency_cycles + 1000),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  // `once` rejects on an "error" event (the simulator could not start), failing the run.
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  // Handled where awaited; this keeps an early failure from counting as unhandled meanwhile.
  closed.catch(() => undefined);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    stderr += s;
  });

  // Blocks written and not yet fully compared, oldest first; `done` counts compared events.
  const queue: { block: CosimBlock; first: number; compared: number }[] = [];
  const mismatches: Mismatch[] = [];
  let done = 0;
  let extra = 0;
  let stopped = false;
  let carry: Buffer = Buffer.alloc(0);
  const compareOne = (head: (typeof queue)[number], data: Buffer, off: number) => {
    const e = head.compared++;
    const exp = e * outBytes;
    if (data.compare(head.block.expected, exp, exp + outBytes, off, off + outBytes) !== 0) {
      mismatches.push({
        index: head.first + e,
        inputs: unpackRecord(head.block.inputs, e * inBytes, inLayout),
        expected: unpackRecord(head.block.expected, exp, outLayout),
        actual: unpackRecord(data, off, outLayout),
      });
      if (mismatches.length >= maxMismatches) {
        stopped = true;
        child.kill();
      }
    }
    done++;
  };
  child.stdout.on("data", (chunk: Buffer) => {
    if (stopped) return;
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % outBytes);
    let off = 0;
    while (off < whole && !stopped) {
      const head = queue[0];
      if (!head) {
        extra += (whole - off) / outBytes;
        break;
      }
      // Whole runs of records compare at once; only a differing run is compared record by record.
      const k = Math.min((whole - off) / outBytes, head.block.count - head.compared);
      const exp = head.compared * outBytes;
      const end = off + k * outBytes;
      if (data.compare(head.block.expected, exp, exp + k * outBytes, off, end) === 0) {
        head.compared += k;
        done += k;
        off = end;
      } else {
        for (; off < end && !stopped; off += outBytes) compareOne(head, data, off);
      }
      if (head.compared === head.block.count) queue.shift();
    }
    carry = data.subarray(whole);
  });
  // Writes fail with EPIPE once a stopped harness is gone; the result is already decided.
  child.stdin.on("error", (e) => {
    if (!stopped) stderr += `\nwriting to the simulator: ${e.message}`;
  });

  let sent = 0;
  try {
    for await (const block of blocks) {
      if (stopped || child.exitCode !== null) break;
      if (block.inputs.length !== block.count * inBytes || block.expected.length !== block.count * outBytes) {
        throw new CosimError(
          `a block of ${block.count} events needs ${block.count * inBytes} input and ${block.count * outBytes} expected bytes, found ${block.inputs.length} and ${block.expected.length}`,
        );
      }
      if (block.count === 0) continue;
      queue.push({ block, first: sent, compared: 0 });
      sent += block.count;
      if (!child.stdin.write(block.inputs)) await Promise.race([once(child.stdin, "drain"), closed]);
    }
  } catch (e) {
    // The events or their expected outputs failed (e.g. an input outside its type): the
    // simulator would wait for input forever.
    stopped = true;
    child.kill();
    await closed;
    throw e;
  }
  child.stdin.end();
  const [code, signal] = await closed;
  const seconds = (performance.now() - t0) / 1000;

  const problems: string[] = [];
  let latency = { expected: report.latency_cycles, min: 0, max: 0 };
  let cycles = 0;
  if (!stopped) {
    const line = stderr.trimEnd().split("\n").pop() ?? "";
    let stats: HarnessStats | undefined;
    try {
      stats = JSON.parse(line) as HarnessStats;
    } catch {
      stats = undefined;
    }
    if (code !== 0 || !stats || stats.events === undefined) {
      throw new CosimError(
        `simulator ${build.binary} failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${stderr.trim()}`,
      );
    }
    latency = { expected: report.latency_cycles, min: stats.latency_min, max: stats.latency_max };
    cycles = stats.cycles;
    if (
      stats.outputs > 0 &&
      (stats.latency_min !== report.latency_cycles || stats.latency_max !== report.latency_cycles)
    ) {
      problems.push(
        stats.latency_min === stats.latency_max
          ? `latency is ${stats.latency_min} cycles, report.json says ${report.latency_cycles}`
          : `latency varies from ${stats.latency_min} to ${stats.latency_max} cycles, report.json says ${report.latency_cycles}`,
      );
    }
    if (stats.outputs < sent) {
      problems.push(
        `${sent - stats.outputs} of ${sent} events produced no output (out_valid never rose for them)`,
      );
    }
    if (stats.trailing_bytes !== 0) {
      problems.push(`the simulator read ${stats.trailing_bytes} bytes past the last whole input record`);
    }
    if (stats.orphan_outputs || extra > 0) {
      problems.push("out_valid rose in a cycle with no event outstanding");
    }
  }
  return {
    events: done,
    mismatches,
    stoppedEarly: stopped,
    latency,
    cycles,
    problems,
    ok: mismatches.length === 0 && problems.length === 0,
    build,
    seconds,
    eventsPerSecond: done / Math.max(seconds, 1e-9),
  };
}

/** Input vectors: one event's flattened input mantissas per item. */
export type EventSource = Iterable<ArrayLike<number | bigint>> | AsyncIterable<ArrayLike<number | bigint>>;

export interface CosimModelOptions extends CosimOptions {
  /** The model to check against (default the design's `model.ir.json`); a path or a model. */
  readonly model?: string | ModelIR;
  /** Events to run; when absent, `randomEvents` random events (default 10,000) are run. */
  readonly inputs?: EventSource;
  readonly randomEvents?: number;
  /** Events per block streamed to the simulator (default 4096). */
  readonly blockEvents?: number;
}

/** Chunks of flattened events: numbers when every mantissa is exact in a double, else BigInt. */
type Chunk = { count: number; values: Float64Array } | { count: number; values: bigint[] };

function randomMantissa(r: Rng, lo: bigint, hi: bigint): bigint {
  const span = hi - lo + 1n;
  let v = 0n;
  for (let bits = 0n; 1n << bits < span; bits += 32n) v = (v << 32n) | BigInt(Math.floor(r.next() * 2 ** 32));
  return lo + (v % span);
}

/**
 * Fills `n` events of random mantissas of a type up to 52 bits wide. A type spans exactly
 * 2^width mantissas and the generator's draws are multiples of 2^-32, so floor(draw * 2^width)
 * is exactly uniform up to 32 bits; wider types combine two draws.
 */
function randomNumberEvents(
  r: Rng,
  type: FixedType,
  elements: number,
  n: number,
  skip: number,
): Float64Array {
  const lo = Number(minMantissa(type));
  const hi = Number(maxMantissa(type));
  const zero = lo < 0 ? 0 : lo;
  const span = 2 ** type.width;
  const uniform =
    type.width <= 32
      ? () => lo + Math.floor(r.next() * span)
      : () => lo + Math.floor((r.next() + r.next() / 2 ** 32) * span);
  const values = new Float64Array(n * elements);
  for (let e = skip; e < n; e++) {
    const row = values.subarray(e * elements, (e + 1) * elements);
    // A quarter of the events mix in extremes element by element; the rest are uniform,
    // which keeps the branch in the hot loop predictable.
    if (r.next() < 0.25) {
      for (let i = 0; i < elements; i++) {
        const u = r.next();
        row[i] = u < 0.1 ? lo : u < 0.2 ? hi : u < 0.3 ? zero : uniform();
      }
    } else if (type.width <= 16) {
      // The low bits of one draw are uniform too: floor(32 / width) elements per draw.
      const mask = span - 1;
      const per = Math.floor(32 / type.width);
      for (let i = 0; i < elements; ) {
        let bits = (r.next() * 2 ** 32) >>> 0;
        for (let k = 0; k < per && i < elements; k++, i++) {
          row[i] = lo + (bits & mask);
          bits >>>= type.width;
        }
      }
    } else {
      for (let i = 0; i < elements; i++) row[i] = uniform();
    }
  }
  return values;
}

function randomBigIntEvents(r: Rng, type: FixedType, elements: number, n: number, skip: number): bigint[] {
  const lo = minMantissa(type);
  const hi = maxMantissa(type);
  const values: bigint[] = new Array(skip * elements).fill(0n);
  for (let e = skip; e < n; e++) {
    for (let i = 0; i < elements; i++) {
      const u = r.next();
      values.push(u < 0.1 ? lo : u < 0.2 ? hi : u < 0.3 && lo < 0n ? 0n : randomMantissa(r, lo, hi));
    }
  }
  return values;
}

/**
 * `count` events spanning the whole input type: first all-minimum, all-zero (when zero is
 * in range and not the minimum) and all-maximum events, then random events: a quarter whose
 * elements are the minimum, zero or the maximum one time in ten each and uniform otherwise,
 * the rest uniform.
 */
export function* randomInputChunks(
  type: FixedType,
  elements: number,
  count: number,
  seed: number,
  chunkEvents: number,
): Generator<Chunk> {
  const lo = minMantissa(type);
  const fixed = [lo, ...(lo < 0n ? [0n] : []), maxMantissa(type)];
  const r = rng(seed);
  for (let first = 0; first < count; first += chunkEvents) {
    const n = Math.min(chunkEvents, count - first);
    // Events of this chunk that are fixed extremes rather than random.
    const skip = Math.max(0, Math.min(n, fixed.length - first));
    if (type.width <= 52) {
      const values = randomNumberEvents(r, type, elements, n, skip);
      for (let e = 0; e < skip; e++) values.fill(Number(fixed[first + e]), e * elements, (e + 1) * elements);
      yield { count: n, values };
    } else {
      const values = randomBigIntEvents(r, type, elements, n, skip);
      for (let e = 0; e < skip; e++) values.fill(fixed[first + e], e * elements, (e + 1) * elements);
      yield { count: n, values };
    }
  }
}

async function* chunksOf(source: EventSource, elements: number, chunkEvents: number, inNumbers: boolean) {
  let numbers = new Float64Array(chunkEvents * elements);
  let bigs: bigint[] = [];
  let n = 0;
  let index = 0;
  const flush = (): Chunk => {
    const chunk: Chunk = inNumbers
      ? { count: n, values: numbers.subarray(0, n * elements) }
      : { count: n, values: bigs };
    numbers = new Float64Array(chunkEvents * elements);
    bigs = [];
    n = 0;
    return chunk;
  };
  for await (const event of source) {
    if (event.length !== elements) {
      throw new CosimError(`event ${index} has ${event.length} input elements, the design takes ${elements}`);
    }
    index++;
    for (let i = 0; i < elements; i++) {
      if (inNumbers) numbers[n * elements + i] = Number(event[i]);
      else bigs.push(BigInt(event[i]));
    }
    if (++n === chunkEvents) yield flush();
  }
  if (n > 0) yield flush();
}

/** Checks that the model and the design's report describe the same input and output buses. */
function checkAgreement(c: CompiledModel, report: DesignReport, where: string): void {
  const same = (a: FixedType, b: FixedType) => formatFixedType(a) === formatFixedType(b);
  if (c.inputSize !== report.input.elements || !same(c.model.input.type, report.input.type)) {
    throw new CosimError(
      `${where}: input is ${report.input.elements} x ${formatFixedType(report.input.type)}, model ${c.model.name} takes ${c.inputSize} x ${formatFixedType(c.model.input.type)}`,
    );
  }
  if (c.outputSize !== report.output.elements || !same(c.outputType, report.output.type)) {
    throw new CosimError(
      `${where}: output is ${report.output.elements} x ${formatFixedType(report.output.type)}, model ${c.model.name} gives ${c.outputSize} x ${formatFixedType(c.outputType)}`,
    );
  }
}

/** Evaluates and packs chunks of input events into blocks of vectors for one design. */
class VectorMaker {
  readonly c: CompiledModel;
  readonly inLayout: BusLayout;
  readonly outLayout: BusLayout;
  /** Inputs are exact in doubles (else chunks carry BigInt). */
  readonly inNumbers: boolean;
  private readonly outNumbers: boolean;

  constructor(model: ModelIR, report: DesignReport, where: string) {
    this.c = compileModel(model);
    checkAgreement(this.c, report, where);
    this.inLayout = busLayout(report.input);
    this.outLayout = busLayout(report.output);
    this.inNumbers = report.input.width <= 52;
    this.outNumbers = this.c.exactInNumbers && report.output.width <= 53 && this.inNumbers;
  }

  block(chunk: Chunk): CosimBlock {
    const expected = this.outNumbers
      ? evaluate(this.c, chunk.values as Float64Array)
      : evaluateBigInt(this.c, chunk.values);
    return {
      count: chunk.count,
      inputs: packRecords(chunk.values, chunk.count, this.inLayout),
      expected: packRecords(expected, chunk.count, this.outLayout),
    };
  }
}

/**
 * `events` random vectors over the full input range (see randomInputChunks) with the model's
 * outputs, as one block: the testbench's vectors.
 */
export function modelVectors(model: ModelIR, report: DesignReport, events: number, seed = 1): CosimBlock {
  const maker = new VectorMaker(model, report, `design ${report.top}`);
  const [chunk] = randomInputChunks(report.input.type, report.input.elements, events, seed, events);
  return maker.block(chunk);
}

/**
 * Co-simulates an emitted design against the model IR evaluator: events (given, or random
 * over the full input range) are evaluated block by block, packed and streamed through
 * Verilator; see `cosimulate` for the result.
 */
export async function cosimModel(dir: string, options: CosimModelOptions = {}): Promise<CosimResult> {
  const report = readDesignReport(dir);
  const model =
    typeof options.model === "object"
      ? options.model
      : readModel(options.model ?? join(dir, report.files.model));
  const maker = new VectorMaker(model, report, join(dir, "report.json"));
  const blockEvents = options.blockEvents ?? 4096;
  const chunks = options.inputs
    ? chunksOf(options.inputs, report.input.elements, blockEvents, maker.inNumbers)
    : randomInputChunks(
        report.input.type,
        report.input.elements,
        options.randomEvents ?? 10_000,
        options.seed ?? 1,
        blockEvents,
      );
  async function* blocks(): AsyncGenerator<CosimBlock> {
    for await (const chunk of chunks) yield maker.block(chunk);
  }
  return cosimulate(dir, blocks(), options);
}
