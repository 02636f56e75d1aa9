import { parentPort } from "node:worker_threads";
import type { StudentConfig } from "../../config/student.js";
import { Dataset } from "../../data/dataset.js";
import type { DatasetFingerprint } from "../../data/fingerprint.js";
import { UserError } from "../../util/errors.js";
import { type BackendName, selectBackend } from "../backend.js";
import { memoryStream } from "../train/data.js";
import { startResult } from "./starts.js";
import { type StudentMode, trainStudent, type WeightCounts } from "./train.js";

/** Messages between `trainStudentStarts` and a worker thread that trains whole starts (starts.ts). */
export interface StartRequest {
  readonly type: "train";
  readonly start: number;
  readonly config: StudentConfig;
  readonly seed: number;
  readonly initSeed: number;
  readonly backend: BackendName;
  readonly mode: StudentMode;
  readonly resume: boolean;
  readonly dir: string;
  readonly fingerprint: DatasetFingerprint;
  readonly shuffleBuffer?: number;
  readonly label: string;
  /** The training events (252 counts each), shared by every worker, and their targets. */
  readonly et: Uint16Array;
  readonly targets: Float32Array;
}

export interface StartResult extends WeightCounts {
  readonly bestEpoch: number;
  readonly validationLoss: number | null;
}

export type StartReply =
  | { readonly type: "log"; readonly start: number; readonly line: string }
  | { readonly type: "done"; readonly start: number; readonly result: StartResult }
  | {
      readonly type: "error";
      readonly start: number;
      readonly name: string;
      readonly message: string;
      /** The error is the user's to mend (a UserError), not a fault of the program. */
      readonly user: boolean;
    };

let backend: BackendName | undefined;

async function train(m: StartRequest): Promise<StartResult> {
  if (backend !== m.backend) {
    await selectBackend(m.backend);
    backend = m.backend;
  }
  // A private copy: the shared buffer stays read-only for the other workers.
  const events = new Dataset({ et: Uint16Array.from(m.et), source: `${m.label} events` });
  const t = await trainStudent({
    config: m.config,
    data: memoryStream(events),
    targets: m.targets,
    fingerprint: m.fingerprint,
    dir: m.dir,
    seed: m.seed,
    initSeed: m.initSeed,
    backend: m.backend,
    workers: 0,
    mode: m.mode,
    resume: m.resume,
    label: m.label,
    ...(m.shuffleBuffer !== undefined ? { shuffleBuffer: m.shuffleBuffer } : {}),
    log: (line) => parentPort!.postMessage({ type: "log", start: m.start, line } satisfies StartReply),
  });
  return startResult(t);
}

parentPort!.on("message", (m: StartRequest) => {
  train(m).then(
    (result) => parentPort!.postMessage({ type: "done", start: m.start, result } satisfies StartReply),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      parentPort!.postMessage({
        type: "error",
        start: m.start,
        name: err.name,
        message: err.message,
        user: err instanceof UserError,
      } satisfies StartReply);
    },
  );
});
