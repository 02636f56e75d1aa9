/**
 * Teacher inference throughput on the default CICADA teacher (configs/cae.json, weights
 * from seed 1: speed does not depend on training) over 24,576 generated background events,
 * in chunks of 8192: TensorFlow.js on the best available backend, then ONNX Runtime's CPU
 * provider on the exported model with one intra-op thread per core. Each figure is the
 * forward pass including the per-event MSE (what the engine computes), after a warm-up
 * chunk; `with_scoring_events_per_s` adds the target cast, the maps and the fingerprint
 * (scoreEvents over events in memory). `events_per_cpu_s` divides by the process's CPU time
 * (all threads) instead of the wall clock: on a machine shared with other jobs it shows what
 * the engine does with the cores it actually gets. Prints JSON lines.
 */
import { availableParallelism, cpus, loadavg } from "node:os";
import { loadTeacherConfig } from "../../src/config/teacher.js";
import { type Dataset, defaultGeneratorConfig, type EventSource, generate } from "../../src/data/index.js";
import { parseFixedType } from "../../src/fixed/index.js";
import { selectBackend } from "../../src/nn/backend.js";
import { teacherToOnnx } from "../../src/nn/onnx/export.js";
import { encodeModel } from "../../src/nn/onnx/proto.js";
import { ortInference } from "../../src/nn/onnx/score.js";
import { buildTeacher } from "../../src/nn/teacher/model.js";
import {
  scaleCounts,
  scoreEvents,
  type TeacherInference,
  tfjsInference,
} from "../../src/nn/teacher/score.js";

const EVENTS = 3 * 8192;
const CHUNK = 8192;
const machine = cpus()[0]?.model ?? "unknown";

const print = (metric: string, value: number, context: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: "teacher",
      metric,
      value: Math.round(value),
      unit: "events/s",
      model: "cicada-teacher (configs/cae.json)",
      events: EVENTS,
      chunk: CHUNK,
      ...context,
      cores: availableParallelism(),
      load_average_1min: Number(loadavg()[0].toFixed(2)),
      machine,
      node: process.version,
    }),
  );

function memorySource(d: Dataset): EventSource {
  return {
    file: "memory",
    format: "h5",
    count: d.count,
    description: "generated events in memory",
    clipped: 0,
    async *chunks(size = CHUNK) {
      for (let s = 0; s < d.count; s += size) yield d.slice(s, s + size);
    },
    close() {},
  };
}

async function measure(infer: TeacherInference, data: Dataset, scale: number, typeText: string) {
  const inputs: Float32Array[] = [];
  for (let s = 0; s < data.count; s += CHUNK) inputs.push(scaleCounts(data.slice(s, s + CHUNK).et, scale));
  await infer.run(inputs[0].subarray(0, 512 * 252), 512);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const x of inputs) await infer.run(x, x.length / 252);
  const forward = data.count / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(c0);
  const perCpuSecond = data.count / ((cpu.user + cpu.system) / 1e6);
  const scored = await scoreEvents(memorySource(data), infer, {
    scale,
    targetType: parseFixedType(typeText),
    chunk: CHUNK,
  });
  return { forward, perCpuSecond, withScoring: data.count / scored.seconds };
}

async function main(): Promise<void> {
  const config = loadTeacherConfig("configs/cae.json");
  const data = generate(defaultGeneratorConfig(), ["background"], EVENTS, 21);
  const backend = await selectBackend();
  const model = buildTeacher(config, 1);
  const tfjs = await measure(tfjsInference(model), data, config.input.scale, config.target.type);
  print("teacher_infer_events_per_s", tfjs.forward, {
    engine: "tfjs",
    backend: backend.name,
    with_scoring_events_per_s: Math.round(tfjs.withScoring),
    events_per_cpu_s: Math.round(tfjs.perCpuSecond),
  });
  const bytes = encodeModel(
    teacherToOnnx(model, {
      inputScale: config.input.scale,
      targetType: config.target.type,
      name: config.name,
    }),
  );
  const ort = await ortInference(bytes);
  const o = await measure(ort, data, config.input.scale, config.target.type);
  await ort.dispose();
  print("ort_infer_events_per_s", o.forward, {
    engine: ort.engine,
    threads: availableParallelism(),
    with_scoring_events_per_s: Math.round(o.withScoring),
    events_per_cpu_s: Math.round(o.perCpuSecond),
  });
}

await main();
