import { ETA_EDGES, ETA_MAX, etaCenter, etaWidth, N_ETA, N_PHI, N_REGIONS, PHI_WIDTH } from "../geometry.js";
import type { GeneratorConfig } from "./config.js";

/**
 * Lookup tables built once per config so that the per-event loop is table reads and adds:
 * where a pileup deposit lands, how much ET it carries, the noise of a region, and how a jet
 * at a given spot shares its ET with neighbouring regions.
 */
export interface DetectorTables {
  /** 65536 entries: the region hit by a soft deposit, for the top 16 bits of a random word. */
  readonly depositRegion: Uint8Array;
  /** 65536 entries: the row of `depositEt` (eta ring x 1024) for the same top 16 bits. */
  readonly depositEtRow: Uint16Array;
  /** 14 x 1024: a soft deposit's ET (GeV) in eta ring e, for the low 10 bits of the same word. */
  readonly depositEt: Float64Array;
  /** Expected number of soft deposits per pileup vertex over the whole grid. */
  readonly depositsPerVertex: number;
  /** 256 noise values (GeV): quantiles of N(0, sigma) at (i + 0.5) / 256. */
  readonly noise: Float64Array;
  /**
   * Jet sharing: for eta ring e and a 4 x 4 grid of positions inside a region (sub-eta,
   * sub-phi), nine fractions over the rings e-1..e+1 times phi p-1..p+1 (row-major, eta outer).
   */
  readonly jetKernel: Float64Array;
}

export const SUB = 4;

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): ample for sharing fractions. */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}
const phiCdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));

/** Standard normal quantile by bisection on the CDF (table building only). */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (phiCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function buildTables(c: GeneratorConfig): DetectorTables {
  const p = c.pileup;
  // Soft deposits per unit eta are flat at fixed |eta| (the minimum-bias plateau) and grow
  // forward; each region's share is its eta width times that density.
  const ringWeight = Array.from(
    { length: N_ETA },
    (_, e) => etaWidth(e) * (1 + p.forwardDensityGainPerUnitEta * Math.abs(etaCenter(e))),
  );
  const ringTotal = ringWeight.reduce((s, w) => s + w, 0);
  const depositRegion = new Uint8Array(65536);
  const depositEtRow = new Uint16Array(65536);
  let region = 0;
  let cumulative = ringWeight[0] / N_PHI;
  for (let j = 0; j < 65536; j++) {
    const u = ((j + 0.5) / 65536) * ringTotal;
    while (u > cumulative && region < N_REGIONS - 1) {
      region++;
      cumulative += ringWeight[region % N_ETA] / N_PHI;
    }
    depositRegion[j] = region;
    depositEtRow[j] = (region % N_ETA) * 1024;
  }
  const depositEt = new Float64Array(N_ETA * 1024);
  for (let e = 0; e < N_ETA; e++) {
    const f = Math.abs(etaCenter(e)) / ETA_MAX;
    const mean = p.depositMeanEtGeVCentral + f * (p.depositMeanEtGeVForward - p.depositMeanEtGeVCentral);
    for (let i = 0; i < 1024; i++) depositEt[e * 1024 + i] = -mean * Math.log(1 - (i + 0.5) / 1024);
  }
  const noise = new Float64Array(256);
  for (let i = 0; i < 256; i++) noise[i] = c.noise.sigmaGeV * normalQuantile((i + 0.5) / 256);
  return {
    depositRegion,
    depositEtRow,
    depositEt,
    depositsPerVertex: p.depositsPerVertexPerUnitEta * ringTotal,
    noise,
    jetKernel: jetKernel(c.jets.profileSigma),
  };
}

function jetKernel(sigma: number): Float64Array {
  const k = new Float64Array(N_ETA * SUB * SUB * 9);
  const share = (lo: number, hi: number, x: number) => phiCdf((hi - x) / sigma) - phiCdf((lo - x) / sigma);
  for (let e = 0; e < N_ETA; e++) {
    for (let se = 0; se < SUB; se++) {
      const x = ETA_EDGES[e] + ((se + 0.5) / SUB) * etaWidth(e);
      // The profile beyond the three rings but inside |eta| < 3 is folded into them; what
      // falls beyond |eta| = 3 is lost, as it is in the detector.
      const eta3 = [-1, 0, 1].map((d) =>
        e + d >= 0 && e + d < N_ETA ? share(ETA_EDGES[e + d], ETA_EDGES[e + d + 1], x) : 0,
      );
      const inside = share(-ETA_MAX, ETA_MAX, x);
      const etaScale = inside / eta3.reduce((s, v) => s + v, 0);
      for (let sp = 0; sp < SUB; sp++) {
        const y = ((sp + 0.5) / SUB) * PHI_WIDTH;
        const phi3 = [-1, 0, 1].map((d) => share(d * PHI_WIDTH, (d + 1) * PHI_WIDTH, y));
        const phiScale = 1 / phi3.reduce((s, v) => s + v, 0);
        const base = ((e * SUB + se) * SUB + sp) * 9;
        for (let a = 0; a < 3; a++) {
          for (let b = 0; b < 3; b++) k[base + a * 3 + b] = eta3[a] * etaScale * phi3[b] * phiScale;
        }
      }
    }
  }
  return k;
}
