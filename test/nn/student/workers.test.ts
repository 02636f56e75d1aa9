import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStudentConfig } from "../../../src/config/student.js";
import { fingerprintCounts } from "../../../src/data/fingerprint.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { exactForward } from "../../../src/nn/student/exact.js";
import { studentScores, trainStudent } from "../../../src/nn/student/train.js";
import { memoryStream } from "../../../src/nn/train/data.js";

describe("student training on worker threads", () => {
  it("trains v2 data-parallel on 2 workers, like one thread, and exports it bit-exactly", async () => {
    await selectBackend("wasm");
    const events = generate(defaultGeneratorConfig(), ["background"], 512, 21);
    const targets = Float32Array.from({ length: events.count }, (_, e) => (e % 17) + 3);
    const c = loadStudentConfig("configs/student-v2.json");
    const config = { ...c, training: { ...c.training, batchSize: 256, epochs: 2, earlyStopping: undefined } };
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "student-workers-")));
    try {
      const run = (workers: number, dir: string) =>
        trainStudent({
          config,
          data: memoryStream(events),
          targets,
          fingerprint: fingerprintCounts(events.et, events.count),
          dir,
          seed: 1,
          backend: "wasm",
          workers,
        });
      const parallel = await run(2, dirs[0]);
      const single = await run(0, dirs[1]);
      expect(parallel.history).toHaveLength(2);
      // Each worker normalises with its own share's batch statistics, so the runs are close, not equal.
      expect(Math.abs(parallel.history[1].trainLoss - single.history[1].trainLoss)).toBeLessThan(
        0.05 * single.history[1].trainLoss,
      );
      expect(Array.from(studentScores(parallel.ir, events))).toEqual(
        Array.from(exactForward(parallel.model, parallel.deployed, events.et, events.count)),
      );
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
