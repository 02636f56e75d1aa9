import { describe, expect, it } from "vitest";
import {
  auc,
  EvaluationError,
  efficiency,
  evaluateScores,
  metricsToJson,
  pearson,
  ranks,
  rateKhz,
  rocCurve,
  spearman,
  tailSlope,
  thresholdAtRate,
  topRegions,
  triggerOverlap,
  workingPointNotes,
} from "../../src/eval/index.js";

const trapezoid = (x: Float64Array, y: Float64Array) => {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return a;
};

describe("ROC and AUC", () => {
  const bg = [4, 1, 3, 2];
  const sig = [5, 3];

  it("has one point per distinct score, ties stepping diagonally", () => {
    const r = rocCurve(bg, sig);
    expect([...r.thresholds]).toEqual([Infinity, 4, 3, 2, 1, -Infinity]);
    expect([...r.fpr]).toEqual([0, 0, 0.25, 0.5, 0.75, 1]);
    expect([...r.tpr]).toEqual([0, 0.5, 0.5, 1, 1, 1]);
  });

  it("AUC is the Mann-Whitney probability with ties counting one half, equal to the curve's area", () => {
    // Signal 3: two background below, one tied (1/2); signal 5: four below. (2.5 + 4) / 8.
    expect(auc(bg, sig)).toBe(0.8125);
    const r = rocCurve(bg, sig);
    expect(trapezoid(r.fpr, r.tpr)).toBeCloseTo(0.8125, 12);
    expect(auc([1, 1, 1], [1, 1])).toBe(0.5);
    expect(auc([0, 1], [2, 3])).toBe(1);
    expect(auc([2, 3], [0, 1])).toBe(0);
  });

  it("agrees with a brute-force pair count on random integer scores with many ties", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 10;
    };
    const b = Array.from({ length: 300 }, next);
    const s = Array.from({ length: 200 }, () => next() + 2);
    let pairs = 0;
    for (const x of s) for (const y of b) pairs += x > y ? 1 : x === y ? 0.5 : 0;
    expect(auc(b, s)).toBeCloseTo(pairs / (b.length * s.length), 12);
    const r = rocCurve(b, s);
    expect(trapezoid(r.fpr, r.tpr)).toBeCloseTo(pairs / (b.length * s.length), 12);
  });

  it("refuses NaN scores and empty samples", () => {
    expect(() => auc([1, Number.NaN], [2])).toThrow(/score 1 is NaN/);
    expect(() => rocCurve([], [1])).toThrow(/needs background and signal/);
  });
});

describe("thresholds at a trigger rate", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it("is the smallest threshold whose background rate is at most the target", () => {
    // 1 MHz crossings: 30 kHz allows 3 of 100 background events.
    const p = thresholdAtRate(hundred, 30, 1);
    expect(p).toEqual({ targetKhz: 30, threshold: 97, passed: 3, rateKhz: 30 });
    expect(thresholdAtRate(hundred, 29.9, 1).threshold).toBe(98);
  });

  it("never splits a tie: tied background events at the threshold do not trigger", () => {
    const tied = [1, 2, 3, 3, 3];
    // 400 kHz of 1 MHz allows 2 of 5; any threshold below 3 passes all three 3s (600 kHz).
    expect(thresholdAtRate(tied, 400, 1)).toEqual({ targetKhz: 400, threshold: 3, passed: 0, rateKhz: 0 });
    expect(thresholdAtRate(tied, 600, 1)).toEqual({ targetKhz: 600, threshold: 2, passed: 3, rateKhz: 600 });
    expect(thresholdAtRate(tied, 1000, 1).threshold).toBe(-Infinity);
  });

  it("uses 28.61 MHz by default: 1 kHz is one event in 28610", () => {
    expect(rateKhz(1 / 28610)).toBeCloseTo(1, 12);
    const bg = Float64Array.from({ length: 28610 }, (_, i) => i);
    const p = thresholdAtRate(bg, 1);
    expect(p.threshold).toBe(28608);
    expect(p.passed).toBe(1);
    expect(p.rateKhz).toBeCloseTo(1, 12);
  });

  it("efficiency counts scores strictly above the threshold", () => {
    expect(efficiency([96.5, 98, 97], 97)).toBe(1 / 3);
    expect(efficiency([1, 2], Number.NEGATIVE_INFINITY)).toBe(1);
  });
});

