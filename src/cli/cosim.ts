import type { CommandModule } from "yargs";
import { N_REGIONS, openEvents } from "../data/index.js";
import { cosimModel, type Mismatch } from "../sim/cosim.js";

interface CosimArgs {
  dir: string;
  events: number;
  seed: number;
  model?: string;
  data?: string;
  dataset?: string;
  "max-mismatches": number;
  bubbles: boolean;
}

/** Probability, in 1/1000, of an idle cycle before each event with --bubbles. */
const BUBBLE_PERMILLE = 250;

const list = (v: readonly bigint[]) => `[${v.join(", ")}]`;

export function formatMismatch(m: Mismatch): string {
  return `mismatch at event ${m.index}: inputs ${list(m.inputs)}\n  expected ${list(m.expected)}\n  actual   ${list(m.actual)}`;
}

export const cosimCommand: CommandModule<object, CosimArgs> = {
  command: "cosim <dir>",
  describe: "Co-simulate an emitted design with Verilator against the model IR evaluator",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        demandOption: true,
        describe: "an emitted design directory (report.json)",
      })
      .option("events", {
        type: "number",
        default: 100_000,
        describe: "random events over the full input range",
      })
      .option("seed", { type: "number", default: 1, describe: "seed of the random events and bubbles" })
      .option("model", { type: "string", describe: "model IR to check against (default: the design's copy)" })
      .option("data", {
        type: "string",
        describe: "run every event of a dataset file (HDF5, .npy, PNG, link words) instead of random events",
      })
      .option("dataset", { type: "string", describe: "HDF5 dataset name (default CaloRegions)" })
      .option("max-mismatches", {
        type: "number",
        default: 10,
        describe: "stop after this many differing events",
      })
      .option("bubbles", {
        type: "boolean",
        default: false,
        describe: "insert random idle cycles (in_valid low) between events",
      }),
  handler: async (args) => {
    const source = args.data ? await openEvents(args.data, { dataset: args.dataset }) : undefined;
    // Each calorimeter event (18 x 14 regions, row-major) is one flattened model input.
    async function* events() {
      for await (const chunk of source!.chunks())
        for (let e = 0; e < chunk.count; e++) yield chunk.et.subarray(e * N_REGIONS, (e + 1) * N_REGIONS);
    }
    const r = await cosimModel(args.dir, {
      inputs: source ? events() : undefined,
      randomEvents: args.events,
      seed: args.seed,
      model: args.model,
      maxMismatches: args["max-mismatches"],
      bubbles: args.bubbles ? BUBBLE_PERMILLE : 0,
    });
    source?.close();
    for (const m of r.mismatches) console.log(formatMismatch(m));
    for (const p of r.problems) console.log(`problem: ${p}`);
    const build = `build ${r.build.seconds.toFixed(1)} s${r.build.cached ? " (cached)" : ""}`;
    const latency = r.stoppedEarly
      ? "latency not measured"
      : `latency ${r.latency.min === r.latency.max ? r.latency.min : `${r.latency.min}..${r.latency.max}`} cycles`;
    console.log(
      `${r.ok ? "OK" : "FAIL"}: ${r.events} events${r.stoppedEarly ? " (stopped early)" : ""}, ` +
        `${r.mismatches.length} mismatches, ${Math.round(r.eventsPerSecond)} events/s, ` +
        `${latency} (report.json ${r.latency.expected}), ${build}`,
    );
    if (!r.ok) process.exitCode = 1;
  },
};
