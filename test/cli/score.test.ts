import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import yargs from "yargs";
import { exportOnnxCommand, scoreCommand } from "../../src/cli/score.js";
import { loadTeacherConfig } from "../../src/config/teacher.js";
import {
  defaultGeneratorConfig,
  fingerprintCounts,
  generate,
  readScores,
  writeEvents,
} from "../../src/data/index.js";
import { selectBackend } from "../../src/nn/backend.js";
import { saveModel } from "../../src/nn/modelfile.js";
import { buildTeacher } from "../../src/nn/teacher/model.js";
import { UserError } from "../../src/util/errors.js";

/** The commands in this process (a spawned CLI takes seconds to start on a loaded machine). */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    stdout += `${a.join(" ")}\n`;
  });
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    stderr += `${a.join(" ")}\n`;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  await yargs(args)
    .command(scoreCommand)
    .command(exportOnnxCommand)
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  vi.restoreAllMocks();
  return { stdout, stderr };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("distill score and export-onnx", () => {
  const dir = mkdtempSync(join(tmpdir(), "distill-cli-score-"));
  const modelDir = join(dir, "teacher");
  const data = join(dir, "events.h5");
  const events = generate(defaultGeneratorConfig(), ["background", "llp"], 100, 9);

  beforeAll(async () => {
    await selectBackend();
    const config = loadTeacherConfig("configs/cae.json");
    await saveModel(modelDir, buildTeacher(config, 2), {
      kind: "teacher",
      inputScale: config.input.scale,
      targetType: config.target.type,
    });
    await writeEvents(data, events);
  });

  it("exports ONNX and scores with it; the default output sits beside the data", async () => {
    const onnx = join(dir, "teacher.onnx");
    const exp = await run("export-onnx", "--model", modelDir, "-o", onnx);
    expect(exp.stderr).toMatch(/export-onnx: backend wasm/);
    expect(exp.stdout).toMatch(/wrote .*teacher\.onnx \(\d+\.\d\d MB, ONNX opset 13, \d+ parameters\)/);
    const r = await run("score", "--model", onnx, "--data", data, "--chunk", "64");
    expect(r.stderr).toMatch(/score: 64\/200 events\nscore: 128\/200 events\n/);
    expect(r.stdout).toMatch(
      /^scored 200 events in .* s \(\d+ events\/s, onnxruntime-node .*\): median MSE .*, target ap_ufixed<16,8,AP_RND_CONV,AP_SAT> .* -> .*events\.teacher-scores\.h5\n$/,
    );
    const s = await readScores(join(dir, "events.teacher-scores.h5"));
    expect(s.dataset).toEqual({ ...fingerprintCounts(events.et, events.count), file: data });
    expect(Object.keys(s.columns).sort()).toEqual(["teacher_mse", "teacher_score", "teacher_target"]);
    expect(Object.keys(s.maps ?? {}).sort()).toEqual(["error", "input"]);
    expect(Object.keys(s.maps!.error).sort()).toEqual(["background", "llp"]);
  });

  it("scores a tfjs folder with either engine to the same targets (within one step)", async () => {
    const out = (e: string) => join(dir, `${e}.h5`);
    for (const engine of ["tfjs", "ort"]) {
      await run("score", "--model", modelDir, "--data", data, "-o", out(engine), "--engine", engine);
    }
    const [a, b] = [await readScores(out("tfjs")), await readScores(out("ort"))];
    const ta = a.columns.teacher_target.values;
    const tb = b.columns.teacher_target.values;
    for (let i = 0; i < ta.length; i++) expect(Math.abs(ta[i] - tb[i])).toBeLessThanOrEqual(1);
    expect(a.columns.teacher_mse.description).toMatch(/tfjs \(wasm\)/);
  });

  it("refuses a missing or invalid model, naming the path and what was expected", async () => {
    const fails = (...args: string[]) =>
      run("score", "--data", data, ...args).then(
        () => undefined,
        (e) => e,
      );
    const missing = await fails("--model", join(dir, "nope"));
    expect(missing).toBeInstanceOf(UserError);
    expect(missing.message).toMatch(/nope: no such file or folder, expected a teacher folder/);
    const bad = join(dir, "bad.onnx");
    writeFileSync(bad, "garbage that is not ONNX");
    expect((await fails("--model", bad)).message).toMatch(
      /bad\.onnx: (not an ONNX model|metadata distill\.kind)/,
    );
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expect((await fails("--model", empty, "--engine", "tfjs")).message).toMatch(/empty: no model\.json/);
    const student = join(dir, "student");
    await saveModel(student, buildTeacher(loadTeacherConfig("configs/cae.json"), 1), { kind: "student" });
    expect((await fails("--model", student)).message).toMatch(
      /student\/model\.json: userDefinedMetadata\.distill\.kind: found "student", expected "teacher"/,
    );
    const wrong = await fails("--model", join(dir, "teacher.onnx"), "--engine", "tfjs");
    expect(wrong.message).toMatch(/an ONNX file runs with --engine ort/);
    expect(existsSync(join(dir, "nope.teacher-scores.h5"))).toBe(false);
  });

  it("is a command of the distill CLI, whose errors print as one line", () => {
    const r = spawnSync(
      "node",
      ["--import", "tsx", "src/cli/main.ts", "score", "--model", join(dir, "nope"), "--data", data],
      {
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^distill: .*nope: no such file or folder, expected a teacher folder \(model\.json\) or a \.onnx file\n$/,
    );
  });
});