describe("teacher-student agreement", () => {
  it("correlations", () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 15);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 15);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNaN();
    expect(pearson([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(0.984374038697, 10);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBe(1);
    expect([...ranks([10, 20, 20, 30])]).toEqual([1, 2.5, 2.5, 4]);
  });

  it("tail slope: the student's slope on the teacher over the teacher's k highest events", () => {
    // The three highest teacher scores (9, 8, 7) carry student 25, 20, 15: slope 5. Below the
    // tail the student falls as the teacher rises, which a slope over all events would show.
    const teacher = [1, 9, 2, 8, 3, 7];
    const student = [30, 25, 28, 20, 26, 15];
    expect(tailSlope(teacher, student, 3)).toBeCloseTo(5, 12);
    expect(tailSlope(teacher, student, 6)).toBeLessThan(0);
    // Ties at the k-th score go by event order: events 0 and 2 tie at 5; event 0 is taken.
    expect(tailSlope([5, 9, 5], [1, 3, 100], 2)).toBeCloseTo(0.5, 12);
    expect(tailSlope([4, 4, 1], [1, 2, 3], 2)).toBeNaN();
    expect(() => tailSlope([1, 2], [1, 2], 3)).toThrow(/tail of 3 events/);
    expect(() => tailSlope([1, 2], [1, 2], 1)).toThrow(/from 2 to 2/);
  });

  it("overlap is the fraction of the teacher's triggers the student also fires on", () => {
    const o = triggerOverlap([5, 6, 7, 1], 4, [9, 0, 9, 9], 8);
    expect(o).toEqual({ firstTriggered: 3, secondTriggered: 3, both: 2, fraction: 2 / 3 });
    expect(triggerOverlap([1], 4, [9], 8).fraction).toBeNaN();
  });
});

describe("per-region error maps", () => {
  it("rank regions by their excess over the background map, with (iphi, ieta)", () => {
    const bg = new Float32Array(252).fill(1);
    bg[0] = 3;
    const fault = bg.slice();
    fault[3 * 14 + 7] = 6; // (phi 3, eta 7): excess 5
    fault[17 * 14 + 13] = 2; // (phi 17, eta 13): excess 1
    const top = topRegions(fault, bg, 2);
    expect(top).toEqual([
      { iphi: 3, ieta: 7, error: 6, excess: 5, share: 5 / 6 },
      { iphi: 17, ieta: 13, error: 2, excess: 1, share: 1 / 6 },
    ]);
    expect(topRegions(fault, undefined, 1)[0]).toMatchObject({ iphi: 3, ieta: 7, excess: 6 });
    expect(() => topRegions([1, 2], bg)).toThrow(/252 values/);
  });
});

