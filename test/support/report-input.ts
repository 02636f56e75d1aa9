import { defaultGeneratorConfig, generate, N_REGIONS } from "../../src/data/index.js";
import { evaluateScores } from "../../src/eval/index.js";
import type { ReportInput } from "../../src/report/index.js";

/**
 * A report input from generated events: teacher = total ET, student = a noisier mix of total
 * and hottest region, mean input and a region "error" (squared ET) per label, a design and
 * synthesis counts on the Virtex-7 690T.
 */
export function sampleReportInput(perSample = 150): ReportInput {
  const ev = generate(defaultGeneratorConfig(), ["background", "monojet", "hotRegion"], perSample, 11);
  const teacher = new Float64Array(ev.count);
  const student = new Float64Array(ev.count);
  for (let e = 0; e < ev.count; e++) {
    const x = ev.event(e);
    let sum = 0;
    let max = 0;
    for (const v of x) {
      sum += v;
      max = Math.max(max, v);
    }
    teacher[e] = sum;
    student[e] = Math.round(0.8 * sum + max);
  }
  const names = ev.labelNames!;
  const meanMap = (label: string, f: (v: number) => number) => {
    const l = names.indexOf(label);
    const m = new Float32Array(N_REGIONS);
    let n = 0;
    for (let e = 0; e < ev.count; e++) {
      if (ev.labels![e] !== l) continue;
      n++;
      const x = ev.event(e);
      for (let i = 0; i < N_REGIONS; i++) m[i] += f(x[i]);
    }
    return m.map((v) => v / n);
  };
  const labels = ["background", "hotRegion"];
  const events = {
    scores: { teacher, student },
    labels: ev.labels,
    labelNames: names,
    inputMaps: Object.fromEntries(labels.map((l) => [l, meanMap(l, (v) => v)])),
    errorMaps: Object.fromEntries(labels.map((l) => [l, meanMap(l, (v) => v * v)])),
  };
  return {
    title: "distill test report",
    subtitle: "generated events, synthetic scores",
    evaluation: { events, metrics: evaluateScores(events) },
    design: {
      top: "distill_v1",
      target: { name: "virtex7-2", part: "xc7vx690tffg1927-2", family: "xc7" },
      clock_mhz: 160,
      latency_cycles: 5,
      latency_ns: 31.25,
      latency_bx: 1.25,
      latency_budget_bx: 8,
      stats: { stages: 4, adders: 120, registers: 300, luts_estimate: 900 },
    },
    resources: { tool: "yosys", luts: 4332, ffs: 8664, carry: 100, dsps: 0, srls: 0 },
    pipeline: [
      { stage: 1, layers: ["dense1"], ops: { add: 60 }, delayNs: 4.1 },
      { stage: 2, layers: ["dense1", "dense2"], ops: { add: 60, relu: 16, sat: 16 }, delayNs: 4.9 },
    ],
    cosim: { events: 450, mismatches: 0, ok: true, detail: "Verilator" },
  };
}
