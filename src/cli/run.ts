import type { CommandModule } from "yargs";
import { loadPipelineConfig, type PipelineConfig } from "../config/pipeline.js";
import { runPipeline, STEPS, type StepName } from "../pipeline.js";

interface RunArgs {
  config: string;
  out: string;
  quick: boolean;
  from?: StepName;
}

/**
 * `--quick`: the same chain on a tenth of the events and a few epochs, students on smaller
 * batches so that they still take enough steps to learn something (a few minutes here).
 */
export function quickConfig(c: PipelineConfig): PipelineConfig {
  const g = "generate" in c.data ? c.data.generate : undefined;
  const selection = g?.selectionEvents;
  const quickSelection = selection !== undefined ? Math.min(selection, 20000) : undefined;
  const data = g
    ? {
        generate: {
          ...g,
          trainEvents: Math.min(g.trainEvents, 8000),
          testBackgroundEvents: Math.min(g.testBackgroundEvents, 8000),
          testSignalEvents: Math.min(g.testSignalEvents, 500),
          ...(quickSelection !== undefined ? { selectionEvents: quickSelection } : {}),
        },
      }
    : c.data;
  return {
    ...c,
    name: `${c.name}-quick`,
    data,
    teacher: { ...c.teacher, epochs: Math.min(c.teacher.epochs ?? 3, 3) },
    students: c.students.map((s) => ({
      ...s,
      epochs: Math.min(s.epochs ?? 20, 20),
      batchSize: 64,
      // Two starts, and the tail the same fraction of the fewer held-out events.
      ...(s.select
        ? {
            select: {
              starts: 2,
              tail:
                selection !== undefined && quickSelection !== undefined
                  ? Math.max(2, Math.round((s.select.tail * quickSelection) / selection))
                  : s.select.tail,
            },
          }
        : {}),
    })),
  };
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run [config]",
  describe:
    "Run the whole chain: data, teacher, targets, students, RTL, co-simulation, synthesis, evaluation, report",
  builder: (y) =>
    y
      .positional("config", {
        type: "string",
        default: "configs/pipeline.json",
        describe: "pipeline config (JSON)",
      })
      .option("out", { alias: "o", type: "string", default: "runs/default", describe: "run folder" })
      .option("quick", {
        type: "boolean",
        default: false,
        describe: "fewer events and epochs: the whole chain in a few minutes",
      })
      .option("from", {
        type: "string",
        choices: STEPS,
        describe: "redo this step and the ones after it even if their inputs did not change",
      }),
  handler: async (args) => {
    const loaded = loadPipelineConfig(args.config);
    const config = args.quick ? quickConfig(loaded) : loaded;
    const t0 = performance.now();
    const r = await runPipeline(config, args.config, args.out, {
      ...(args.from ? { from: args.from } : {}),
      log: (line) => console.error(line),
    });
    console.log(`\n${r.summary}`);
    console.log(
      `\nreport ${r.reportFile}\nmetrics ${r.metricsFile}\nrun ${r.dir}/run.json (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  },
};
