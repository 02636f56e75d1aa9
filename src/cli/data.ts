import type { Argv, CommandModule } from "yargs";
import {
  type Dataset,
  DEFAULT_GENERATOR_CONFIG,
  EventStats,
  generateChunks,
  openEvents,
  readGeneratorConfig,
  SAMPLES,
  type SampleName,
  writeChunks,
} from "../data/index.js";
import { convertEvents, FORMATS, type Format } from "../data/io/index.js";
import { table } from "./table.js";

const formatOption = {
  type: "string",
  choices: FORMATS,
  describe: "override the format guessed from the extension",
} as const;

const sampleList = (s: string) =>
  (s === "all" ? [...SAMPLES] : s.split(",").map((x) => x.trim())) as SampleName[];

const generate: CommandModule<
  object,
  {
    out: string;
    samples: string;
    events: number;
    seed: number;
    config: string;
    compression: number;
    format?: Format;
  }
> = {
  command: "generate",
  describe: "Generate labelled events from the toy detector (background, signals, faults)",
  builder: (y) =>
    y
      .option("out", {
        alias: "o",
        type: "string",
        demandOption: true,
        describe: "output file (.h5 .npy .txt, a folder of PNGs)",
      })
      .option("samples", {
        type: "string",
        default: "background",
        describe: `comma-separated samples among ${SAMPLES.join(", ")}, or "all"`,
      })
      .option("events", { alias: "n", type: "number", default: 10000, describe: "events per sample" })
      .option("seed", { type: "number", default: 1 })
      .option("config", {
        type: "string",
        default: DEFAULT_GENERATOR_CONFIG,
        describe: "generator config (JSON)",
      })
      .option("compression", { type: "number", default: 4, describe: "HDF5 gzip level (0 = none)" })
      .option("format", formatOption)
      .check((a) => {
        const unknown = sampleList(a.samples).filter((s) => !SAMPLES.includes(s));
        if (unknown.length) return `unknown sample "${unknown[0]}"; samples are ${SAMPLES.join(", ")}`;
        if (!Number.isInteger(a.events) || a.events < 0) return "--events must be a non-negative integer";
        return true;
      }),
  handler: async (args) => {
    const config = readGeneratorConfig(args.config);
    const samples = sampleList(args.samples);
    const t0 = performance.now();
    function* all(): Generator<Dataset> {
      for (const s of samples) yield* generateChunks(config, s, args.events, args.seed);
    }
    const n = await writeChunks(args.out, all(), { compression: args.compression, format: args.format });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${args.out}: ${n} events (${samples.join(", ")}; seed ${args.seed}) in ${seconds.toFixed(2)} s`,
    );
  },
};

const fmt = (x: number, digits = 1) => x.toFixed(digits);

const inspect: CommandModule<object, { file: string; dataset?: string; saturate: boolean; format?: Format }> =
  {
    command: "inspect <file>",
    describe: "Event count, shape, ET statistics, occupancy and saturation of an event file",
    builder: (y) =>
      y
        .positional("file", { type: "string", demandOption: true })
        .option("dataset", {
          type: "string",
          describe: "HDF5 dataset holding the events (default CaloRegions)",
        })
        .option("saturate", {
          type: "boolean",
          default: false,
          describe: "clip values above 1023 instead of failing",
        })
        .option("format", formatOption),
    handler: async (args) => {
      const src = await openEvents(args.file, {
        dataset: args.dataset,
        saturate: args.saturate,
        format: args.format,
      });
      const stats = new EventStats();
      const meta = new Map<string, { sum: number; n: number }>();
      try {
        for await (const chunk of src.chunks()) {
          stats.add(chunk);
          for (const [k, v] of Object.entries(chunk.meta)) {
            const m = meta.get(k) ?? { sum: 0, n: 0 };
            for (const x of v) m.sum += x;
            m.n += v.length;
            meta.set(k, m);
          }
        }
      } finally {
        src.close();
      }
      const et = stats.etSumGeV();
      console.log(`${args.file}: ${src.description}`);
      console.log(`events              ${stats.count} of 18 x 14 regions`);
      console.log(`ET sum per event    ${fmt(et.mean)} GeV mean, ${fmt(et.std)} GeV std`);
      console.log(`region MET          ${fmt(stats.meanMetGeV())} GeV mean`);
      console.log(`largest region      ${stats.maxCount} counts (${fmt(stats.maxCount / 2)} GeV)`);
      console.log(`occupancy           ${fmt(100 * stats.occupancy(), 2)} % of regions non-zero`);
      console.log(`saturated           ${fmt(100 * stats.saturatedFraction(), 4)} % of regions at 1023`);
      if (src.clipped)
        console.log(`clipped             ${src.clipped} values above 1023 set to 1023 (--saturate)`);
      for (const [k, m] of meta) console.log(`${k.padEnd(20)}${fmt(m.sum / Math.max(1, m.n), 2)} mean`);
      if (stats.labels.size) {
        const rows = [...stats.labels].sort((a, b) => a[0] - b[0]);
        console.log(
          `\n${table(
            ["label", "name", "events"],
            rows.map(([l, n]) => [String(l), stats.labelNames?.[l] ?? "", String(n)]),
          )}`,
        );
      }
    },
  };

const convert: CommandModule<
  object,
  {
    input: string;
    output: string;
    dataset?: string;
    saturate: boolean;
    compression: number;
    from?: Format;
    to?: Format;
  }
> = {
  command: "convert <input> <output>",
  describe: "Convert events between HDF5, .npy, PNG and link-word text (streamed)",
  builder: (y) =>
    y
      .positional("input", { type: "string", demandOption: true })
      .positional("output", { type: "string", demandOption: true })
      .option("dataset", {
        type: "string",
        describe: "HDF5 dataset holding the events (default CaloRegions)",
      })
      .option("saturate", {
        type: "boolean",
        default: false,
        describe: "clip values above 1023 instead of failing",
      })
      .option("compression", { type: "number", default: 4, describe: "HDF5 gzip level (0 = none)" })
      .option("from", { ...formatOption, describe: "input format (default: from the extension)" })
      .option("to", { ...formatOption, describe: "output format (default: from the extension)" }),
  handler: async (args) => {
    const r = await convertEvents(args.input, args.output, {
      read: { dataset: args.dataset, saturate: args.saturate, format: args.from },
      write: { compression: args.compression, format: args.to },
    });
    const clipped = r.clipped ? `; ${r.clipped} values above 1023 clipped to 1023` : "";
    console.log(`${args.input} -> ${args.output}: ${r.count} events${clipped}`);
  },
};

export const dataCommand: CommandModule = {
  command: "data <command>",
  describe: "Calorimeter events: generate, inspect, convert",
  builder: (y: Argv) => y.command(generate).command(inspect).command(convert).demandCommand(1),
  handler: () => {},
};
