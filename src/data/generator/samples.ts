import type { Rng } from "../../util/rng.js";
import { ET_LSB_GEV, ET_MAX, N_ETA, N_PHI, N_REGIONS } from "../geometry.js";
import type { Detector } from "./detector.js";

/**
 * Every sample the generator knows, in label order: label i in a generated dataset means
 * SAMPLES[i]. Background first; then signals; then detector faults (on background).
 */
export const SAMPLES = [
  "background",
  "dijetResonance",
  "suep",
  "fourJet",
  "monojet",
  "llp",
  "hotRegion",
  "deadRegion",
  "deadEtaStrip",
  "miscalibratedSector",
] as const;
export type SampleName = (typeof SAMPLES)[number];

const TWO_PI = 2 * Math.PI;
const uniform = (r: Rng, halfWidth: number) => (2 * r.next() - 1) * halfWidth;

/** QCD 2->2 scatters: a power-law leading jet and a roughly balanced, back-to-back partner. */
function addQcd(d: Detector, r: Rng): void {
  const h = d.config.hardScatter;
  const n = r.poisson(h.meanDijetsPerEvent);
  for (let i = 0; i < n; i++) {
    // Inverse CDF of pT^-n between the configured limits.
    const a = h.jetPtMinGeV ** (1 - h.spectrumIndex);
    const b = h.jetPtMaxGeV ** (1 - h.spectrumIndex);
    const pt = (a + r.next() * (b - a)) ** (1 / (1 - h.spectrumIndex));
    const phi = r.next() * TWO_PI;
    d.addJet(pt, uniform(r, h.jetEtaMax), phi);
    const pt2 = pt * (h.balanceMin + r.next() * (1 - h.balanceMin));
    d.addJet(pt2, uniform(r, h.jetEtaMax), phi + Math.PI + h.acoplanaritySigmaRad * r.normal());
  }
}

/** Two back-to-back jets from a resonance of mass M (Gaussian line shape of the given width). */
function addDijetResonance(d: Detector, r: Rng): void {
  const s = d.config.signals.dijetResonance;
  const mass = Math.max(0, s.massGeV + s.widthGeV * r.normal());
  const yStar = uniform(r, s.yStarMax);
  const yBoost = uniform(r, s.boostRapidityMax);
  const pt = mass / 2 / Math.cosh(yStar);
  const phi = r.next() * TWO_PI;
  d.addJet(pt, yBoost + yStar, phi);
  d.addJet(pt, yBoost - yStar, phi + Math.PI);
}

/**
 * SUEP: a scalar decays to ~M / 3T massless particles with a Boltzmann spectrum (energy
 * Gamma(3, T)), isotropic in its rest frame (cos theta uniform), boosted along the beam.
 * Each particle is a soft single-region deposit.
 */
function addSuep(d: Detector, r: Rng): void {
  const s = d.config.signals.suep;
  const n = r.poisson(s.massGeV / (3 * s.temperatureGeV));
  const yBoost = uniform(r, s.boostRapidityMax);
  for (let i = 0; i < n; i++) {
    const energy = -s.temperatureGeV * Math.log((1 - r.next()) * (1 - r.next()) * (1 - r.next()));
    const cosTheta = 2 * r.next() - 1;
    const pt = energy * Math.sqrt(1 - cosTheta * cosTheta);
    d.addDeposit(pt, Math.atanh(cosTheta) + yBoost, r.next() * TWO_PI);
  }
}

type Vec4 = [e: number, px: number, py: number, pz: number];

/** Two-body decay of `parent` to daughters of masses m1, m2, isotropic in the parent frame. */
function decay(parent: Vec4, m1: number, m2: number, r: Rng): [Vec4, Vec4] {
  const [E, px, py, pz] = parent;
  const M = Math.sqrt(Math.max(0, E * E - px * px - py * py - pz * pz));
  const p = Math.sqrt(Math.max(0, (M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2))) / (2 * M);
  const cosT = 2 * r.next() - 1;
  const sinT = Math.sqrt(1 - cosT * cosT);
  const ph = r.next() * TWO_PI;
  const dir = [sinT * Math.cos(ph), sinT * Math.sin(ph), cosT];
  const bx = px / E;
  const by = py / E;
  const bz = pz / E;
  const b2 = bx * bx + by * by + bz * bz;
  const gamma = 1 / Math.sqrt(1 - b2);
  const boost = (e: number, q: number[]): Vec4 => {
    const bq = bx * q[0] + by * q[1] + bz * q[2];
    const k = b2 > 0 ? ((gamma - 1) * bq) / b2 + gamma * e : 0;
    return [gamma * (e + bq), q[0] + k * bx, q[1] + k * by, q[2] + k * bz];
  };
  return [
    boost(Math.hypot(p, m1), [p * dir[0], p * dir[1], p * dir[2]]),
    boost(Math.hypot(p, m2), [-p * dir[0], -p * dir[1], -p * dir[2]]),
  ];
}

