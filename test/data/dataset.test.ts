import { describe, expect, it } from "vitest";
import {
  DataError,
  Dataset,
  etaRegionOf,
  N_REGIONS,
  phiRegionOf,
  regionEta,
  regionIndex,
  regionPhi,
  wrapPhi,
} from "../../src/data/index.js";

/** n events whose regions all hold the event's index, with labels and one metadata field. */
function numbered(n: number): Dataset {
  const et = new Uint16Array(n * N_REGIONS);
  for (let i = 0; i < n; i++) et.fill(i, i * N_REGIONS, (i + 1) * N_REGIONS);
  return new Dataset({
    et,
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
    labelNames: ["even", "odd"],
    meta: { nPV: Float32Array.from({ length: n }, (_, i) => 100 + i) },
    source: "numbered",
  });
}
const ids = (d: Dataset) => Array.from({ length: d.count }, (_, i) => d.event(i)[0]);

describe("geometry", () => {
  it("indexes regions row-major (phi, eta) and wraps phi", () => {
    expect(regionIndex(3, 7)).toBe(49);
    expect([regionPhi(49), regionEta(49)]).toEqual([3, 7]);
    expect([wrapPhi(-1), wrapPhi(18), wrapPhi(5)]).toEqual([17, 0, 5]);
    expect(phiRegionOf(-0.01)).toBe(17);
    expect(phiRegionOf(2 * Math.PI + 0.01)).toBe(0);
  });

  it("maps pseudorapidity to the 14 CMS regions within |eta| < 3", () => {
    expect([
      etaRegionOf(-2.9),
      etaRegionOf(-0.01),
      etaRegionOf(0),
      etaRegionOf(1.8),
      etaRegionOf(2.99),
    ]).toEqual([0, 6, 7, 12, 13]);
    expect([etaRegionOf(3), etaRegionOf(-3.1), etaRegionOf(Number.NaN)]).toEqual([-1, -1, -1]);
  });
});

describe("dataset container", () => {
  it("slices as views sharing the buffer", () => {
    const d = numbered(10);
    const s = d.slice(2, 5);
    expect(ids(s)).toEqual([2, 3, 4]);
    expect(s.et.buffer).toBe(d.et.buffer);
    expect([...s.labels!]).toEqual([0, 1, 0]);
    expect([...s.meta.nPV]).toEqual([102, 103, 104]);
  });

  it("shuffles the same way for the same seed, keeping labels and metadata with their events", () => {
    const d = numbered(50);
    const a = d.shuffle(3);
    expect(ids(a)).toEqual(ids(d.shuffle(3)));
    expect(ids(a)).not.toEqual(ids(d.shuffle(4)));
    expect([...ids(a)].sort((x, y) => x - y)).toEqual(ids(d));
    for (let i = 0; i < a.count; i++) {
      expect(a.labels![i]).toBe(ids(a)[i] % 2);
      expect(a.meta.nPV[i]).toBe(100 + ids(a)[i]);
    }
  });

  it("splits into train / validation / test: contiguous views without a seed, a shuffled partition with one", () => {
    const d = numbered(100);
    const plain = d.split({ train: 0.7, validation: 0.2, test: 0.1 });
    expect([plain.train.count, plain.validation.count, plain.test.count]).toEqual([70, 20, 10]);
    expect(plain.validation.et.buffer).toBe(d.et.buffer);
    expect(ids(plain.test)[0]).toBe(90);
    const mixed = d.split({ train: 7, validation: 2, test: 1 }, 11);
    const all = [...ids(mixed.train), ...ids(mixed.validation), ...ids(mixed.test)];
    expect(all.sort((x, y) => x - y)).toEqual(ids(d));
    expect(ids(mixed.train)).not.toEqual(ids(plain.train));
  });

  it("concatenates, keeping labels only when their names agree", () => {
    const d = numbered(4);
    const c = Dataset.concat([d.slice(0, 2), d.slice(2)]);
    expect(ids(c)).toEqual([0, 1, 2, 3]);
    expect(c.labels).toEqual(d.labels);
    const other = new Dataset({ ...d, labelNames: ["a", "b"] });
    expect(Dataset.concat([d, other]).labels).toBeUndefined();
  });

  it("rejects buffers that are not whole events or mismatched side arrays", () => {
    expect(() => new Dataset({ et: new Uint16Array(251), source: "x" })).toThrow(/not a multiple of 252/);
    expect(() => new Dataset({ et: new Uint16Array(252), labels: new Int32Array(2), source: "x" })).toThrow(
      /labels has 2 entries, expected 1/,
    );
  });
});

describe("DataError", () => {
  it("prints file, dataset or line, event, region (phi, eta), found and expected", () => {
    const e = new DataError(
      { file: "events.npy", event: 12, region: 3 * 14 + 7 },
      "1100",
      "0..1023 (use --saturate to clip)",
    );
    expect(e.message).toBe(
      "events.npy: event 12, region (phi 3, eta 7): found 1100, expected 0..1023 (use --saturate to clip)",
    );
  });
});
