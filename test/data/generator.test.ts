import { describe, expect, it } from "vitest";
import {
  DataError,
  Dataset,
  defaultGeneratorConfig,
  GENERATED_META,
  generate,
  generateChunks,
  N_ETA,
  N_PHI,
  parseGeneratorConfig,
  SAMPLES,
} from "../../src/data/index.js";
import { means } from "../support/event-features.js";

const config = defaultGeneratorConfig();
const N = 2000;
const sample = (s: (typeof SAMPLES)[number], seed = 7) => generate(config, [s], N, seed);

describe("generator determinism", () => {
  it("gives byte-identical events and metadata for the same seed and config", () => {
    const a = generate(config, ["background", "suep"], 500, 42);
    const b = generate(config, ["background", "suep"], 500, 42);
    expect(Buffer.from(a.et.buffer).equals(Buffer.from(b.et.buffer))).toBe(true);
    for (const k of GENERATED_META) expect(a.meta[k]).toEqual(b.meta[k]);
  });

  it("gives different events for a different seed", () => {
    const a = sample("background", 1);
    const b = sample("background", 2);
    let differing = 0;
    for (let i = 0; i < a.count; i++) if (!a.event(i).every((v, r) => v === b.event(i)[r])) differing++;
    expect(differing).toBe(N);
  });

  it("does not depend on chunk size or on the other samples generated alongside", () => {
    const whole = [...generateChunks(config, "dijetResonance", 1000, 5, 1000)][0];
    const pieces = Dataset.concat([...generateChunks(config, "dijetResonance", 1000, 5, 97)]);
    expect(pieces.et).toEqual(whole.et);
    const mixed = generate(config, ["background", "dijetResonance"], 1000, 5);
    expect(mixed.slice(1000).et).toEqual(whole.et);
  });

  // Written once on the development machine: the same value on another machine (CI) is the
  // check that output is byte-identical across machines; a deliberate generator change
  // updates it.
  it("pins the first background event of seed 1 across machines", () => {
    const ev = generate(config, ["background"], 1, 1).event(0);
    const sum = ev.reduce((s, v) => s + v, 0);
    const fingerprint = ev.reduce((h, v, i) => (Math.imul(h, 31) + v * (i + 1)) >>> 0, 0);
    expect({ sum, fingerprint }).toMatchInlineSnapshot(`
      {
        "fingerprint": 2642001571,
        "sum": 353,
      }
    `);
  });
});

describe("generated events", () => {
  it("label every event with its sample and carry nPV and truth metadata", () => {
    const d = generate(config, ["background", "monojet"], 100, 3);
    expect(d.labelNames).toEqual(SAMPLES);
    expect([...new Set(d.labels)]).toEqual([0, 4]);
    expect(Object.keys(d.meta).sort()).toEqual([...GENERATED_META].sort());
    expect(d.meta.metGeV.slice(0, 100).every((v) => v === 0)).toBe(true);
    expect(d.meta.metGeV.slice(100).every((v) => v >= config.signals.monojet.jetPtMinGeV)).toBe(true);
  });

  it("saturate at 1023 (511.5 GeV) rather than wrap", () => {
    const heavy = structuredClone(config);
    heavy.signals.dijetResonance.massGeV = 3000;
    const d = generate(heavy, ["dijetResonance"], 200, 4);
    let saturated = 0;
    for (let i = 0; i < d.count; i++) if (d.event(i).includes(1023)) saturated++;
    expect(saturated).toBeGreaterThan(150);
    expect(d.et.reduce((m, v) => Math.max(m, v), 0)).toBe(1023);
  });
});

describe("background as documented", () => {
  const bg = generate(config, ["background"], 20000, 11);
  const m = means(bg.slice(0, N));

  it("has nPV ~ Poisson(50), a mean ET sum of 165-190 GeV and 38-44 % occupancy", () => {
    const npv = bg.meta.nPV;
    const mean = npv.reduce((s, v) => s + v, 0) / npv.length;
    const variance = npv.reduce((s, v) => s + (v - mean) ** 2, 0) / npv.length;
    expect(mean).toBeGreaterThan(49.5);
    expect(mean).toBeLessThan(50.5);
    expect(variance).toBeGreaterThan(45);
    expect(variance).toBeLessThan(55);
    expect(m.sum).toBeGreaterThan(165);
    expect(m.sum).toBeLessThan(190);
    expect(m.occupancy).toBeGreaterThan(0.38);
    expect(m.occupancy).toBeLessThan(0.44);
  });

  it("has more soft deposits forward than central", () => {
    let central = 0;
    let forward = 0;
    for (let i = 0; i < N; i++) {
      for (let p = 0; p < N_PHI; p++) {
        central += bg.event(i)[p * N_ETA + 6] + bg.event(i)[p * N_ETA + 7];
        forward += bg.event(i)[p * N_ETA + 0] + bg.event(i)[p * N_ETA + 13];
      }
    }
    expect(forward).toBeGreaterThan(2 * central);
  });

  it("has a falling tail of hard QCD events", () => {
    const lead = [...bg.meta.leadingJetEtGeV];
    const above = (x: number) => lead.filter((v) => v > x).length / lead.length;
    expect(above(30)).toBeGreaterThan(0.01);
    expect(above(100)).toBeGreaterThan(0);
    expect(above(100)).toBeLessThan(above(30) / 5);
  });
});