function addVec4Jet(d: Detector, v: Vec4): void {
  const pt = Math.hypot(v[1], v[2]);
  if (pt > 0) d.addJet(pt, Math.asinh(v[3] / pt), Math.atan2(v[2], v[1]));
}

/** H -> aa -> 4b: the parent with an exponential pT and flat rapidity, then two isotropic decays. */
function addFourJet(d: Detector, r: Rng): void {
  const s = d.config.signals.fourJet;
  const pt = r.exponential(s.parentPtMeanGeV);
  const phi = r.next() * TWO_PI;
  const y = uniform(r, s.boostRapidityMax);
  const mT = Math.hypot(s.parentMassGeV, pt);
  const parent: Vec4 = [mT * Math.cosh(y), pt * Math.cos(phi), pt * Math.sin(phi), mT * Math.sinh(y)];
  for (const a of decay(parent, s.intermediateMassGeV, s.intermediateMassGeV, r)) {
    for (const b of decay(a, 0, 0, r)) addVec4Jet(d, b);
  }
}

/** One hard jet recoiling against invisible particles: large missing ET. */
function addMonojet(d: Detector, r: Rng): void {
  const s = d.config.signals.monojet;
  const pt = s.jetPtMinGeV + r.exponential(s.jetPtSlopeGeV);
  d.addJet(pt, uniform(r, s.jetEtaMax), r.next() * TWO_PI);
  d.truth.metGeV = pt;
}

/** Long-lived particles decaying in the calorimeter: narrow showers, each in one region. */
function addLlp(d: Detector, r: Rng): void {
  const s = d.config.signals.llp;
  const n = 1 + r.poisson(s.meanExtraDeposits);
  for (let i = 0; i < n; i++) {
    const region = Math.floor(r.next() * N_REGIONS);
    d.energy[region] += s.depositEtMinGeV + r.next() * (s.depositEtMaxGeV - s.depositEtMinGeV);
  }
}

/** Scales the energy of the miscalibrated phi sector (a QCD background event underneath). */
function addMiscalibration(d: Detector, r: Rng): void {
  addQcd(d, r);
  const f = d.config.faults.miscalibratedSector;
  for (let k = 0; k < f.phiCount; k++) {
    const phi = (f.phiFirst + k) % N_PHI;
    for (let e = 0; e < N_ETA; e++) d.energy[phi * N_ETA + e] *= f.scale;
  }
}

/**
 * Energy-level content of each sample, added after pileup and noise, before quantisation.
 * Read-out faults (hot, dead) sit on a background event and act later, on the counts.
 */
export const addSample: Readonly<Record<SampleName, (d: Detector, r: Rng) => void>> = {
  background: addQcd,
  dijetResonance: addDijetResonance,
  suep: addSuep,
  fourJet: addFourJet,
  monojet: addMonojet,
  llp: addLlp,
  hotRegion: addQcd,
  deadRegion: addQcd,
  deadEtaStrip: addQcd,
  miscalibratedSector: addMiscalibration,
};

/** Faults that act on the read-out counts, after quantisation. */
export function applyReadoutFault(sample: SampleName, d: Detector, out: Uint16Array, offset: number): void {
  const f = d.config.faults;
  switch (sample) {
    case "hotRegion":
      out[offset + f.hotRegion.phi * N_ETA + f.hotRegion.eta] = Math.min(
        ET_MAX,
        Math.floor(f.hotRegion.stuckEtGeV / ET_LSB_GEV),
      );
      return;
    case "deadRegion":
      out[offset + f.deadRegion.phi * N_ETA + f.deadRegion.eta] = 0;
      return;
    case "deadEtaStrip":
      for (let p = 0; p < N_PHI; p++) out[offset + p * N_ETA + f.deadEtaStrip.eta] = 0;
      return;
    default:
      return;
  }
}