describe("evaluateScores", () => {
  // Labels: 0 background (scores 1..10), 1 signal, 2 hotRegion.
  const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2]);
  const teacher = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9.5, 3, 11, 12];
  const student = [2, 1, 3, 4, 5, 6, 7, 8, 10, 9, 10.5, 11, 0, 12];

  it("thresholds, efficiencies, AUCs and agreement on a hand-made sample", () => {
    // 1 MHz crossings, 10 background events: 100 kHz = 1 event, 300 kHz = 3.
    const m = evaluateScores(
      { scores: { teacher, student }, labels, labelNames: ["background", "signal", "hotRegion"] },
      { rateMhz: 1, ratesKhz: [100, 300] },
    );
    expect(m.events).toBe(14);
    expect(m.background_events).toBe(10);
    expect(m.rate_step_khz).toBe(100);
    expect(m.models.teacher.thresholds).toEqual([
      { rate_khz: 100, threshold: 9, background_passed: 1, achieved_rate_khz: 100, background_tied: 1 },
      { rate_khz: 300, threshold: 7, background_passed: 3, achieved_rate_khz: 300, background_tied: 1 },
    ]);
    expect(m.models.student.thresholds.map((t) => t.threshold)).toEqual([9, 7]);
    expect(m.models.teacher.background).toEqual({ min: 1, max: 10, mean: 5.5, median: 5.5 });
    expect(m.signals.signal).toEqual({
      events: 2,
      fault: false,
      models: {
        // 9.5 beats nine; 3 beats two and ties one.
        teacher: { auc: (9 + 2 + 0.5) / 20, efficiency: [0.5, 0.5] },
        student: { auc: 20 / 20, efficiency: [1, 1] },
      },
    });
    expect(m.signals.hotRegion.fault).toBe(true);
    expect(m.signals.hotRegion.models.student).toEqual({ auc: 10 / 20, efficiency: [0.5, 0.5] });
    // At 100 kHz both thresholds are 9. Teacher fires on events 9, 10, 12, 13; student on
    // 8, 10, 11, 13: they share 10 and 13.
    expect(m.agreement?.overlap[0]).toEqual({
      rate_khz: 100,
      teacher_triggered: 4,
      student_triggered: 4,
      both: 2,
      fraction: 0.5,
    });
    expect(m.agreement?.pearson).toBeCloseTo(pearson(teacher, student), 15);
  });

  it("without labels every event is background: thresholds and distributions only", () => {
    const m = evaluateScores({ scores: { teacher } }, { rateMhz: 1, ratesKhz: [100] });
    expect(m.labelled).toBe(false);
    expect(m.background_events).toBe(14);
    expect(m.signals).toEqual({});
    expect(m.models.teacher.thresholds[0].threshold).toBe(11);
    expect(m.agreement).toBeUndefined();
  });

  it("notes working points a tie keeps far below their rate, such as a saturated output", () => {
    // 100,000 background events at 28.61 MHz: 3 kHz allows 10. "flat" saturates: its top 1,000
    // events all score 99,000, so its threshold is that score and nothing passes.
    const n = 100_000;
    const good = Float64Array.from({ length: n }, (_, i) => i);
    const flat = good.map((v) => Math.min(v, 99_000));
    // A few ties just below the rate are normal for discrete scores and are not noted.
    const steps = good.map((v) => (v >= n - 12 ? n - 12 : v));
    const m = evaluateScores({ scores: { good, flat, steps } }, { ratesKhz: [3] });
    expect(m.models.flat.thresholds[0]).toMatchObject({
      threshold: 99_000,
      background_passed: 0,
      background_tied: 1000,
    });
    expect(m.models.steps.thresholds[0]).toMatchObject({ background_passed: 0, background_tied: 12 });
    expect(m.models.good.thresholds[0]).toMatchObject({ background_passed: 10, background_tied: 1 });
    const notes = workingPointNotes(m, (x) => `model ${x}`);
    expect(notes).toEqual([
      "model flat at 3 kHz: 1000 background events tie at its threshold 99000, its largest score on background (a saturated output), so it passes 0 of the 10 allowed (0.00 kHz) and its efficiencies there are understated",
      "model steps at 3 kHz: 12 background events tie at its threshold 99988, its largest score on background (a saturated output), so it passes 0 of the 10 allowed (0.00 kHz) and its efficiencies there are understated",
    ]);
    // Ties that still pass at least half of the allowed events are not worth a note.
    const near = good.map((v) => (v >= n - 8 ? n - 1 : v >= n - 12 ? n - 12 : v));
    expect(workingPointNotes(evaluateScores({ scores: { near } }, { ratesKhz: [3] }))).toEqual([]);
  });

  it("names what is missing", () => {
    expect(() =>
      evaluateScores({ scores: { teacher: [1, 2] }, labels: [1, 1], labelNames: ["background", "x"] }),
    ).toThrow(EvaluationError);
    expect(() => evaluateScores({ scores: { teacher: [1, 2], student: [1] } })).toThrow(
      /score "student" has 1 values, expected 2/,
    );
  });

  it("writes NaN and -Infinity as null in JSON", () => {
    const m = evaluateScores({ scores: { a: [1, 1], b: [1, 2] } }, { rateMhz: 1, ratesKhz: [1000] });
    const back = JSON.parse(metricsToJson(m));
    expect(back.models.a.thresholds[0].threshold).toBeNull();
    expect(back.agreement.pearson).toBeNull();
  });
});
