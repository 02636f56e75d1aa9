/**
 * Student QAT training throughput: CICADA v1 and v2 (configs/student-v*.json) at batch 1024,
 * gradients plus the Adam update per batch, on each backend with 0 (this thread) and 2
 * data-parallel workers, on generated background events with synthetic targets. Also the
 * exact export path (exact forward and IR evaluator) on the same events. Prints JSON lines.
 * Peers (Debian's PyTorch training the same float students on 2 threads, batch 1024), as the
 * issue quotes them: about 290,000 events/s for v1 and 175,000 for v2; with an optimised BLAS
 * 2,000,000 and 800,000. Unless --no-peer, ../shared/peers/torch_bench.py --quick also runs here,
 * side by side, and the ratio to it is printed.
 *
 *   [BENCH_BATCHES=200] node --import tsx scripts/bench/student.ts [--no-peer]
 */
import { cpus } from "node:os";
import { loadStudentConfig } from "../../src/config/student.js";
import { defaultGeneratorConfig, generate } from "../../src/data/generator/index.js";
import { evaluate } from "../../src/ir/index.js";
import { type BackendName, selectBackend } from "../../src/nn/backend.js";
import { applyUpdate, newOptimizerState } from "../../src/nn/optim.js";
import { deployedWeights, exactForward } from "../../src/nn/student/exact.js";
import { studentToIR } from "../../src/nn/student/export.js";
import { batchNormStatistics, initialStudentParams, studentModel } from "../../src/nn/student/model.js";
import { memoryStream } from "../../src/nn/train/data.js";
import { localEngine, workerEngine } from "../../src/nn/train/engine.js";
import { runTorchPeer } from "./lib/peer.js";

const BATCH = 1024;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const PEERS: Record<string, { torch2: number; torchBlas: number }> = {
  v1: { torch2: 290_000, torchBlas: 2_000_000 },
  v2: { torch2: 175_000, torchBlas: 800_000 },
};
const machine = `${cpus().length}x ${cpus()[0]?.model ?? "cpu"}`;
const events = generate(defaultGeneratorConfig(), ["background"], BATCH * 4, 99);
const targets = Float32Array.from({ length: events.count }, (_, e) => {
  let s = 0;
  for (let i = 0; i < 252; i++) s += events.et[e * 252 + i];
  return Math.sqrt(s);
});
const print = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: "student", ...o }));

const best: Record<string, number> = {};
for (const backend of ["wasm", "cpu"] as BackendName[]) {
  await selectBackend(backend);
  for (const name of ["v1", "v2"]) {
    const config = loadStudentConfig(`configs/student-${name}.json`);
    for (const workers of [0, 2]) {
      const spec = { kind: "student" as const, config, seed: 1, quantize: true };
      const engine = workers > 0 ? await workerEngine(spec, backend, workers) : await localEngine(spec);
      try {
        const params = await engine.initialParams();
        const grads = new Float32Array(params.length);
        const opt = newOptimizerState(config.training.optimizer, params.length);
        const batch = (k: number) => {
          const s = (k % 4) * BATCH;
          return {
            count: BATCH,
            x: events.et.slice(s * 252, (s + BATCH) * 252),
            y: targets.slice(s, s + BATCH),
          };
        };
        // V8 and the wasm tiers take some tens of steps to settle; time the steady state.
        for (let k = 0; k < 50; k++) await engine.gradients(params, batch(k), grads);
        const t0 = performance.now();
        for (let k = 0; k < BATCHES; k++) {
          await engine.gradients(params, batch(k), grads);
          applyUpdate(config.training.optimizer, opt, params, grads, 1e-3);
        }
        const rate = (BATCHES * BATCH) / ((performance.now() - t0) / 1000);
        best[name] = Math.max(best[name] ?? 0, rate);
        print({
          metric: `${name}_train_events_per_s`,
          value: Math.round(rate),
          unit: "events/s",
          model: config.name,
          backend,
          workers,
          batch: BATCH,
          ratio_to_torch_2_threads: +(rate / PEERS[name].torch2).toFixed(4),
          ratio_to_torch_blas: +(rate / PEERS[name].torchBlas).toFixed(4),
          machine,
        });
      } finally {
        await engine.dispose();
      }
    }
  }
}

// The export path on the last backend: exact forward (split digits) and the IR evaluator.
for (const name of ["v1", "v2"]) {
  const config = loadStudentConfig(`configs/student-${name}.json`);
  const m = studentModel(config);
  const params = initialStudentParams(m, 1);
  const stats = await batchNormStatistics(m, params, memoryStream(events));
  const deployed = deployedWeights(m, params, stats);
  const ir = studentToIR(m, deployed, config.name);
  let t0 = performance.now();
  const exact = exactForward(m, deployed, events.et, events.count);
  const exactRate = events.count / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const viaIr = evaluate(ir, events.et);
  const irRate = events.count / ((performance.now() - t0) / 1000);
  const same = exact.every((v, i) => v === viaIr[i]);
  print({
    metric: `${name}_exact_forward_events_per_s`,
    value: Math.round(exactRate),
    unit: "events/s",
    model: config.name,
    backend: "cpu",
    bit_exact_vs_ir: same,
    machine,
  });
  print({
    metric: `${name}_ir_eval_events_per_s`,
    value: Math.round(irRate),
    unit: "events/s",
    model: config.name,
    machine,
  });
}

if (!process.argv.includes("--no-peer")) {
  const p = runTorchPeer();
  for (const [name, torch] of [
    ["v1", p?.studentV1],
    ["v2", p?.studentV2],
  ] as const) {
    if (torch === undefined) continue;
    const context = { peer: "torch_bench.py --quick", contended: p?.contended ?? null, machine };
    print({
      metric: `torch_${name}_train_events_per_s`,
      value: Math.round(torch),
      unit: "events/s",
      ...context,
    });
    print({
      metric: `${name}_train_ratio_to_torch`,
      value: +(best[name] / torch).toFixed(3),
      unit: "ratio",
      ...context,
    });
  }
}
