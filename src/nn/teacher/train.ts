import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { TeacherConfig } from "../../config/teacher.js";
import type { DatasetFingerprint } from "../../data/fingerprint.js";
import { writeFileAtomic } from "../../util/atomic.js";
import type { BackendName } from "../backend.js";
import { saveModel } from "../modelfile.js";
import { setParams } from "../params.js";
import type { EventStream } from "../train/data.js";
import { type Engine, localEngine, workerEngine } from "../train/engine.js";
import { type FitResult, fit } from "../train/loop.js";
import type { ModelSpec } from "../train/runtime.js";
import { buildTeacher } from "./model.js";

export interface TeacherTrainOptions {
  readonly config: TeacherConfig;
  readonly data: EventStream;
  readonly fingerprint: DatasetFingerprint;
  /** The run's teacher folder: `model/`, `checkpoint/`, `history.json`, `config.json`. */
  readonly dir: string;
  readonly seed: number;
  /** The backend this thread runs (workers start the same one). */
  readonly backend: BackendName;
  /** Data-parallel worker threads; 0 trains on this thread. */
  readonly workers: number;
  readonly resume?: boolean;
  readonly shuffleBuffer?: number;
  readonly log?: (line: string) => void;
  /** Called after every parameter update (tests use it to simulate a crash). */
  readonly afterUpdate?: (params: Float32Array, epoch: number) => void;
}

export interface TrainedTeacher extends FitResult {
  readonly model: tfl.LayersModel;
  readonly modelDir: string;
}

/** Identifies what a checkpoint belongs to: the config, the seed and the exact events. */
export function teacherTag(config: TeacherConfig, seed: number, data: DatasetFingerprint): string {
  return createHash("sha256")
    .update(JSON.stringify({ kind: "teacher", config, seed, data }))
    .digest("hex");
}

/** Trains the teacher, saves it as a tfjs model in `dir/model`, and returns it. */
export async function trainTeacher(o: TeacherTrainOptions): Promise<TrainedTeacher> {
  mkdirSync(o.dir, { recursive: true });
  const spec: ModelSpec = { kind: "teacher", config: o.config, seed: o.seed };
  const engine: Engine =
    o.workers > 0 ? await workerEngine(spec, o.backend, o.workers) : await localEngine(spec);
  let result: FitResult;
  try {
    result = await fit(engine, o.data, {
      training: o.config.training,
      seed: o.seed,
      shuffleBuffer: o.shuffleBuffer ?? 1 << 20,
      checkpointDir: join(o.dir, "checkpoint"),
      resume: o.resume ?? false,
      tag: teacherTag(o.config, o.seed, o.fingerprint),
      label: "teacher",
      ...(o.log ? { log: o.log } : {}),
      ...(o.afterUpdate ? { afterUpdate: o.afterUpdate } : {}),
    });
  } finally {
    await engine.dispose();
  }
  const model = buildTeacher(o.config, o.seed);
  setParams(model, result.params);
  const modelDir = join(o.dir, "model");
  await saveModel(modelDir, model, {
    kind: "teacher",
    inputScale: o.config.input.scale,
    targetType: o.config.target.type,
    seed: o.seed,
    dataset: o.fingerprint,
    bestEpoch: result.bestEpoch,
  });
  writeFileAtomic(join(o.dir, "config.json"), `${JSON.stringify(o.config, null, 2)}\n`);
  writeFileAtomic(join(o.dir, "history.json"), `${JSON.stringify(result.history, null, 1)}\n`);
  return { ...result, model, modelDir };
}
