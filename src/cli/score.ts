import { existsSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import type { CommandModule } from "yargs";
import type { BackendName } from "../nn/backend.js";
import { SCORE_ENGINES, type ScoreEngine } from "../nn/teacher/engines.js";

// TensorFlow.js, ONNX Runtime and protobufjs load only when these commands run: every other
// command starts without them.
const modules = async () => {
  const [io, backend, modelfile, onnx, open, score] = await Promise.all([
    import("../data/io/index.js"),
    import("../nn/backend.js"),
    import("../nn/modelfile.js"),
    import("../nn/onnx/export.js"),
    import("../nn/teacher/open.js"),
    import("../nn/teacher/score.js"),
  ]);
  return { ...io, ...backend, ...modelfile, ...onnx, ...open, ...score };
};

/** The tfjs backends (as in src/nn/backend.ts; selectBackend checks the name). */
const BACKEND_HELP = "tfjs backend: tensorflow-gpu, tensorflow, wasm or cpu (default: the best available)";

interface ScoreArgs {
  model: string;
  data: string;
  out?: string;
  engine: ScoreEngine;
  chunk: number;
  dataset?: string;
  backend?: string;
  threads?: number;
}

/** `events.h5` -> `events.teacher-scores.h5` beside it. */
export function defaultScoresPath(data: string): string {
  const stem = basename(data, extname(data));
  return join(dirname(data), `${stem}.teacher-scores.h5`);
}

function median(v: Float32Array): number {
  const s = Float32Array.from(v).sort();
  return s.length === 0 ? Number.NaN : s[s.length >> 1];
}

export const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: "score",
  describe: "Score a dataset with the teacher: per-event MSE, ln(MSE) x 32 target, per-label error maps",
  builder: (y) =>
    y
      .option("model", {
        type: "string",
        demandOption: true,
        describe: "a saved teacher folder (model.json) or a teacher .onnx file from export-onnx",
      })
      .option("data", {
        type: "string",
        demandOption: true,
        describe: "events (HDF5, .npy, PNG, link words)",
      })
      .option("out", { alias: "o", type: "string", describe: "scores file (default DATA.teacher-scores.h5)" })
      .option("engine", {
        type: "string",
        choices: SCORE_ENGINES,
        default: "ort" as ScoreEngine,
        describe: "ONNX Runtime (a folder is converted in memory) or TensorFlow.js",
      })
      .option("chunk", { type: "number", default: 8192, describe: "events per read and forward pass" })
      .option("dataset", { type: "string", describe: "HDF5 dataset name (default CaloRegions)" })
      .option("backend", { type: "string", describe: BACKEND_HELP })
      .option("threads", { type: "number", describe: "ONNX Runtime intra-op threads (default: all cores)" }),
  handler: async (args) => {
    const { openTeacher, openEvents, scoreEvents, writeTeacherScores } = await modules();
    const teacher = await openTeacher(args.model, args.engine, {
      ...(args.backend ? { backend: args.backend as BackendName } : {}),
      ...(args.threads !== undefined ? { threads: args.threads } : {}),
    });
    if (teacher.backendNote) console.error(`score: ${teacher.backendNote}`);
    const source = await openEvents(args.data, args.dataset ? { dataset: args.dataset } : {});
    const out = args.out ?? defaultScoresPath(args.data);
    const tty = process.stderr.isTTY;
    try {
      console.error(`score: ${source.count} events from ${source.description} with ${teacher.infer.engine}`);
      const scores = await scoreEvents(source, teacher.infer, {
        scale: teacher.scale,
        targetType: teacher.targetType,
        chunk: args.chunk,
        onProgress: (done, total) =>
          process.stderr.write(
            `${tty ? "\r" : ""}score: ${done}/${total} events${tty && done < total ? "" : "\n"}`,
          ),
      });
      await writeTeacherScores(out, scores, teacher.targetType, args.data);
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of scores.score) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const rate = scores.seconds > 0 ? Math.round(scores.fingerprint.events / scores.seconds) : 0;
      console.log(
        `scored ${scores.fingerprint.events} events in ${scores.seconds.toFixed(2)} s (${rate} events/s, ${teacher.infer.engine}): ` +
          `median MSE ${median(scores.mse).toPrecision(4)}, target ${teacher.targetTypeText} ${lo}..${hi} -> ${out}`,
      );
    } finally {
      source.close();
      await teacher.infer.dispose();
    }
  },
};

interface ExportArgs {
  model: string;
  out: string;
  backend?: string;
}

export const exportOnnxCommand: CommandModule<object, ExportArgs> = {
  command: "export-onnx",
  describe: "Export a saved teacher (tfjs folder) to ONNX (opset 13) for ONNX Runtime",
  builder: (y) =>
    y
      .option("model", {
        type: "string",
        demandOption: true,
        describe: "a saved teacher folder (model.json)",
      })
      .option("out", { alias: "o", type: "string", demandOption: true, describe: "the .onnx file to write" })
      .option("backend", { type: "string", describe: BACKEND_HELP }),
  handler: async (args) => {
    const { ModelFileError, selectBackend, describeBackend, loadTeacherModel, exportTeacherOnnx } =
      await modules();
    if (!existsSync(args.model) || !statSync(args.model).isDirectory()) {
      throw new ModelFileError(
        `${args.model}: found no folder, expected a saved teacher folder (model.json)`,
      );
    }
    console.error(
      `export-onnx: ${describeBackend(await selectBackend(args.backend as BackendName | undefined))}`,
    );
    const t = await loadTeacherModel(args.model);
    const bytes = exportTeacherOnnx(
      t.model,
      { inputScale: t.scale, targetType: t.targetTypeText, name: t.model.name },
      args.out,
    );
    const params = t.model.countParams();
    t.model.dispose();
    console.log(`wrote ${args.out} (${(bytes / 1e6).toFixed(2)} MB, ONNX opset 13, ${params} parameters)`);
  },
};
