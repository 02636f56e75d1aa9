import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/config/load.js";
import { loadTeacherConfig } from "../../../src/config/teacher.js";
import {
  type Dataset,
  defaultGeneratorConfig,
  fingerprintCounts,
  generate,
} from "../../../src/data/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { loadModel } from "../../../src/nn/modelfile.js";
import { getParams } from "../../../src/nn/params.js";
import { trainTeacher } from "../../../src/nn/teacher/train.js";
import { CheckpointError } from "../../../src/nn/train/checkpoint.js";
import { memoryStream } from "../../../src/nn/train/data.js";
import { tinyTeacher } from "./support.js";

let data: Dataset;
const dir = () => mkdtempSync(join(tmpdir(), "distill-teacher-"));

beforeAll(async () => {
  await selectBackend("cpu");
  data = generate(defaultGeneratorConfig(), ["background"], 320, 3);
});

function train(config = tinyTeacher(), out = dir(), extra: { resume?: boolean; workers?: number } = {}) {
  return trainTeacher({
    config,
    data: memoryStream(data),
    fingerprint: fingerprintCounts(data.et, data.count),
    dir: out,
    seed: 11,
    backend: "cpu",
    workers: extra.workers ?? 0,
    ...(extra.resume ? { resume: true } : {}),
  });
}

describe("teacher training", () => {
  it("lowers the loss, saves the model with its input scale, and is deterministic given a seed", async () => {
    const out = dir();
    const a = await train(tinyTeacher(), out);
    expect(a.history).toHaveLength(3);
    expect(a.history[2].trainLoss).toBeLessThan(a.history[0].trainLoss);
    expect(a.history.every((h) => Number.isFinite(h.validationLoss))).toBe(true);
    const saved = await loadModel(join(out, "model"));
    expect(saved.metadata.inputScale).toBe(0.125);
    expect(getParams(saved.model)).toEqual(a.params);
    expect(JSON.parse(readFileSync(join(out, "history.json"), "utf8"))).toHaveLength(3);
    const b = await train();
    expect(b.params).toEqual(a.params);
  });

  it("resumes after a crash mid-epoch and ends bit for bit where an uninterrupted run ends", async () => {
    const config = tinyTeacher({ epochs: 3 });
    const whole = await train(config);
    const out = dir();
    // A crash in the middle of epoch 2: the checkpoint of epoch 1 survives.
    let updates = 0;
    await expect(
      trainTeacher({
        config,
        data: memoryStream(data),
        fingerprint: fingerprintCounts(data.et, data.count),
        dir: out,
        seed: 11,
        backend: "cpu",
        workers: 0,
        afterUpdate: () => {
          if (++updates === 6) throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    expect(existsSync(join(out, "checkpoint", "state.json"))).toBe(true);
    const lines: string[] = [];
    const resumed = await trainTeacher({
      config,
      data: memoryStream(data),
      fingerprint: fingerprintCounts(data.et, data.count),
      dir: out,
      seed: 11,
      backend: "cpu",
      workers: 0,
      resume: true,
      log: (l) => lines.push(l),
    });
    expect(lines[0]).toMatch(/^resuming after epoch 1 from /);
    expect(resumed.epochsRun).toBe(2);
    expect(resumed.history).toEqual(
      whole.history.map((h, i) => ({
        ...h,
        seconds: resumed.history[i].seconds,
        trainEventsPerSecond: resumed.history[i].trainEventsPerSecond,
      })),
    );
    expect(resumed.params).toEqual(whole.params);
  });

  it("refuses to resume from a checkpoint of another config or dataset", async () => {
    const out = dir();
    await train(tinyTeacher({ epochs: 1 }), out);
    await expect(train(tinyTeacher({ epochs: 2, batchSize: 32 }), out, { resume: true })).rejects.toThrow(
      CheckpointError,
    );
  });

  it("stops early when the validation loss stops improving and restores the best epoch", async () => {
    const out = dir();
    const r = await train(
      tinyTeacher({
        epochs: 30,
        optimizer: { type: "sgd", learningRate: 1e-9, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
        earlyStopping: { patience: 1, minDelta: 1, restoreBest: true },
      }),
      out,
    );
    expect(r.stoppedEarly).toBe(true);
    expect(r.history).toHaveLength(2);
    expect(r.bestEpoch).toBe(1);
  });

  it("trains data-parallel on two worker threads, deterministically", async () => {
    const config = tinyTeacher({ epochs: 2 });
    const a = await train(config, dir(), { workers: 2 });
    const b = await train(config, dir(), { workers: 2 });
    expect(a.params).toEqual(b.params);
    expect(a.history[1].trainLoss).toBeLessThan(a.history[0].trainLoss);
  }, 60_000);
});

describe("teacher config", () => {
  const write = (text: string) => {
    const f = join(dir(), "t.json");
    writeFileSync(f, text);
    return f;
  };
  const base = () => JSON.parse(readFileSync("configs/cae.json", "utf8"));

  it("loads the default CICADA teacher", () => {
    const c = loadTeacherConfig("configs/cae.json");
    expect(c.layers).toHaveLength(12);
    expect(c.training.batchSize).toBe(512);
  });

  it("names the file, field and expectation on bad input", () => {
    const c = base();
    c.training.batchSize = -4;
    const f = write(JSON.stringify(c, null, 2));
    expect(() => loadTeacherConfig(f)).toThrow(ConfigError);
    expect(() => loadTeacherConfig(f)).toThrow(new RegExp(`${f}: training.batchSize: `));
    const d = base();
    d.layers[2].filtrs = 3;
    expect(() => loadTeacherConfig(write(JSON.stringify(d)))).toThrow(
      /layers\[2\]\.filtrs: unknown field \(check the spelling\)/,
    );
    const e = base();
    e.layers.splice(3, 1); // no flatten before the dense layer
    expect(() => loadTeacherConfig(write(JSON.stringify(e)))).toThrow(
      /layers\[3\] \(dense\): found an input of shape \[9,7,30\], expected a flat vector \(add a flatten\)/,
    );
    const g = base();
    g.layers.pop();
    expect(() => loadTeacherConfig(write(JSON.stringify(g)))).toThrow(
      /the last layer gives \[18,14,20\], expected the input shape/,
    );
    const h = base();
    h.target.type = "ap_ufixed<16,8,AP_RND_SIDEWAYS>";
    expect(() => loadTeacherConfig(write(JSON.stringify(h)))).toThrow(/target\.type/);
    expect(() => loadTeacherConfig(write('{\n  "name": "x",\n  oops\n}'))).toThrow(
      /t.json: invalid JSON at line 3, column 3/,
    );
  });
});
