import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTarget } from "../../src/config/target.js";
import {
  defaultGeneratorConfig,
  fingerprintCounts,
  generate,
  N_REGIONS,
  writeEvents,
  writeScores,
} from "../../src/data/index.js";
import { evaluateScores, evaluateScoresFile } from "../../src/eval/index.js";
import { readModel } from "../../src/ir/index.js";
import { generateRtl, writeRtl } from "../../src/rtl/emit.js";

const cli = (...args: string[]) =>
  spawnSync("node", ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });

const dir = mkdtempSync(join(tmpdir(), "distill-eval-"));
const events = generate(defaultGeneratorConfig(), ["background", "monojet", "hotRegion"], 60, 5);
const dataFile = join(dir, "events.h5");
const scoresFile = join(dir, "scores.h5");
const designDir = join(dir, "design");
// Scores that depend on the events: total ET (teacher) and the hottest region (student).
const teacher = new Float32Array(events.count);
const student = new Uint16Array(events.count);
for (let e = 0; e < events.count; e++) {
  const ev = events.event(e);
  teacher[e] = ev.reduce((s, x) => s + x, 0) / 7;
  student[e] = ev.reduce((m, x) => Math.max(m, x), 0);
}
const errorMap = (hot: number) => Float32Array.from({ length: N_REGIONS }, (_, i) => (i === hot ? 9 : 1));

beforeAll(async () => {
  const target = loadTarget("virtex7-2");
  writeRtl(designDir, generateRtl(readModel("data/models/v1-tiny.ir.json"), { target }), { target }, 4);
  await writeEvents(dataFile, events);
  await writeScores(scoresFile, {
    dataset: { ...fingerprintCounts(events.et, events.count), file: "events.h5" },
    columns: {
      teacher_score: { values: teacher },
      student_score: { values: student, fixedType: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
    },
    maps: { error: { background: errorMap(-1), hotRegion: errorMap(5 * 14 + 2) } },
  });
});

describe("distill eval", () => {
  it("prints thresholds, per-signal figures, agreement and fault regions, writes metrics.json and a report", () => {
    const out = join(dir, "metrics.json");
    const run = join(dir, "run");
    const r = cli(
      "eval",
      "--scores",
      scoresFile,
      "--data",
      dataFile,
      "--rate-mhz",
      "0.06",
      "-o",
      out,
      "--report",
      run,
      "--design",
      designDir,
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /180 events, 60 background; rate = false-positive rate x 0.06 MHz \(one background event = 1\.00 kHz\)/,
    );
    expect(r.stdout).toMatch(/^model\s+rate kHz\s+threshold/m);
    expect(r.stdout).toMatch(
      /^student scores and thresholds are integer mantissas of ap_ufixed<16,8,AP_RND_CONV,AP_SAT>$/m,
    );
    expect(r.stdout).toMatch(/^monojet\s+60\s+\S+\s+\S+%/m);
    expect(r.stdout).toMatch(/^hotRegion \(fault\)\s+60/m);
    expect(r.stdout).toMatch(/teacher vs student: Pearson/);
    expect(r.stdout).toMatch(/^hotRegion\s+\(5, 2\) 100\.00%/m);
    const written = JSON.parse(readFileSync(out, "utf8"));
    const labels = events.labels!;
    const expected = evaluateScores(
      { scores: { teacher, student }, labels, labelNames: events.labelNames },
      { rateMhz: 0.06 },
    );
    expect(written.signals).toEqual(JSON.parse(JSON.stringify(expected.signals)));
    expect(written.models.teacher).toEqual(JSON.parse(JSON.stringify(expected.models.teacher)));
    expect(written.models.student).toEqual({
      fixed_type: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>",
      ...JSON.parse(JSON.stringify(expected.models.student)),
    });
    // 1 kHz of 60 kHz is one background event in 60.
    expect(written.models.teacher.thresholds[0].background_passed).toBe(1);
    expect(written.regions.hotRegion[0]).toMatchObject({ iphi: 5, ieta: 2, excess: 8, share: 1 });
    const html = readFileSync(join(run, "reports", "report.html"), "utf8");
    expect(html).toMatch(/<h2>ROC curves<\/h2>/);
    expect(html).toMatch(/cycles at 160 MHz .* BX<\/td><td>budget 8 BX<\/td><td class="pass">PASS/);
    expect(
      readFileSync(join(run, "reports", "error-hotRegion.png"))
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
  });

  it("evaluates a file without labels: thresholds only", async () => {
    const r = await evaluateScoresFile(scoresFile, { columns: { t: "teacher_score" } });
    expect(r.metrics.labelled).toBe(false);
    expect(r.metrics.background_events).toBe(180);
    expect(r.metrics.signals).toEqual({});
    expect(Object.keys(r.metrics.models)).toEqual(["t"]);
  });

  it("refuses unknown columns and scores of other events", async () => {
    await expect(evaluateScoresFile(scoresFile, { columns: { x: "nope" } })).rejects.toThrow(
      /scores\.h5: found no score "nope", expected one of student_score, teacher_score$/,
    );
    const other = join(dir, "other.h5");
    await writeEvents(other, events.slice(0, 10));
    await expect(evaluateScoresFile(scoresFile, { data: other })).rejects.toThrow(
      /scores\.h5: found scores of 180 events .* expected scores of the 10 events of \S+other\.h5/,
    );
  });
});
