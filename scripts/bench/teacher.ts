/**
 * Teacher training throughput: the CICADA teacher (configs/cae.json) at batch 512 on generated
 * zero-bias events, per available backend, on this thread and on data-parallel worker
 * threads; then Debian's PyTorch on the same model side by side (../shared/peers/torch_bench.py)
 * when `/usr/bin/python3` has torch. Prints one JSON line per figure.
 *
 *   node --import tsx scripts/bench/teacher.ts [--steps N] [--backends wasm,cpu] [--no-peer]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { loadTeacherConfig } from "../../src/config/teacher.js";
import { defaultGeneratorConfig, generate } from "../../src/data/index.js";
import { type BackendName, selectBackend } from "../../src/nn/backend.js";
import { applyUpdate, newOptimizerState } from "../../src/nn/optim.js";
import { type Engine, localEngine, workerEngine } from "../../src/nn/train/engine.js";
import type { ModelSpec } from "../../src/nn/train/runtime.js";

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
  const script = "../shared/peers/torch_bench.py";
  const python = "/usr/bin/python3";
  const hasTorch =
    existsSync(script) && spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
  if (!hasTorch) {
    console.error(
      `peer skipped: ${script} or torch for ${python} missing (apt-get install python3-torch python3-numpy)`,
    );
  } else {
    const r = spawnSync(python, [script, "--quick"], { encoding: "utf8", maxBuffer: 1 << 24 });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    try {
      const p = JSON.parse(line) as {
        results?: Record<string, { samples_per_s?: number }>;
        contended?: boolean;
        blas?: unknown;
      };
      console.error(`peer: ${line}`);
      const torchTrain = p.results?.teacher_train?.samples_per_s;
      const torchInfer = p.results?.teacher_infer?.samples_per_s;
      const context = { peer: "torch_bench.py --quick", contended: p.contended ?? null };
      if (torchInfer !== undefined) emit("torch_teacher_infer_events_per_s", torchInfer, "events/s", context);
      if (torchTrain !== undefined) {
        emit("torch_teacher_train_events_per_s", torchTrain, "events/s", context);
        emit("teacher_train_ratio_to_torch", Math.max(...ours) / torchTrain, "ratio", {});
      }
    } catch {
      console.error(`peer: could not read its JSON line: ${line.slice(0, 200)} ${r.stderr.slice(-500)}`);
    }
  }
}
