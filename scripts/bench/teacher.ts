/**
 * Teacher training throughput: the CICADA teacher (configs/cae.json) at batch 512 on generated
 * zero-bias events, per available backend, on this thread and on data-parallel worker
 * threads; then Debian's PyTorch on the same model side by side (../shared/peers/torch_bench.py)
 * when `/usr/bin/python3` has torch. Prints one JSON line per figure.
 *
 *   node --import tsx scripts/bench/teacher.ts [--steps N] [--backends wasm,cpu] [--no-peer]
 */
import { availableParallelism, cpus } from "node:os";
import { loadTeacherConfig } from "../../src/config/teacher.js";
import { defaultGeneratorConfig, generate } from "../../src/data/index.js";
import { type BackendName, selectBackend } from "../../src/nn/backend.js";
import { applyUpdate, newOptimizerState } from "../../src/nn/optim.js";
import { type Engine, localEngine, workerEngine } from "../../src/nn/train/engine.js";
import type { ModelSpec } from "../../src/nn/train/runtime.js";
import { runTorchPeer } from "./lib/peer.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg("steps", "12"));
const backends = arg("backends", "wasm").split(",") as BackendName[];
const peer = !process.argv.includes("--no-peer");
const machine = `${cpus()[0]?.model.trim() ?? "cpu"}, ${availableParallelism()} cores`;
const emit = (metric: string, value: number, unit: string, context: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: "teacher",
      metric,
      value: Math.round(value * 10) / 10,
      unit,
      ...context,
      machine,
    }),
  );

const config = loadTeacherConfig("configs/cae.json");
const batch = config.training.batchSize;
const data = generate(defaultGeneratorConfig(), ["background"], batch * 4, 1);
const spec: ModelSpec = { kind: "teacher", config, seed: 1 };

/** Median events/s of timed optimizer steps after two warm-up steps. */
async function measure(engine: Engine): Promise<number> {
  const params = await engine.initialParams();
  const grads = new Float32Array(params.length);
  const opt = newOptimizerState(config.training.optimizer, params.length);
  const times: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const b = (s % 4) * batch;
    const shard = { count: batch, x: data.et.subarray(b * 252, (b + batch) * 252) };
    const t0 = performance.now();
    await engine.gradients(params, shard, grads);
    applyUpdate(config.training.optimizer, opt, params, grads, 1e-3);
    if (s >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return batch / (times[Math.floor(times.length / 2)] / 1000);
}

const ours: number[] = [];
for (const backend of backends) {
  await selectBackend(backend);
  for (const workers of [0, availableParallelism()]) {
    const engine = workers > 0 ? await workerEngine(spec, backend, workers) : await localEngine(spec);
    const v = await measure(engine);
    await engine.dispose();
    ours.push(v);
    emit("teacher_train_events_per_s", v, "events/s", { backend, workers, batch, model: config.name });
  }
}
emit("peak_rss_mb", process.resourceUsage().maxRSS / 1024, "MB", { model: config.name });

if (peer) {
  const p = runTorchPeer();
  if (p) {
    const context = { peer: "torch_bench.py --quick", contended: p.contended };
    if (p.teacherInfer !== undefined)
      emit("torch_teacher_infer_events_per_s", p.teacherInfer, "events/s", context);
    if (p.teacherTrain !== undefined) {
      emit("torch_teacher_train_events_per_s", p.teacherTrain, "events/s", context);
      console.log(
        JSON.stringify({
          bench: "teacher",
          metric: "teacher_train_ratio_to_torch",
          value: +(Math.max(...ours) / p.teacherTrain).toFixed(3),
          unit: "ratio",
          machine,
        }),
      );
    }
  }
}
