import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { quickConfig } from "../../src/cli/run.js";
import { loadPipelineConfig } from "../../src/config/pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "distill-pipeline-config-"));
function write(config: unknown): string {
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}
const generate = {
  trainEvents: 1000,
  testBackgroundEvents: 1000,
  testSignalEvents: 100,
  signals: ["monojet"],
};
const base = { name: "p", seed: 1, teacher: { config: "t.json" } };

describe("pipeline config: choosing among a student's starts", () => {
  it("loads the default run, whose conv-v1 is the best of eight starts", () => {
    const c = loadPipelineConfig("configs/pipeline.json");
    const conv = c.students.find((s) => s.config.endsWith("student-conv.json"));
    expect(conv?.select).toEqual({ starts: 8, tail: 1000 });
    expect("generate" in c.data && c.data.generate.selectionEvents).toBe(500000);
  });

  it("refuses select without held-out events, or a tail larger than them", () => {
    const students = [{ config: "a.json" }, { config: "b.json", select: { starts: 3 } }];
    expect(() => loadPipelineConfig(write({ ...base, data: { generate }, students }))).toThrow(
      /students\[1\]\.select: choosing among starts needs held-out zero-bias events; set data\.generate\.selectionEvents/,
    );
    const files = { train: "train.h5", test: "test.h5" };
    expect(() => loadPipelineConfig(write({ ...base, data: { files }, students }))).toThrow(
      /students\[1\]\.select: .* set data\.files\.select$/,
    );
    const few = { ...generate, selectionEvents: 500 };
    expect(() => loadPipelineConfig(write({ ...base, data: { generate: few }, students }))).toThrow(
      /students\[1\]\.select\.tail: found 1000, expected at most data\.generate\.selectionEvents \(500\)/,
    );
    expect(() =>
      loadPipelineConfig(
        write({ ...base, data: { generate: few }, students: [{ config: "a.json", select: { starts: 1 } }] }),
      ),
    ).toThrow(/students\[0\]\.select\.starts: found 1, expected a number >= 2/);
  });

  it("makes data.files.select absolute, and --quick scales the held-out events and the tail", () => {
    const files = { train: "train.h5", test: "test.h5", select: "held/select.h5" };
    const c = loadPipelineConfig(
      write({ ...base, data: { files }, students: [{ config: "a.json", select: { starts: 3 } }] }),
    );
    expect("files" in c.data && c.data.files.select).toBe(join(dir, "held", "select.h5"));
    const q = quickConfig(loadPipelineConfig("configs/pipeline.json"));
    expect("generate" in q.data && q.data.generate.selectionEvents).toBe(20000);
    expect(q.students.find((s) => s.select)?.select).toEqual({ starts: 2, tail: 40 });
  });
});
