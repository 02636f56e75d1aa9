/**
 * The calorimeter trigger's region grid as CICADA sees it: 18 regions in phi by 14 in eta,
 * each region 4 x 4 trigger towers, covering |eta| < 3 (barrel and endcaps; HF excluded).
 * Events are stored row-major (phi, eta): region index = phi * 14 + eta.
 */
export const N_PHI = 18;
export const N_ETA = 14;
export const N_REGIONS = N_PHI * N_ETA;
/** Region ET is a 10-bit count of 0.5 GeV steps; 1023 means "at least 511.5 GeV" (saturated). */
export const ET_MAX = 1023;
export const ET_LSB_GEV = 0.5;

/**
 * Eta boundaries of the 14 regions, from -3 to +3. A region spans 4 trigger towers; towers
 * 1-20 are 0.087 wide (so barrel regions are 0.348), endcap towers grow, and the last region
 * merges towers 25-28 (2.172 to 3.0).
 */
export const ETA_EDGES: readonly number[] = [
  -3.0, -2.172, -1.74, -1.392, -1.044, -0.696, -0.348, 0, 0.348, 0.696, 1.044, 1.392, 1.74, 2.172, 3.0,
];
export const ETA_MAX = 3.0;
/** Each phi region spans 20 degrees; region 0 starts at phi = 0. */
export const PHI_WIDTH = (2 * Math.PI) / N_PHI;

export const regionIndex = (phi: number, eta: number): number => phi * N_ETA + eta;
export const regionPhi = (index: number): number => Math.floor(index / N_ETA);
export const regionEta = (index: number): number => index % N_ETA;

/** Phi index wrapped onto 0..17 (phi is periodic; eta is not). */
export const wrapPhi = (phi: number): number => ((phi % N_PHI) + N_PHI) % N_PHI;

/** The eta region containing a pseudorapidity, or -1 outside |eta| < 3. */
export function etaRegionOf(eta: number): number {
  if (!(eta >= -ETA_MAX && eta < ETA_MAX)) return -1;
  let i = 0;
  while (eta >= ETA_EDGES[i + 1]) i++;
  return i;
}

/** The phi region containing an azimuth in radians (any value; wrapped). */
export function phiRegionOf(phi: number): number {
  const p = phi - 2 * Math.PI * Math.floor(phi / (2 * Math.PI));
  return Math.min(N_PHI - 1, Math.floor(p / PHI_WIDTH));
}

export const etaCenter = (eta: number): number => (ETA_EDGES[eta] + ETA_EDGES[eta + 1]) / 2;
export const etaWidth = (eta: number): number => ETA_EDGES[eta + 1] - ETA_EDGES[eta];
export const phiCenter = (phi: number): number => (phi + 0.5) * PHI_WIDTH;
