import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { loadTarget } from "../../src/config/target.js";
import { evaluateScores } from "../../src/eval/index.js";
import { readModel } from "../../src/ir/index.js";
import {
  layerOfNode,
  partResources,
  pipelineStages,
  reportPlots,
  reportSummary,
  writeReport,
} from "../../src/report/index.js";
import { generateRtl } from "../../src/rtl/emit.js";
import { sampleReportInput } from "../support/report-input.js";

describe("writeReport", () => {
  it("writes a self-contained report.html, one PNG per plot and metrics.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "distill-report-"));
    const input = sampleReportInput(60);
    const files = await writeReport(dir, input);
    const names = files.map((f) => f.slice(join(dir, "reports").length + 1));
    expect(names).toEqual([
      "roc-monojet.png",
      "roc-hotRegion.png",
      "scores-teacher.png",
      "scores-student.png",
      "scatter.png",
      "input-background.png",
      "input-hotRegion.png",
      "error-background.png",
      "error-hotRegion.png",
      "metrics.json",
      "report.html",
    ]);
    for (const f of files.filter((x) => x.endsWith(".png"))) {
      const meta = await sharp(f).metadata();
      expect(meta.format).toBe("png");
      expect(meta.width).toBeGreaterThan(400);
    }
    const html = readFileSync(join(dir, "reports", "report.html"), "utf8");
    // Every image inline, nothing fetched from elsewhere.
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(9);
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).toMatch(/<td class="pass">PASS<\/td>/);
    expect(html).toMatch(/5 cycles at 160 MHz = 31\.25 ns = 1\.25 BX/);
    expect(html).toMatch(/<td>LUTS<\/td><td>4332<\/td><td>of 433200<\/td><td class="num">1\.000%<\/td>/);
    expect(html).toMatch(/RTL pipeline \(distill_v1, 2 stages at 160 MHz/);
    const metrics = JSON.parse(readFileSync(join(dir, "reports", "metrics.json"), "utf8"));
    expect(metrics.summary.latency).toEqual({ cycles: 5, ns: 31.25, bx: 1.25, budget_bx: 8, pass: true });
    expect(metrics.summary.resources.ffs).toEqual({ used: 8664, available: 866400, percent: 1 });
    expect(metrics.summary.efficiency.monojet.teacher).toEqual(
      input.evaluation!.metrics.signals.monojet.models.teacher.efficiency,
    );
    expect(metrics.evaluation.rates_khz).toEqual([1, 3, 10]);
    expect(existsSync(join(dir, "reports", "report.html.tmp"))).toBe(false);
  });

  it("leaves out what it is not given, and fails the latency over budget", () => {
    const s = reportSummary({
      design: { ...sampleReportInput(5).design!, latency_bx: 9, latency_budget_bx: 8 },
      resources: {
        tool: "yosys",
        luts: 1,
        ffs: 1,
        carry: 1,
        dsps: 1,
        srls: 0,
        available: { luts: 4, ffs: 2, carry: 1, dsps: 10 },
      },
    });
    expect(s.latency?.pass).toBe(false);
    expect(s.efficiency).toBeUndefined();
    expect(s.resources?.dsps).toEqual({ used: 1, available: 10, percent: 10 });
    expect(reportSummary({})).toEqual({});
  });

  it("plots unlabelled scores as distributions and scatter only", () => {
    const events = { scores: { teacher: [1, 2, 3, 4], student: [2, 2, 5, 4] } };
    const plots = reportPlots({ evaluation: { events, metrics: evaluateScores(events) } });
    expect(plots.map((p) => p.file)).toEqual(["scores-teacher.png", "scores-student.png", "scatter.png"]);
  });

  it("knows the parts of the shipped targets", () => {
    expect(partResources("xc7vx690tffg1927-2")?.luts).toBe(433_200);
    expect(partResources("xcvu9p-flgb2104-2-e")?.dsps).toBe(6_840);
    expect(partResources("xc7a35t")).toBeUndefined();
  });
});

describe("pipeline stages", () => {
  it("summarise a real emitted design: every operation in one stage, layers of the model", () => {
    const model = readModel("data/models/v1-tiny.ir.json");
    const design = generateRtl(model, { target: loadTarget("virtex7-2") });
    const stages = pipelineStages(design.netlist, design.schedule);
    expect(stages.map((s) => s.stage)).toEqual(
      Array.from({ length: design.schedule.stages }, (_, i) => i + 1),
    );
    const counted = stages.reduce((n, s) => n + Object.values(s.ops).reduce((a, b) => a + b, 0), 0);
    const logic = design.netlist.nodes.filter((n) => !["input", "const", "shl"].includes(n.op)).length;
    expect(counted).toBe(logic);
    const layers = new Set(model.layers.map((l) => l.name));
    for (const s of stages) {
      for (const l of s.layers) expect(layers).toContain(l);
      expect(s.delayNs).toBeLessThanOrEqual(design.schedule.criticalNs);
    }
    expect(layerOfNode("dense1_o3_acc")).toBe("dense1");
    expect(layerOfNode("dense2_p")).toBe("dense2");
  });
});
