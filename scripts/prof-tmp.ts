import * as tf from "@tensorflow/tfjs-core";
import { readJsonConfig } from "/work/wt/student/src/config/load.js";
import { studentSchema } from "/work/wt/student/src/config/student.js";
import { selectBackend } from "/work/wt/student/src/nn/backend.js";
import { studentRuntime } from "/work/wt/student/src/nn/student/runtime.js";

await selectBackend((process.argv[2] ?? "wasm") as "wasm");
for (const name of ["v1", "v2"]) {
  const c = readJsonConfig(`/work/wt/student/configs/student-${name}.json`, studentSchema);
  const rt = studentRuntime(c, 1, true);
  rt.setParams(rt.initialParams());
  const n = 1024;
  const x = Uint16Array.from({ length: n * 252 }, (_, i) => (i * 37) % 50);
  const y = Float32Array.from({ length: n }, (_, i) => i % 30);
  const g = new Float32Array(rt.paramCount);
  for (let i = 0; i < 3; i++) rt.gradients({ x, y, count: n }, g);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) rt.gradients({ x, y, count: n }, g);
  console.log(name, Math.round((n * 10) / ((performance.now() - t0) / 1000)), "ev/s");
  const prof = await tf.profile(() => {
    rt.gradients({ x, y, count: n }, g);
  });
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  console.log(
    JSON.stringify(
      [...byName]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([k, v]) => [k, +v.toFixed(2)]),
    ),
  );
}
