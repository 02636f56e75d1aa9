import type { LrSchedule, TrainingConfig } from "../../config/teacher.js";
import { applyUpdate, newOptimizerState, type OptimizerState } from "../optim.js";
import { hasCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { batches, type EventStream, partSize } from "./data.js";
import type { Engine } from "./engine.js";
import { progressBar } from "./progress.js";

/**
 * The training loop shared by teacher and students: shuffled mini-batches streamed from the
 * data, a held-out validation part, a learning-rate schedule, early stopping, and a checkpoint
 * after every epoch from which `resume` continues exactly where the last finished epoch left
 * off (a resumed run ends with the same parameters, bit for bit, as an uninterrupted one).
 */
export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly validationLoss: number;
  readonly learningRate: number;
  readonly seconds: number;
  readonly trainEventsPerSecond: number;
}

export interface FitOptions {
  readonly training: TrainingConfig;
  readonly seed: number;
  /** Events held in the shuffle buffer (a full shuffle when the training part fits). */
  readonly shuffleBuffer: number;
  /** Per-event regression targets indexed like the stream (students). */
  readonly targets?: Float32Array;
  /** Folder for the per-epoch checkpoint; none when absent. */
  readonly checkpointDir?: string;
  /** Continue from the checkpoint in `checkpointDir`. */
  readonly resume?: boolean;
  /** Identifies config and data; a checkpoint written for another tag is refused. */
  readonly tag: string;
  /** Called after every parameter update (e.g. to re-apply pruning masks). */
  readonly afterUpdate?: (params: Float32Array, epoch: number) => void;
  /** Where a fresh start begins instead of the engine's initial parameters. */
  readonly initialParams?: Float32Array;
  readonly log?: (line: string) => void;
  readonly label?: string;
}

export interface FitResult {
  /** The parameters to keep: the best epoch's when early stopping restores them, else the last. */
  readonly params: Float32Array;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Epochs run by this call (fewer than the history when resumed). */
  readonly epochsRun: number;
}

interface LoopState {
  epochsDone: number;
  learningRate: number;
  optimizerStep: number;
  history: EpochRecord[];
  best: { loss: number; epoch: number } | null;
  earlyStopWait: number;
  plateauWait: number;
  stoppedEarly: boolean;
}

const VALIDATION_BATCH = 2048;

