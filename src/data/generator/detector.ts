import type { Rng } from "../../util/rng.js";
import {
  ET_LSB_GEV,
  ET_MAX,
  ETA_EDGES,
  etaRegionOf,
  etaWidth,
  N_ETA,
  N_PHI,
  N_REGIONS,
  PHI_WIDTH,
} from "../geometry.js";
import type { GeneratorConfig } from "./config.js";
import { buildTables, type DetectorTables, SUB } from "./tables.js";

/** Generator truth for one event, written to the dataset's metadata. */
export interface Truth {
  /** Scalar sum of jet pT above 30 GeV inside |eta| < 3 (GeV). */
  htGeV: number;
  leadingJetEtGeV: number;
  /** pT of invisible particles (GeV): zero except for the monojet signal. */
  metGeV: number;
}

// Module-local copies: hot loops then read constants rather than imported bindings, which
// some loaders (tsx) turn into getter calls.
const REGIONS = N_REGIONS;
const ETAS = N_ETA;
const PHIS = N_PHI;
const MAX_COUNT = ET_MAX;
const HT_JET_MIN_GEV = 30;
const TWO_PI = 2 * Math.PI;
const COUNTS_PER_GEV = 1 / ET_LSB_GEV;

/**
 * One event's true ET per region (GeV, float) and the operations that fill it: pileup, noise,
 * jets spread over neighbours, single-region deposits; then quantisation to 10-bit counts.
 * The buffer is reused for every event.
 */
export class Detector {
  readonly energy = new Float64Array(REGIONS);
  readonly truth: Truth = { htGeV: 0, leadingJetEtGeV: 0, metGeV: 0 };
  private readonly t: DetectorTables;
  /** Random words for one event's pileup deposits or noise, grown when an event needs more. */
  private words = new Uint32Array(1024);

  constructor(
    readonly config: GeneratorConfig,
    private readonly r: Rng,
  ) {
    this.t = buildTables(config);
  }

  reset(): void {
    this.energy.fill(0);
    this.truth.htGeV = 0;
    this.truth.leadingJetEtGeV = 0;
    this.truth.metGeV = 0;
  }

  /** Pileup: nPV ~ Poisson(meanPileup) vertices, each leaving soft deposits; returns nPV. */
  addPileup(): number {
    const r = this.r;
    const nPV = r.poisson(this.config.pileup.meanPileup);
    const deposits = r.poisson(nPV * this.t.depositsPerVertex);
    const region = this.t.depositRegion;
    const row = this.t.depositEtRow;
    const et = this.t.depositEt;
    const energy = this.energy;
    if (this.words.length < deposits) this.words = new Uint32Array(deposits * 2);
    const words = this.words;
    r.fill(words, deposits);
    for (let k = 0; k < deposits; k++) {
      // One 32-bit word places the deposit (top 16 bits) and sizes it (low 10 bits).
      const u = words[k];
      const top = u >>> 16;
      energy[region[top]] += et[row[top] + (u & 1023)];
    }
    return nPV;
  }

  /** Gaussian noise in every region, four regions per random word (8 bits each). */
  addNoise(): void {
    const noise = this.t.noise;
    const energy = this.energy;
    const words = this.words;
    this.r.fill(words, REGIONS / 4);
    for (let i = 0; i < REGIONS; i += 4) {
      const u = words[i >>> 2];
      energy[i] += noise[u & 255];
      energy[i + 1] += noise[(u >>> 8) & 255];
      energy[i + 2] += noise[(u >>> 16) & 255];
      energy[i + 3] += noise[u >>> 24];
    }
  }

  /**
   * A jet of true pT at (eta, phi): measured with the configured resolution and shared with
   * the 3 x 3 neighbouring regions by the precomputed profile for its position inside its
   * region. Jets outside |eta| < 3 leave nothing (their tails are neglected).
   */
  addJet(ptGeV: number, eta: number, phi: number): void {
    const e = etaRegionOf(eta);
    if (e < 0) return;
    if (ptGeV >= HT_JET_MIN_GEV) this.truth.htGeV += ptGeV;
    if (ptGeV > this.truth.leadingJetEtGeV) this.truth.leadingJetEtGeV = ptGeV;
    const j = this.config.jets;
    const rel = Math.hypot(j.resolutionStochasticSqrtGeV / Math.sqrt(ptGeV), j.resolutionConstant);
    const measured = Math.max(0, ptGeV * (1 + rel * this.r.normal()));
    const p = phi - TWO_PI * Math.floor(phi / TWO_PI);
    const pr = Math.min(PHIS - 1, Math.floor(p / PHI_WIDTH));
    const sp = Math.min(SUB - 1, Math.floor(((p - pr * PHI_WIDTH) / PHI_WIDTH) * SUB));
    const se = Math.min(SUB - 1, Math.floor(((eta - ETA_EDGES[e]) / etaWidth(e)) * SUB));
    const k = this.t.jetKernel;
    const base = ((e * SUB + se) * SUB + sp) * 9;
    for (let a = 0; a < 3; a++) {
      const ring = e + a - 1;
      if (ring < 0 || ring >= ETAS) continue;
      for (let b = 0; b < 3; b++) {
        const ph = (pr + b - 1 + PHIS) % PHIS;
        this.energy[ph * ETAS + ring] += measured * k[base + a * 3 + b];
      }
    }
  }

  /** ET deposited entirely in the region containing (eta, phi): a single particle or a narrow shower. */
  addDeposit(etGeV: number, eta: number, phi: number): void {
    const e = etaRegionOf(eta);
    if (e < 0) return;
    const p = phi - TWO_PI * Math.floor(phi / TWO_PI);
    const pr = Math.min(PHIS - 1, Math.floor(p / PHI_WIDTH));
    this.energy[pr * ETAS + e] += etGeV;
  }

  /** Writes counts of 0.5 GeV, rounded down (as Layer-1 truncates), saturating at 1023. */
  quantize(out: Uint16Array, offset: number): void {
    const energy = this.energy;
    for (let i = 0; i < REGIONS; i++) {
      const c = Math.floor(energy[i] * COUNTS_PER_GEV);
      out[offset + i] = c <= 0 ? 0 : c >= MAX_COUNT ? MAX_COUNT : c;
    }
  }
}