describe("signals differ from background as documented", () => {
  const bg = means(sample("background"));

  it("dijet resonance: two hard deposits back to back in phi", () => {
    const s = means(sample("dijetResonance"));
    expect(s.backToBack).toBeGreaterThan(0.95);
    expect(bg.backToBack).toBeLessThan(0.02);
    expect(s.sum).toBeGreaterThan(3 * bg.sum);
  });

  it("SUEP: higher occupancy from soft deposits", () => {
    const s = means(sample("suep"));
    expect(s.occupancy).toBeGreaterThan(bg.occupancy + 0.1);
    expect(s.max).toBeLessThan(30);
    expect(s.sum).toBeGreaterThan(2 * bg.sum);
  });

  it("four-jet cascade: several moderate jets", () => {
    const s = means(sample("fourJet"));
    expect(s.above10).toBeGreaterThan(3);
    expect(bg.above10).toBeLessThan(1);
    expect(s.sum).toBeGreaterThan(1.4 * bg.sum);
    expect(s.sum).toBeLessThan(2 * bg.sum);
  });

  it("monojet: large missing ET", () => {
    const s = means(sample("monojet"));
    expect(s.met).toBeGreaterThan(200);
    expect(bg.met).toBeLessThan(25);
  });

  it("LLP: isolated single-region deposits", () => {
    const s = means(sample("llp"));
    expect(s.isolated).toBeGreaterThan(0.9);
    expect(bg.isolated).toBeLessThan(0.01);
  });
});

describe("detector faults", () => {
  const f = config.faults;

  it("hot region reads its stuck value in every event", () => {
    const d = sample("hotRegion");
    const r = f.hotRegion.phi * N_ETA + f.hotRegion.eta;
    for (let i = 0; i < d.count; i++) expect(d.event(i)[r]).toBe(f.hotRegion.stuckEtGeV * 2);
  });

  it("dead region and dead eta strip read zero in every event", () => {
    const dead = sample("deadRegion");
    const strip = sample("deadEtaStrip");
    const r = f.deadRegion.phi * N_ETA + f.deadRegion.eta;
    let sum = 0;
    for (let i = 0; i < N; i++) {
      sum += dead.event(i)[r];
      for (let p = 0; p < N_PHI; p++) sum += strip.event(i)[p * N_ETA + f.deadEtaStrip.eta];
    }
    expect(sum).toBe(0);
    const bg = sample("background");
    let live = 0;
    for (let i = 0; i < N; i++) live += bg.event(i)[r];
    expect(live).toBeGreaterThan(0);
  });

  it("miscalibrated sector scales its phi regions' ET", () => {
    const sectorEt = (d: Dataset) => {
      let s = 0;
      for (let i = 0; i < d.count; i++) {
        for (let k = 0; k < f.miscalibratedSector.phiCount; k++) {
          const p = (f.miscalibratedSector.phiFirst + k) % N_PHI;
          for (let e = 0; e < N_ETA; e++) s += d.event(i)[p * N_ETA + e];
        }
      }
      return s;
    };
    const ratio = sectorEt(sample("miscalibratedSector")) / sectorEt(sample("background"));
    expect(ratio).toBeGreaterThan(f.miscalibratedSector.scale - 0.15);
    expect(ratio).toBeLessThan(f.miscalibratedSector.scale + 0.15);
  });
});

describe("generator config", () => {
  it("names the field and the rule of a bad value", () => {
    const bad = structuredClone(config) as any;
    bad.pileup.meanPileup = -1;
    expect(() => parseGeneratorConfig(bad, "g.json")).toThrow(DataError);
    expect(() => parseGeneratorConfig(bad, "g.json")).toThrow(
      /g\.json: found a problem at pileup\.meanPileup/,
    );
  });

  it("rejects unknown fields (a misspelt parameter is not silently ignored)", () => {
    const bad = structuredClone(config) as any;
    bad.noise.sigmaGev = 1;
    expect(() => parseGeneratorConfig(bad)).toThrow(/noise/);
  });
});