export async function fit(engine: Engine, stream: EventStream, o: FitOptions): Promise<FitResult> {
  const t = o.training;
  const log = o.log ?? (() => {});
  const settings = t.optimizer;
  let params: Float32Array;
  let best: Float32Array | undefined;
  let opt: OptimizerState;
  let s: LoopState;
  if (o.resume && o.checkpointDir && hasCheckpoint(o.checkpointDir)) {
    const c = readCheckpoint<LoopState>(o.checkpointDir, o.tag);
    s = c.state;
    params = c.arrays.params;
    best = c.arrays.best;
    opt = {
      step: s.optimizerStep,
      m: c.arrays.m ?? new Float32Array(0),
      v: c.arrays.v ?? new Float32Array(0),
    };
    log(`resuming after epoch ${s.epochsDone} from ${o.checkpointDir}`);
  } else {
    params = o.initialParams ? Float32Array.from(o.initialParams) : await engine.initialParams();
    opt = newOptimizerState(settings, params.length);
    s = {
      epochsDone: 0,
      learningRate: settings.learningRate,
      optimizerStep: 0,
      history: [],
      best: null,
      earlyStopWait: 0,
      plateauWait: 0,
      stoppedEarly: false,
    };
  }
  const trainCount = partSize(stream.count, o.seed, t.validationFraction, "train");
  const grads = new Float32Array(params.length);
  const startEpoch = s.epochsDone;
  while (s.epochsDone < t.epochs && !s.stoppedEarly) {
    const epoch = s.epochsDone;
    const bar = progressBar(`${o.label ?? "train"} epoch ${epoch + 1}/${t.epochs}`, trainCount);
    const t0 = performance.now();
    let seen = 0;
    let lossSum = 0;
    for await (const b of batches(stream, {
      part: "train",
      validationFraction: t.validationFraction,
      seed: o.seed,
      epoch,
      batchSize: t.batchSize,
      shuffleBuffer: o.shuffleBuffer,
      shuffle: true,
      ...(o.targets ? { targets: o.targets } : {}),
    })) {
      const loss = await engine.gradients(params, b, grads);
      applyUpdate(settings, opt, params, grads, s.learningRate);
      o.afterUpdate?.(params, epoch);
      seen += b.count;
      lossSum += loss * b.count;
      bar.update(seen, { loss: (lossSum / seen).toPrecision(5) });
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    bar.done();
    const validationLoss = await meanLoss(engine, params, stream, o);
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainLoss: lossSum / Math.max(1, seen),
      validationLoss,
      learningRate: s.learningRate,
      seconds: (performance.now() - t0) / 1000,
      trainEventsPerSecond: seen / trainSeconds,
    };
    s.history.push(record);
    s.epochsDone++;
    s.optimizerStep = opt.step;
    const improved = s.best === null || validationLoss < s.best.loss - (t.earlyStopping?.minDelta ?? 0);
    if (improved) {
      s.best = { loss: validationLoss, epoch: epoch + 1 };
      s.earlyStopWait = 0;
      best = params.slice();
    } else if (t.earlyStopping && ++s.earlyStopWait >= t.earlyStopping.patience) {
      s.stoppedEarly = true;
    }
    s.learningRate = nextLearningRate(t.lrSchedule, settings.learningRate, s, improved);
    log(
      `${o.label ?? "train"} epoch ${record.epoch}/${t.epochs}: loss ${record.trainLoss.toPrecision(5)}, validation ${validationLoss.toPrecision(5)}${improved ? " (best)" : ""}, lr ${record.learningRate.toPrecision(3)}, ${Math.round(record.trainEventsPerSecond).toLocaleString("en-US")} events/s, ${record.seconds.toFixed(1)} s${s.stoppedEarly ? "; stopping early" : ""}`,
    );
    if (o.checkpointDir) {
      writeCheckpoint(o.checkpointDir, o.tag, {
        state: s,
        arrays: { params, m: opt.m, v: opt.v, ...(best ? { best } : {}) },
      });
    }
  }
  const restore = t.earlyStopping?.restoreBest ?? false;
  return {
    params: restore && best ? best : params,
    history: s.history,
    bestEpoch: s.best?.epoch ?? 0,
    stoppedEarly: s.stoppedEarly,
    epochsRun: s.epochsDone - startEpoch,
  };
}

/** Mean per-event loss over the validation part. */
async function meanLoss(
  engine: Engine,
  params: Float32Array,
  stream: EventStream,
  o: FitOptions,
): Promise<number> {
  let sum = 0;
  let n = 0;
  for await (const b of batches(stream, {
    part: "validation",
    validationFraction: o.training.validationFraction,
    seed: o.seed,
    epoch: 0,
    batchSize: VALIDATION_BATCH,
    shuffleBuffer: 1,
    shuffle: false,
    ...(o.targets ? { targets: o.targets } : {}),
  })) {
    const losses = await engine.losses(params, b);
    for (const l of losses) sum += l;
    n += b.count;
  }
  return n > 0 ? sum / n : Number.NaN;
}

function nextLearningRate(
  schedule: LrSchedule,
  initial: number,
  s: Pick<LoopState, "epochsDone" | "learningRate" | "plateauWait">,
  improved: boolean,
): number {
  switch (schedule.type) {
    case "constant":
      return s.learningRate;
    case "exponential":
      return initial * schedule.decay ** s.epochsDone;
    case "plateau":
      if (improved) {
        s.plateauWait = 0;
        return s.learningRate;
      }
      if (++s.plateauWait < schedule.patience) return s.learningRate;
      s.plateauWait = 0;
      return Math.max(schedule.minLearningRate, s.learningRate * schedule.factor);
  }
}
