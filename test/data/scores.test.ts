import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkScoresMatch,
  DataError,
  defaultGeneratorConfig,
  fingerprintCounts,
  fingerprintEvents,
  generate,
  openEvents,
  readScores,
  scoreColumn,
  writeEvents,
  writeScores,
} from "../../src/data/index.js";

const dir = () => mkdtempSync(join(tmpdir(), "distill-scores-"));
const events = generate(defaultGeneratorConfig(), ["background", "monojet"], 40, 3);

describe("dataset fingerprints", () => {
  it("hash the counts as little-endian uint16, the same streamed from a file as in memory", async () => {
    const file = join(dir(), "e.h5");
    await writeEvents(file, events);
    const src = await openEvents(file);
    const streamed = await fingerprintEvents(src);
    src.close();
    const bytes = Buffer.alloc(events.et.length * 2);
    for (let i = 0; i < events.et.length; i++) bytes.writeUInt16LE(events.et[i], 2 * i);
    expect(streamed).toEqual({ events: 80, sha256: createHash("sha256").update(bytes).digest("hex") });
    expect(fingerprintCounts(events.et, events.count)).toEqual(streamed);
    const changed = events.et.slice();
    changed[1000] ^= 1;
    expect(fingerprintCounts(changed, events.count).sha256).not.toBe(streamed.sha256);
  });
});

describe("scores files", () => {
  const fp = fingerprintCounts(events.et, events.count);
  const mse = Float32Array.from({ length: 80 }, (_, i) => 0.5 + i / 7);
  const target = Uint16Array.from({ length: 80 }, (_, i) => 1000 + 13 * i);

  it("round-trip columns, fixed types, descriptions, the dataset fingerprint and per-label maps", async () => {
    const file = join(dir(), "t.h5");
    const map = Float32Array.from({ length: 252 }, (_, i) => i / 4);
    await writeScores(file, {
      dataset: { ...fp, file: "events.h5" },
      columns: {
        TeacherMSE: { values: mse, description: "mean squared reconstruction error" },
        Target: { values: target, fixedType: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
      },
      maps: { RegionError: { background: map } },
    });
    const back = await readScores(file);
    expect(back.dataset).toEqual({ ...fp, file: "events.h5" });
    expect(back.columns.TeacherMSE.values).toEqual(mse);
    expect(back.columns.TeacherMSE.description).toBe("mean squared reconstruction error");
    expect(back.columns.Target.values).toEqual(target);
    expect(back.columns.Target.values).toBeInstanceOf(Uint16Array);
    expect(back.columns.Target.fixedType).toBe("ap_ufixed<16,8,AP_RND_CONV,AP_SAT>");
    expect(back.maps?.RegionError.background).toEqual(map);
    expect(readdirSync(join(file, "..")).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(() => scoreColumn(back, "Student", file)).toThrow(
      /found no score "Student", expected one of Target, TeacherMSE/,
    );
  });

  it("refuse to pair scores with other events (count or hash)", async () => {
    const file = join(dir(), "t.h5");
    await writeScores(file, { dataset: fp, columns: { TeacherMSE: { values: mse } } });
    const s = await readScores(file);
    expect(() => checkScoresMatch(s, fp, file, "e.h5")).not.toThrow();
    const other = fingerprintCounts(events.et.subarray(0, 252 * 79), 79);
    expect(() => checkScoresMatch(s, other, file, "e.h5")).toThrow(DataError);
    expect(() => checkScoresMatch(s, other, file, "e.h5")).toThrow(
      /found scores of 80 events .*expected scores of the 79 events of e.h5/,
    );
    const changed = events.et.slice();
    changed[7] += 1;
    expect(() => checkScoresMatch(s, fingerprintCounts(changed, 80), file, "e.h5")).toThrow(/SHA-256/);
  });

  it("reject a column of the wrong length and leave no file behind", async () => {
    const file = join(dir(), "t.h5");
    await expect(
      writeScores(file, { dataset: fp, columns: { X: { values: new Float32Array(3) } } }),
    ).rejects.toThrow(/score "X" has 3 values, expected 80/);
    expect(existsSync(file)).toBe(false);
  });

  it("reject a file that is not a scores file", async () => {
    const file = join(dir(), "e.h5");
    await writeEvents(file, events);
    await expect(readScores(file)).rejects.toThrow(/found format attribute null, expected "distill-scores"/);
  });
});
