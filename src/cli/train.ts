import { join } from "node:path";
import type { CommandModule } from "yargs";
import { loadTeacherConfig } from "../config/teacher.js";
import { fingerprintEvents, openEvents } from "../data/index.js";
import { evaluateScoresFile } from "../eval/index.js";
import { BACKENDS, type BackendName, describeBackend, selectBackend } from "../nn/backend.js";
import { teacherTargets } from "../nn/teacher/targets.js";
import { trainTeacher } from "../nn/teacher/train.js";
import { defaultWorkers } from "../nn/train/engine.js";
import { UserError } from "../util/errors.js";
import { table } from "./table.js";

interface TrainArgs {
  teacher: string;
  data: string;
  dataset?: string;
  out: string;
  seed: number;
  backend?: BackendName;
  workers?: number;
  resume: boolean;
  epochs?: number;
  eval?: string;
}

const log = (line: string) => console.error(line);

/** The teacher's AUC and efficiency at 3 kHz per signal of a labelled, scored file. */
async function printAuc(scores: string, data: string, dataset: string | undefined): Promise<void> {
  const r = await evaluateScoresFile(scores, {
    data,
    ...(dataset ? { dataset } : {}),
    columns: { teacher: "teacher_score" },
  });
  const m = r.metrics;
  const at3 = m.rates_khz.indexOf(3);
  const rows = Object.entries(m.signals).map(([name, s]) => [
    name,
    String(s.events),
    s.models.teacher.auc.toFixed(4),
    at3 >= 0 ? `${(s.models.teacher.efficiency[at3] * 100).toFixed(2)}%` : "-",
  ]);
  if (rows.length === 0) {
    console.log(`${data}: no signal events (labels other than background) to compute an AUC on`);
    return;
  }
  console.log(table(["signal", "events", "teacher AUC", "eff. at 3 kHz"], rows));
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: "train",
  describe: "Train the teacher autoencoder on zero-bias events",
  builder: (y) =>
    y
      .option("teacher", {
        type: "string",
        demandOption: true,
        describe: "teacher config (JSON), e.g. configs/cae.json",
      })
      .option("data", {
        type: "string",
        demandOption: true,
        describe: "zero-bias training events (HDF5, .npy, PNG folder, link words)",
      })
      .option("dataset", { type: "string", describe: "HDF5 dataset name (default CaloRegions)" })
      .option("out", { alias: "o", type: "string", default: "runs/train", describe: "run folder" })
      .option("seed", { type: "number", default: 1, describe: "seed of initialisation, split and shuffling" })
      .option("backend", {
        type: "string",
        choices: BACKENDS,
        describe: "force a TensorFlow.js backend (default: the best available)",
      })
      .option("workers", {
        type: "number",
        describe: "data-parallel worker threads (default: one per core for wasm and cpu, 0 for native)",
      })
      .option("resume", {
        type: "boolean",
        default: false,
        describe: "continue from the last finished epoch's checkpoint in the run folder",
      })
      .option("epochs", { type: "number", describe: "override the config's epoch count" })
      .option("eval", {
        type: "string",
        describe: "labelled events (background and signals) to score, with the AUC of each signal printed",
      }),
  handler: async (args) => {
    const config = loadTeacherConfig(args.teacher);
    if (args.epochs !== undefined) {
      if (!Number.isInteger(args.epochs) || args.epochs < 1) {
        throw new UserError(`--epochs: found ${args.epochs}, expected a positive integer`);
      }
      config.training.epochs = args.epochs;
    }
    const choice = await selectBackend(args.backend);
    log(describeBackend(choice));
    const native = choice.name === "tensorflow" || choice.name === "tensorflow-gpu";
    // One worker thread only adds messaging to what this thread does alone.
    const parallel = defaultWorkers(config.training.batchSize);
    const workers = args.workers ?? (native || parallel < 2 ? 0 : parallel);
    if (!Number.isInteger(workers) || workers < 0) {
      throw new UserError(`--workers: found ${args.workers}, expected 0 or a positive integer`);
    }
    const source = await openEvents(args.data, { dataset: args.dataset });
    try {
      log(`data ${source.description}`);
      const fingerprint = await fingerprintEvents(source);
      log(
        `training on ${workers === 0 ? "this thread" : `${workers} worker thread${workers > 1 ? "s" : ""}`}`,
      );
      const dir = join(args.out, "teacher");
      const t = await trainTeacher({
        config,
        data: source,
        fingerprint,
        dir,
        seed: args.seed,
        backend: choice.name,
        workers,
        resume: args.resume,
        log,
      });
      const best = t.history[t.bestEpoch - 1];
      log(
        `teacher saved to ${t.modelDir} (epoch ${t.bestEpoch}, validation loss ${best?.validationLoss.toPrecision(5)})`,
      );
      t.model.dispose();
      const targets = await teacherTargets(
        t.modelDir,
        dir,
        [{ name: "train", data: args.data }, ...(args.eval ? [{ name: "eval", data: args.eval }] : [])],
        args.dataset,
        log,
      );
      console.log(`distillation targets (${targets.targetType}): ${targets.scores[0].file}`);
      if (args.eval) await printAuc(targets.scores[1].file, args.eval, args.dataset);
    } finally {
      source.close();
    }
  },
};
